"""Turn a frame-wise f0 track into note events: runs of voiced frames at a stable pitch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.annotations.types import F0Track, Note


@dataclass(frozen=True)
class NoteSegmentationConfig:
    min_duration_s: float = 0.06  # shorter runs (glides, blips) are dropped
    max_jump_midi: float = 0.75  # a frame further than this from the note's median pitch starts a new note


def hz_to_midi(f0_hz: np.ndarray) -> np.ndarray:
    f = np.asarray(f0_hz, dtype=np.float64)
    out = np.full(f.shape, np.nan)
    pos = f > 0
    out[pos] = 69.0 + 12.0 * np.log2(f[pos] / 440.0)
    return out


def segment_notes(f0: F0Track, config: NoteSegmentationConfig = NoteSegmentationConfig()) -> tuple[Note, ...]:
    """Notes from the voiced frames of ``f0``; each note's pitch is the rounded median MIDI of its frames."""
    if len(f0) == 0:
        return ()
    hop_s = float(np.median(np.diff(f0.times_s))) if len(f0) > 1 else 0.01
    midi = hz_to_midi(f0.f0_hz)
    runs: list[tuple[int, int]] = []  # [start, end) frame indices
    start = None
    values: list[float] = []
    for i, m in enumerate(midi):
        if np.isnan(m):
            if start is not None:
                runs.append((start, i))
                start, values = None, []
            continue
        if start is not None and abs(m - float(np.median(values))) > config.max_jump_midi:
            runs.append((start, i))
            start, values = None, []
        if start is None:
            start = i
        values.append(float(m))
    if start is not None:
        runs.append((start, len(midi)))
    notes = []
    for a, b in runs:
        onset_s = float(f0.times_s[a])
        offset_s = float(f0.times_s[b - 1]) + hop_s
        if offset_s - onset_s + 1e-9 < config.min_duration_s:
            continue
        notes.append(Note(onset_s=onset_s, offset_s=offset_s, pitch_midi=float(np.round(np.median(midi[a:b])))))
    return tuple(notes)
