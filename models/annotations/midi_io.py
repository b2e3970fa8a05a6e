"""Notes and drum hits as Standard MIDI Files (through pretty_midi).

Files are written at 120 BPM with 1920 ticks per beat (a tick is 0.26 ms), so times survive a round
trip to well within 1 ms. Notes go on one piano track; drum hits go on channel 10 (``is_drum``) with
the key :data:`DRUM_CLASS_TO_GM_KEY` gives each class. On reading, every non-drum track is merged into
one note list, and drum keys are mapped with :data:`GM_DRUM_KEY_TO_CLASS`; keys with no class are
skipped and counted in one warning.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pretty_midi

from models.annotations.types import DRUM_CLASS_TO_GM_KEY, DRUM_CLASSES, GM_DRUM_KEY_TO_CLASS, DrumHit, Note
from models.errors import AnnotationError, AnnotationFormatError
from models.fileio import atomic_path

__all__ = ["load_drums_midi", "load_notes_midi", "read_midi", "write_drums_midi", "write_notes_midi"]

log = logging.getLogger(__name__)

_RESOLUTION = 1920
_TEMPO_BPM = 120.0
_TICK_S = 60.0 / (_TEMPO_BPM * _RESOLUTION)
#: How long a written drum note lasts (shortened when the same drum hits again sooner).
DRUM_NOTE_DURATION_S = 0.05


def read_midi(path: str | os.PathLike) -> pretty_midi.PrettyMIDI:
    """Parse a MIDI file; a missing file raises :class:`AnnotationError`, a corrupt one :class:`AnnotationFormatError`."""
    p = Path(path)
    if not p.is_file():
        what = "is a folder" if p.is_dir() else "does not exist"
        raise AnnotationError(f"MIDI file {p} {what}; check the path")
    try:
        return pretty_midi.PrettyMIDI(str(p))
    except Exception as exc:  # mido/pretty_midi raise OSError, EOFError, ValueError, KeyError, IndexError...
        raise AnnotationFormatError(
            f"{p}: not a readable Standard MIDI File ({type(exc).__name__}: {exc}); "
            "export it again as a type 0 or type 1 .mid file"
        ) from exc


def _new_midi() -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(resolution=_RESOLUTION, initial_tempo=_TEMPO_BPM)


def _save(midi: pretty_midi.PrettyMIDI, path: str | os.PathLike, overwrite: bool) -> Path:
    target = Path(path)
    with atomic_path(target, overwrite=overwrite) as tmp:
        midi.write(str(tmp))
    return target


def _clamp_velocity(velocity: int) -> int:
    return int(min(127, max(1, int(velocity))))  # velocity 0 would be a note-off


def write_notes_midi(path: str | os.PathLike, notes: Sequence[Note], *, overwrite: bool = False,
                     program: int = 0) -> Path:
    """Write ``notes`` on one track (General MIDI ``program``, default piano).

    Fractional pitches are rounded to the nearest key; a note shorter than one tick is given one tick.
    """
    midi = _new_midi()
    track = pretty_midi.Instrument(program=program, name="notes")
    for n in sorted(notes, key=lambda n: (n.onset_s, n.pitch_midi)):
        pitch = int(round(n.pitch_midi))
        if not 0 <= pitch <= 127:
            raise AnnotationError(f"cannot write {path}: pitch_midi {n.pitch_midi} at {n.onset_s} s is outside 0..127")
        end = max(n.offset_s, n.onset_s + _TICK_S)
        track.notes.append(pretty_midi.Note(_clamp_velocity(n.velocity), pitch, float(n.onset_s), float(end)))
    midi.instruments.append(track)
    return _save(midi, path, overwrite)


def load_notes_midi(path: str | os.PathLike) -> tuple[Note, ...]:
    """Every note of every non-drum track, merged and sorted by (onset, pitch)."""
    midi = read_midi(path)
    notes = [
        Note(float(n.start), float(n.end), float(n.pitch), int(n.velocity))
        for inst in midi.instruments if not inst.is_drum for n in inst.notes
    ]
    return tuple(sorted(notes, key=lambda n: (n.onset_s, n.pitch_midi, n.offset_s)))


def write_drums_midi(path: str | os.PathLike, hits: Sequence[DrumHit], *, overwrite: bool = False) -> Path:
    """Write ``hits`` on channel 10 with General MIDI keys (kick 36, snare 38, hihat 42, ...)."""
    for hit in hits:
        if hit.drum not in DRUM_CLASS_TO_GM_KEY:
            raise AnnotationError(
                f"cannot write {path}: unknown drum {hit.drum!r} at {hit.time_s} s; use one of {', '.join(DRUM_CLASSES)}"
            )
    midi = _new_midi()
    track = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    ordered = sorted(hits, key=lambda h: (h.time_s, DRUM_CLASSES.index(h.drum)))
    next_same: dict[str, float] = {}
    ends = [0.0] * len(ordered)
    for i in range(len(ordered) - 1, -1, -1):  # end each note before the same drum strikes again
        hit = ordered[i]
        limit = next_same.get(hit.drum, float("inf")) - hit.time_s
        ends[i] = hit.time_s + max(_TICK_S, min(DRUM_NOTE_DURATION_S, limit - _TICK_S))
        next_same[hit.drum] = hit.time_s
    for hit, end in zip(ordered, ends):
        track.notes.append(pretty_midi.Note(_clamp_velocity(hit.velocity), DRUM_CLASS_TO_GM_KEY[hit.drum],
                                            float(hit.time_s), float(end)))
    midi.instruments.append(track)
    return _save(midi, path, overwrite)


def load_drums_midi(path: str | os.PathLike) -> tuple[DrumHit, ...]:
    """Drum hits from every drum track (channel 10); keys outside the GM drum map are skipped and counted."""
    midi = read_midi(path)
    hits = []
    skipped: Counter[int] = Counter()
    for inst in midi.instruments:
        if not inst.is_drum:
            continue
        for n in inst.notes:
            drum = GM_DRUM_KEY_TO_CLASS.get(int(n.pitch))
            if drum is None:
                skipped[int(n.pitch)] += 1
                continue
            hits.append(DrumHit(float(n.start), drum, int(n.velocity)))
    if skipped:
        detail = ", ".join(f"key {k} x{c}" for k, c in sorted(skipped.items()))
        log.warning("%s: skipped %d drum note(s) whose key has no drum class (%s)", path, sum(skipped.values()), detail)
    return tuple(sorted(hits, key=lambda h: (h.time_s, DRUM_CLASSES.index(h.drum))))
