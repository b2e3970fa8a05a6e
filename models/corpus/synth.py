"""Rendering stems with the fluidsynth program, many per call.

Stems are laid one after another in one MIDI file (each on a fresh set of channels, reset before it
and silenced after it), rendered once, and cut apart at known sample offsets: a soundfont is loaded
once per batch instead of once per excerpt (an .sf3 font takes seconds to load).
"""

from __future__ import annotations

import logging
import math
import shutil
import subprocess
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

from models.corpus.config import SYNTH_BLOCK_SAMPLES
from models.corpus.score import Stem
from models.errors import CorpusError, MissingDependencyError

log = logging.getLogger(__name__)

_TICKS_PER_S = 1000  # one tick per millisecond (tempo 1 s per beat, 1000 ticks per beat)
_GAP_S = 1.0  # silence between stems in a batch
_DRUM_CHANNEL = 9


def fluidsynth_program() -> str:
    path = shutil.which("fluidsynth")
    if path is None:
        raise MissingDependencyError(
            "the fluidsynth program is not installed; install it (Debian/Ubuntu: apt install fluidsynth)"
        )
    return path


def _tick(time_s: float) -> int:
    # Whole milliseconds, rounded down: fluidsynth's player clock is in whole ms per block, so an
    # event on a block-grid time is dispatched in that block.
    return int(math.floor(round(time_s * 1000.0, 6)))


def _stem_events(stem: Stem, offset_s: float, duration_s: float) -> list[tuple[int, int, mido.Message]]:
    """(tick, order, message) for one stem starting at ``offset_s``; order puts set-up before notes."""
    events: list[tuple[int, int, mido.Message]] = []
    start = _tick(offset_s)
    melodic_channels = [c for c in range(16) if c != _DRUM_CHANNEL]
    next_melodic = 0
    used: list[int] = []
    for part in stem.parts:
        program = int(part.program)
        if part.is_drum and stem.kit_font is None:
            ch = _DRUM_CHANNEL
        else:
            if part.is_drum:  # a one-kit font: the kit is preset 0 of bank 0
                program = 0
            if next_melodic >= len(melodic_channels):
                raise CorpusError(f"stem {stem.name} has more than 15 melodic parts; split it")
            ch = melodic_channels[next_melodic]
            next_melodic += 1
        used.append(ch)
        setup = [
            mido.Message("control_change", channel=ch, control=121, value=0),  # reset controllers
            mido.Message("control_change", channel=ch, control=0, value=0),  # bank 0 (kits: channel 10)
            mido.Message("program_change", channel=ch, program=program),
            mido.Message("control_change", channel=ch, control=7, value=100),
            mido.Message("control_change", channel=ch, control=10, value=64),
            mido.Message("control_change", channel=ch, control=11, value=127),
            mido.Message("pitchwheel", channel=ch, pitch=0),
        ]
        if part.bends:  # RPN 0: pitch-bend sensitivity, then close the RPN
            setup += [
                mido.Message("control_change", channel=ch, control=101, value=0),
                mido.Message("control_change", channel=ch, control=100, value=0),
                mido.Message("control_change", channel=ch, control=6, value=int(part.bend_range_semitones)),
                mido.Message("control_change", channel=ch, control=38, value=0),
                mido.Message("control_change", channel=ch, control=101, value=127),
                mido.Message("control_change", channel=ch, control=100, value=127),
            ]
        # set-up sits half a second before the stem so program changes settle
        setup_tick = max(0, start - 500)
        for i, msg in enumerate(setup):
            events.append((setup_tick, i, msg))
        for t, cc, val in part.controls:
            events.append((start + _tick(t), 20, mido.Message("control_change", channel=ch, control=cc, value=val)))
        for t, val in part.bends:
            events.append((start + _tick(t), 21, mido.Message("pitchwheel", channel=ch, pitch=int(val))))
        for n in part.notes:
            events.append((start + _tick(n.offset_s), 10, mido.Message("note_off", channel=ch, note=n.pitch, velocity=0)))
            events.append((start + _tick(n.onset_s), 30, mido.Message("note_on", channel=ch, note=n.pitch, velocity=n.velocity)))
    end = start + _tick(duration_s) + 50
    for ch in sorted(set(used)):
        events.append((end, 40, mido.Message("control_change", channel=ch, control=64, value=0)))
        events.append((end, 41, mido.Message("control_change", channel=ch, control=120, value=0)))  # all sound off
        events.append((end, 42, mido.Message("control_change", channel=ch, control=123, value=0)))
    return events


