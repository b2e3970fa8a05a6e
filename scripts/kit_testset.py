"""Re-render a drums dataset folder with other drum kits: a held-out test of the drum model.

    .venv/bin/python scripts/kit_testset.py --data /work/corpus/drums/test --out /tmp/kits-test \
        --kits /usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2 /usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2

For every ``<stem>.drums.csv`` in --data, the labelled hits are played again (the velocities and keys of
``<stem>.drums.mid`` when it is there, else velocity 100 and the class's key) on one of the --kits, in turn, and written to --out as
``<stem>.flac`` with the same ``<stem>.drums.csv``: the same performances on kits the models never heard.
The default kits are the two acoustic kits of the Debian package ``avldrums.lv2-soundfont`` (multi-sampled
recordings of real drums, CC BY-SA). Those fonts hold one kit as preset 0 of bank 0, so the hits are sent on
a melodic channel (bank 0, program 0) instead of the General MIDI drum channel. Each hit plays its General MIDI
key where such kits share the GM map (36-47), else its class's key (crash 49, ride 51): the rule of
``corpus render --kit-fonts``. The audio is normalised to
the loudness range of the rendered corpus (-30..-16 dB RMS, drawn per file with --seed).

Score a model on the result with `featherlight analyze` + `featherlight eval --task drums`, or give the folder
to scripts/models_report.py as ``--extra drums=DIR``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

DEFAULT_KITS = ("/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2", "/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2")
SAMPLE_RATE_HZ = 16000
HIT_S = 0.3  # note length: one-shot drum samples ring on regardless


def hit_notes(midi_path: Path) -> dict[tuple[int, str], tuple[int, int]]:
    """(onset in ms, class) -> (velocity, GM key), from a labelled drums MIDI file (empty when unreadable)."""
    import pretty_midi

    from models.annotations.types import GM_DRUM_KEY_TO_CLASS

    try:
        pm = pretty_midi.PrettyMIDI(str(midi_path))
    except Exception:  # noqa: BLE001 - a missing/odd MIDI file only loses the velocities and articulations
        return {}
    out = {}
    for inst in pm.instruments:
        for note in inst.notes:
            drum = GM_DRUM_KEY_TO_CLASS.get(note.pitch)
            if drum:
                out[(int(round(note.start * 1000)), drum)] = (int(note.velocity), int(note.pitch))
    return out


def kit_stem(hits, played: dict[tuple[int, str], tuple[int, int]]):
    """A melodic-channel part (bank 0, program 0) that plays ``hits`` on a one-kit soundfont.

    Each hit keeps the velocity and, where the kit has it, the GM key (open/pedal hi-hat, side stick...) of
    its note in ``played`` (see :func:`models.corpus.soundfonts.kit_font_key`); else velocity 100 and the
    class's key."""
    from models.annotations.types import DRUM_CLASS_TO_GM_KEY
    from models.corpus.score import Part, PartNote, Stem
    from models.corpus.soundfonts import kit_font_key

    notes = []
    for hit in hits:
        ms = int(round(hit.time_s * 1000))
        vel, key = next((played[(m, hit.drum)] for m in (ms, ms - 1, ms + 1) if (m, hit.drum) in played),
                        (100, DRUM_CLASS_TO_GM_KEY[hit.drum]))
        notes.append(PartNote(float(hit.time_s), float(hit.time_s) + HIT_S, kit_font_key(key), vel))
    notes.sort(key=lambda n: (n.onset_s, n.pitch))
    return Stem("drums", [Part(program=0, notes=notes, is_drum=False)])


def build(data: Path, out: Path, kits: list[Path], seed: int = 0, overwrite: bool = False, log=print) -> int:
    """Write the re-rendered folder; returns the number of files written."""
    from models.annotations.csv_io import load_drums_csv
    import soundfile as sf

    from models.audio import write_audio
    from models.corpus.synth import render_batch
    from models.errors import ConfigError, OverwriteError
    from models.fileio import atomic_write_text

    labels = sorted(data.glob("*.drums.csv"))
    if not labels:
        raise ConfigError(f"{data} holds no <stem>.drums.csv labels; give a drums dataset folder "
                          "(e.g. the test split of a rendered drums corpus)")
    for kit in kits:
        if not kit.is_file():
            raise ConfigError(f"drum kit soundfont {kit} not found; install avldrums.lv2-soundfont "
                              "(apt install avldrums.lv2-soundfont) or pass other .sf2 files to --kits")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = 0
    with tempfile.TemporaryDirectory(prefix="featherlight-kits-") as tmp:
        for i, label_path in enumerate(labels):
            stem_name = label_path.name[: -len(".drums.csv")]
            target = out / f"{stem_name}.flac"
            if target.exists() and not overwrite:
                raise OverwriteError(f"{target} exists; pass --overwrite or choose another --out")
            hits = load_drums_csv(label_path)
            audio_files = [p for p in data.glob(f"{stem_name}.*") if p.suffix.lower() in (".flac", ".wav", ".ogg")]
            duration_s = (sf.info(str(audio_files[0])).duration if audio_files
                          else max((h.time_s for h in hits), default=0.0) + 2.0)
            kit = kits[i % len(kits)]
            stem = kit_stem(hits, hit_notes(data / f"{stem_name}.drums.mid"))
            (audio,) = render_batch([(stem, duration_s)], kit, SAMPLE_RATE_HZ, Path(tmp))
            rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) or 1.0
            audio = audio * (10 ** (float(rng.uniform(-30, -16)) / 20) / rms)
            peak = float(np.max(np.abs(audio))) or 1.0
            if peak > 0.99:
                audio = audio * (0.99 / peak)
            write_audio(target, audio.astype(np.float32), SAMPLE_RATE_HZ, overwrite=overwrite)
            atomic_write_text(out / label_path.name, label_path.read_text(encoding="utf-8"), overwrite=overwrite)
            written += 1
            log(f"{stem_name}: {len(hits)} hits on {kit.stem}")
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     epilog=__doc__.split("\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="drums dataset folder (<stem>.drums.csv + audio)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the re-rendered files to")
    parser.add_argument("--kits", nargs="+", default=list(DEFAULT_KITS), metavar="SF2",
                        help="one-kit soundfonts, used in turn (default: the two avldrums kits)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the loudness draw (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace files already in --out")
    args = parser.parse_args(argv)
    from models.errors import FeatherlightError

    try:
        n = build(args.data, args.out, [Path(k) for k in args.kits], seed=args.seed, overwrite=args.overwrite,
                  log=lambda line: print(line, file=sys.stderr))
    except FeatherlightError as exc:
        print(f"kit_testset: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {n} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
