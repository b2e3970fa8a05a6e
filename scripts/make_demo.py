"""Render the bundled demo file and its reference labels into resources/demo/.

    .venv/bin/python scripts/make_demo.py --overwrite          # regenerates resources/demo/
    .venv/bin/python scripts/make_demo.py --out /tmp/demo --soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2

The demo is 20 s at 120 BPM in C major: a flute melody (clear single pitches), a piano playing the chord
progression C - Am - F - G twice and a final C, a bass line on the roots, and a rock groove (kick, snare,
eighth-note hi-hat, a crash at the end). Every layer of the window has something to show.

The score is written out note by note below; the only randomness is a small velocity humanisation
drawn from ``SEED``. It is rendered with fluidsynth through the corpus helpers
(``models.corpus.synth.render_batch``: one call, stems cut apart at known offsets, event times snapped
to fluidsynth's 64-sample block grid so labels match the audio), mixed, and encoded as mono OGG Vorbis
at 22.05 kHz. The labels (``demo.jams``, ``demo.f0.csv``, ``demo.notes.csv``/``.mid``,
``demo.chords.lab``, ``demo.drums.csv``/``.mid``, ``demo.onsets.csv``: the output contract) come from
the exact MIDI that was rendered (``models.corpus.labels``). ``demo.json`` records how it was made.

The labels are deterministic (same score, same grid); the audio is deterministic for a given
fluidsynth version, soundfont and libvorbis
(its decoded samples are: the Ogg container's stream serial number is random, so the file bytes differ).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from models.annotations.contract import OUTPUT_SUFFIXES, write_analysis  # noqa: E402
from models.annotations.types import GM_DRUM_KEY_TO_CLASS, Annotation, ChordSegment, DrumHit  # noqa: E402
from models.audio import write_audio  # noqa: E402
from models.corpus import labels as lab  # noqa: E402
from models.corpus.augment import active_rms  # noqa: E402
from models.corpus.score import Part, PartNote, Stem, snap_s, snap_stem  # noqa: E402
from models.corpus.soundfonts import resolve_soundfonts  # noqa: E402
from models.corpus.synth import fluidsynth_program, render_batch  # noqa: E402
from models.fileio import atomic_write_text, check_writable  # noqa: E402

log = logging.getLogger("make_demo")

SEED = 2024
SAMPLE_RATE_HZ = 22050
DURATION_S = 20.0
BPM = 120.0
BEAT_S = 60.0 / BPM
START_S = 0.5  # the music starts after half a second of silence
STEM = "demo"
AUDIO_NAME = f"{STEM}.ogg"
DEFAULT_OUT = REPO_ROOT / "resources" / "demo"

# GM programs
FLUTE, PIANO, FINGERED_BASS, STANDARD_KIT = 73, 0, 33, 0
KICK, SNARE, CLOSED_HAT, CRASH = 36, 38, 42, 49

#: (bar chord label, piano voicing, bass root) per bar; 9 bars of 4 beats
BARS: tuple[tuple[str, tuple[int, ...], int], ...] = (
    ("C:maj", (60, 64, 67), 36), ("A:min", (57, 60, 64), 45), ("F:maj", (57, 60, 65), 41),
    ("G:maj", (55, 59, 62), 43), ("C:maj", (60, 64, 67), 36), ("A:min", (57, 60, 64), 45),
    ("F:maj", (57, 60, 65), 41), ("G:maj", (55, 59, 62), 43), ("C:maj", (60, 64, 67), 36),
)
#: melody as (start beat, length in beats, MIDI pitch), sounding 90 % of its length
MELODY: tuple[tuple[float, float, int], ...] = (
    (0, 1, 72), (1, 1, 76), (2, 2, 79),
    (4, 1, 81), (5, 1, 79), (6, 2, 76),
    (8, 1, 77), (9, 1, 81), (10, 2, 84),
    (12, 1, 83), (13, 1, 79), (14, 2, 74),
    (16, 0.5, 76), (16.5, 0.5, 77), (17, 1, 79), (18, 2, 84),
    (20, 2, 81), (22, 2, 76),
    (24, 1, 77), (25, 1, 76), (26, 1, 74), (27, 1, 72),
    (28, 2, 71), (30, 1, 74), (31, 1, 79),
    (32, 3.5, 72),
)
#: mix levels relative to the melody (dB)
LEVELS_DB = {"melody": 0.0, "band": -3.0, "drums": -4.0}


def beat_s(beat: float) -> float:
    return START_S + beat * BEAT_S


def compose(seed: int = SEED) -> tuple[Stem, Stem, Stem, list[ChordSegment]]:
    """The three stems (melody, band, drums) and the chord segments, before snapping."""
    rng = np.random.default_rng(seed)

    def vel(centre: float, spread: float = 5.0) -> int:
        return int(np.clip(round(centre + rng.normal(0.0, spread)), 20, 127))

    melody = Part(program=FLUTE)
    for start, beats, pitch in MELODY:
        melody.notes.append(PartNote(beat_s(start), beat_s(start + 0.9 * beats), pitch, vel(96)))

    piano = Part(program=PIANO)
    bass = Part(program=FINGERED_BASS)
    segments: list[ChordSegment] = []
    for bar, (label, voicing, root) in enumerate(BARS):
        first = 4 * bar
        last_bar = bar == len(BARS) - 1
        hits = (first,) if last_bar else (first, first + 2)
        length = 3.5 if last_bar else 1.9
        for beat in hits:
            v = vel(78)
            for pitch in voicing:
                piano.notes.append(PartNote(beat_s(beat), beat_s(beat + length), pitch, v))
            bass.notes.append(PartNote(beat_s(beat), beat_s(beat + length - 0.1), root, vel(92)))
        segments.append(ChordSegment(beat_s(first), beat_s(first + 4), label))

    drums = Part(program=STANDARD_KIT, is_drum=True)

    def hit(beat: float, key: int, centre: float) -> None:
        drums.notes.append(PartNote(beat_s(beat), beat_s(beat) + 0.1, key, vel(centre, 4.0)))

    for bar in range(len(BARS) - 1):
        first = 4 * bar
        for k in range(8):  # eighth-note hi-hat, accented on the beat
            hit(first + 0.5 * k, CLOSED_HAT, 84 if k % 2 == 0 else 64)
        hit(first, KICK, 112)
        hit(first + 2, KICK, 108)
        if bar % 2 == 1:
            hit(first + 2.5, KICK, 96)
        hit(first + 1, SNARE, 108)
        hit(first + 3, SNARE, 110)
    end = 4 * (len(BARS) - 1)
    hit(end, KICK, 115)
    hit(end, CRASH, 112)
    drums.notes.sort(key=lambda n: (n.onset_s, n.pitch))

    return (Stem("melody", [melody], LEVELS_DB["melody"]), Stem("band", [piano, bass], LEVELS_DB["band"]),
            Stem("drums", [drums], LEVELS_DB["drums"]), segments)


def labels(melody: Stem, band: Stem, drums: Stem, segments: list[ChordSegment],
           melody_audio: np.ndarray | None, sample_rate_hz: int) -> Annotation:
    """The reference labels of the (snapped) stems: f0 and notes of the melody, chords, drums, onsets."""
    line = melody.parts[0]
    f0 = lab.line_f0(line, DURATION_S, melody_audio, sample_rate_hz)
    notes = tuple(lab.line_notes(line))
    chord_times = [round(snap_s(c.start_s, sample_rate_hz), 6) for c in segments]
    chords = [ChordSegment(0.0, chord_times[0], "N")]
    for i, c in enumerate(segments):
        end = chord_times[i + 1] if i + 1 < len(segments) else round(snap_s(c.end_s, sample_rate_hz), 6)
        chords.append(ChordSegment(chord_times[i], end, c.label))
    chords.append(ChordSegment(chords[-1].end_s, DURATION_S, "N"))
    hits = sorted((DrumHit(round(n.onset_s, 6), GM_DRUM_KEY_TO_CLASS[n.pitch], int(n.velocity))
                   for n in drums.parts[0].notes), key=lambda h: (h.time_s, h.drum))
    onsets = lab.merge_onsets([n.onset_s for stem in (melody, band, drums) for p in stem.parts for n in p.notes])
    return Annotation(duration_s=DURATION_S, f0=f0, notes=notes, chords=tuple(chords), drums=tuple(hits),
                      onsets=onsets, metadata={"title": "Featherlight demo", "bpm": BPM, "seed": SEED})


def mix(stems: list[Stem], rendered: list[np.ndarray], sample_rate_hz: int) -> np.ndarray:
    out = np.zeros_like(rendered[0], dtype=np.float64)
    for stem, audio in zip(stems, rendered):
        rms = active_rms(audio, sample_rate_hz)
        if rms > 0:
            out += audio.astype(np.float64) / rms * 10 ** (stem.level_db / 20)
    peak = float(np.max(np.abs(out)))
    return (out / peak * 10 ** (-1.0 / 20)).astype(np.float32)  # peak at -1 dBFS


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def samples_sha256(path: Path) -> str:
    """SHA-256 of the decoded samples (float32, as libsndfile decodes them)."""
    samples, _ = sf.read(str(path), dtype="float32", always_2d=False)
    return hashlib.sha256(np.ascontiguousarray(samples).tobytes()).hexdigest()


def _fluidsynth_version() -> str:
    proc = subprocess.run([fluidsynth_program(), "--version"], capture_output=True, text=True)
    first = (proc.stdout or proc.stderr).strip().splitlines()
    return first[0] if first else "unknown"


def build(out_dir: Path, soundfont: str | None = None, *, overwrite: bool = False) -> dict:
    """Render the demo into ``out_dir``; returns the provenance written to ``demo.json``."""
    font = Path(resolve_soundfonts([soundfont] if soundfont else None)[0])
    targets = [out_dir / AUDIO_NAME, out_dir / f"{STEM}.json"] + [out_dir / f"{STEM}{s}" for s in
                                                                  OUTPUT_SUFFIXES.values()]
    check_writable(targets, overwrite)
    melody, band, drums, segments = compose(SEED)
    for stem in (melody, band, drums):
        snap_stem(stem, SAMPLE_RATE_HZ)
    with tempfile.TemporaryDirectory(prefix="featherlight-demo-") as work:
        rendered = render_batch([(melody, DURATION_S), (band, DURATION_S), (drums, DURATION_S)], font,
                                SAMPLE_RATE_HZ, Path(work))
    audio = mix([melody, band, drums], rendered, SAMPLE_RATE_HZ)
    annotation = labels(melody, band, drums, segments, rendered[0], SAMPLE_RATE_HZ)
    out_dir.mkdir(parents=True, exist_ok=True)
    audio_path = write_audio(out_dir / AUDIO_NAME, audio, SAMPLE_RATE_HZ, overwrite=overwrite)
    written = write_analysis(annotation, out_dir, STEM, overwrite=overwrite)
    info = {
        "audio": AUDIO_NAME,
        "audio_sha256": _sha256(audio_path),
        "audio_bytes": audio_path.stat().st_size,
        # the Ogg stream serial number is random, so the file's bytes differ between renders; the
        # decoded samples do not
        "samples_sha256": samples_sha256(audio_path),
        "duration_s": DURATION_S,
        "sample_rate_hz": SAMPLE_RATE_HZ,
        "channels": 1,
        "encoding": "OGG Vorbis (libsndfile default quality)",
        "command": f"python scripts/make_demo.py --overwrite --soundfont {font}",
        "soundfont": font.name,
        "soundfont_bytes": font.stat().st_size,
        "synthesiser": _fluidsynth_version(),
        "seed": SEED,
        "bpm": BPM,
        "content": {
            "melody": "flute (GM 73), MIDI 71-84",
            "chords": [c.label for c in annotation.chords],
            "band": "piano (GM 0) block chords on beats 1 and 3, fingered bass (GM 33) on the roots",
            "drums": "standard kit: kick, snare, eighth-note closed hi-hat, a crash on the last bar",
        },
        "counts": {"notes": len(annotation.notes), "chords": len(annotation.chords),
                   "drums": len(annotation.drums), "onsets": int(annotation.onsets.size),
                   "f0_frames": len(annotation.f0), "voiced_frames": int(annotation.f0.voiced.sum())},
        "labels": [p.name for p in written],
    }
    atomic_write_text(out_dir / f"{STEM}.json", json.dumps(info, indent=2) + "\n", overwrite=overwrite)
    log.info("wrote %s (%d bytes) and %d label files into %s", audio_path.name, info["audio_bytes"],
             len(written), out_dir)
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default resources/demo)")
    parser.add_argument("--soundfont", default=None, help="GM soundfont (default: the first installed of "
                                                          "FluidR3_GM, TimGM6mb, ...)")
    parser.add_argument("--overwrite", action="store_true", help="replace the files of an earlier render")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from models.errors import FeatherlightError
    try:
        info = build(args.out, args.soundfont, overwrite=args.overwrite)
    except FeatherlightError as exc:
        print(f"make_demo: {exc}", file=sys.stderr)
        return 1
    log.info("%s", json.dumps(info["counts"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