def layout(durations_s: list[float], sample_rate_hz: int) -> list[int]:
    """Start sample of each stem in the batch: on the synth grid and on whole milliseconds."""
    # a multiple of both 64 samples and 1 ms: lcm-friendly step of (64 * sr / gcd(64*1000, sr)) samples
    step = SYNTH_BLOCK_SAMPLES * sample_rate_hz // math.gcd(SYNTH_BLOCK_SAMPLES * 1000, sample_rate_hz)
    starts: list[int] = []
    pos = step * math.ceil(1.0 * sample_rate_hz / step)  # first stem after 1 s of set-up
    for d in durations_s:
        starts.append(pos)
        nxt = pos + int(math.ceil((d + _GAP_S) * sample_rate_hz))
        pos = step * math.ceil(nxt / step)
    return starts


def write_batch_midi(path: Path, stems: list[tuple[Stem, float]], starts_samples: list[int],
                     sample_rate_hz: int) -> float:
    """Write the batch MIDI file; returns its end time in seconds."""
    events: list[tuple[int, int, mido.Message]] = []
    end_s = 0.0
    for (stem, duration_s), start in zip(stems, starts_samples):
        offset_s = start / sample_rate_hz
        events += _stem_events(stem, offset_s, duration_s)
        end_s = max(end_s, offset_s + duration_s)
    events.sort(key=lambda e: (e[0], e[1]))
    mid = mido.MidiFile(ticks_per_beat=_TICKS_PER_S)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=1_000_000, time=0))
    last = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - last))
        last = tick
    final = _tick(end_s + 0.5)
    track.append(mido.MetaMessage("end_of_track", time=max(0, final - last)))
    mid.save(str(path))
    return end_s


def render_batch(stems: list[tuple[Stem, float]], font: Path, sample_rate_hz: int, work_dir: Path,
                 gain: float = 0.6) -> list[np.ndarray]:
    """Render ``(stem, duration_s)`` pairs with one fluidsynth call; returns one mono float32 array each."""
    exe = fluidsynth_program()
    if not font.is_file():
        raise CorpusError(f"soundfont not found: {font}; pass an existing .sf2/.sf3 file with --soundfonts")
    work_dir.mkdir(parents=True, exist_ok=True)
    starts = layout([d for _, d in stems], sample_rate_hz)
    midi_path = work_dir / "batch.mid"
    wav_path = work_dir / "batch.wav"
    write_batch_midi(midi_path, stems, starts, sample_rate_hz)
    cmd = [exe, "-ni", "-q", "-g", f"{gain}", "-r", str(sample_rate_hz), "-R", "0", "-C", "0",
           "-o", "synth.polyphony=1024", "-o", "audio.file.format=float", "-o", "synth.cpu-cores=1",
           "-F", str(wav_path), str(font), str(midi_path)]
    log.debug("running %s", " ".join(cmd))
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode != 0 or not wav_path.is_file():
        raise CorpusError(
            f"fluidsynth failed on {font} (exit {proc.returncode}): {proc.stderr.strip()[-300:]}; "
            "check that the soundfont loads with 'fluidsynth -ni FONT'"
        )
    audio, sr = sf.read(str(wav_path), dtype="float32", always_2d=True)
    if sr != sample_rate_hz:
        raise CorpusError(f"fluidsynth wrote {sr} Hz instead of {sample_rate_hz} Hz for {font}")
    mono = audio.mean(axis=1)
    out = []
    for (_, duration_s), start in zip(stems, starts):
        n = int(round(duration_s * sample_rate_hz))
        seg = np.zeros(n, dtype=np.float32)
        avail = mono[start:start + n]
        seg[: avail.size] = avail
        out.append(seg)
    midi_path.unlink(missing_ok=True)
    wav_path.unlink(missing_ok=True)
    return out
