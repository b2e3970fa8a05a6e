"""Chord ``.lab`` files: ``start_s end_s label`` per line, labels in Harte syntax (``C:maj``, ``A:min7``, ``N``).

Written tab separated; read with any whitespace between the three fields, skipping blank lines and
``#`` comments. Labels are checked with :mod:`mir_eval.chord`, so whatever mir_eval can score loads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import mir_eval.chord

from models.annotations.csv_io import format_number, read_text_lines
from models.annotations.types import ChordSegment
from models.errors import AnnotationError, AnnotationFormatError
from models.fileio import atomic_write_text

__all__ = ["chord_label_problem", "load_lab", "write_lab"]


def chord_label_problem(label: str) -> str | None:
    """``None`` if ``label`` is valid Harte syntax for mir_eval, else mir_eval's complaint."""
    if not label or any(ch.isspace() for ch in label):
        return "a chord label must be one word without spaces"
    try:
        mir_eval.chord.split(label)
    except (mir_eval.chord.InvalidChordException, ValueError, IndexError, KeyError) as exc:
        return str(exc) or "not Harte syntax"
    return None


def load_lab(path: str | os.PathLike) -> tuple[ChordSegment, ...]:
    """Read a chord ``.lab`` file; raises :class:`AnnotationFormatError` as ``file:line: problem``."""
    p = Path(path)
    segments = []
    for line, text in read_text_lines(p):
        fields = text.split()
        if len(fields) != 3:
            raise AnnotationFormatError(
                f"{p}:{line}: expected 3 fields 'start_s end_s label', got {len(fields)} in {text!r}"
            )
        times = []
        for name, cell in zip(("start", "end"), fields[:2]):
            try:
                value = float(cell)
            except ValueError:
                raise AnnotationFormatError(
                    f"{p}:{line}: {name} time must be a number of seconds, got {cell!r}"
                ) from None
            if not value >= 0 or value == float("inf"):
                raise AnnotationFormatError(f"{p}:{line}: {name} time {cell!r} must be a finite number >= 0")
            times.append(value)
        start, end = times
        if end < start:
            raise AnnotationFormatError(
                f"{p}:{line}: end {fields[1]} s is before start {fields[0]} s; fix the times"
            )
        label = fields[2]
        problem = chord_label_problem(label)
        if problem is not None:
            raise AnnotationFormatError(
                f"{p}:{line}: chord label {label!r} is not valid Harte syntax ({problem}); "
                "write labels like C:maj, A:min7, F#:hdim7, Bb:sus4/5 or N"
            )
        segments.append(ChordSegment(start, end, label))
    return tuple(segments)


def write_lab(path: str | os.PathLike, chords: Sequence[ChordSegment], *, overwrite: bool = False) -> Path:
    """Write ``start_s<TAB>end_s<TAB>label`` per segment, in the given order; labels are validated first."""
    lines = []
    for seg in chords:
        problem = chord_label_problem(seg.label)
        if problem is not None:
            raise AnnotationError(
                f"cannot write {path}: chord label {seg.label!r} at {seg.start_s} s is not Harte syntax ({problem})"
            )
        if seg.end_s < seg.start_s:
            raise AnnotationError(
                f"cannot write {path}: segment {seg.label!r} ends ({seg.end_s} s) before it starts ({seg.start_s} s)"
            )
        lines.append(f"{format_number(seg.start_s)}\t{format_number(seg.end_s)}\t{seg.label}\n")
    return atomic_write_text(path, "".join(lines), overwrite=overwrite)
