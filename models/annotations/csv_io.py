"""CSV annotations with units in the column names, readable by Sonic Visualiser and spreadsheets.

============  =====================================  =====================================
kind          header written                         also read
============  =====================================  =====================================
f0            ``time_s,f0_hz,confidence``            2 columns (time, f0); confidence = 1
notes         ``onset_s,offset_s,pitch_midi,velocity``  3 columns (no velocity); velocity = 100
drums         ``time_s,drum`` (+ ``velocity``)       an optional velocity column
onsets        ``time_s``                             a second column (a Sonic Visualiser label), ignored
============  =====================================  =====================================

Readers accept files without a header when the column count matches the order above, columns in any
order when a header is present, ``#`` comment lines, blank lines, and tab or space separated values.
Every problem raises :class:`~models.errors.AnnotationFormatError` as ``file:line: problem; fix``.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.annotations.types import DRUM_CLASSES, DrumHit, F0Track, Note
from models.errors import AnnotationError, AnnotationFormatError
from models.fileio import atomic_write_text

__all__ = [
    "DRUMS_HEADER",
    "F0_HEADER",
    "NOTES_HEADER",
    "ONSETS_HEADER",
    "format_number",
    "load_drums_csv",
    "load_f0_csv",
    "load_notes_csv",
    "load_onsets_csv",
    "read_text_lines",
    "write_drums_csv",
    "write_f0_csv",
    "write_notes_csv",
    "write_onsets_csv",
]

log = logging.getLogger(__name__)

F0_HEADER: tuple[str, ...] = ("time_s", "f0_hz", "confidence")
NOTES_HEADER: tuple[str, ...] = ("onset_s", "offset_s", "pitch_midi", "velocity")
DRUMS_HEADER: tuple[str, ...] = ("time_s", "drum")
ONSETS_HEADER: tuple[str, ...] = ("time_s",)

# Header names other tools write, mapped to ours (compared lower-case, spaces stripped).
_ALIASES: dict[str, str] = {
    "time": "time_s", "t": "time_s", "seconds": "time_s", "time_sec": "time_s",
    "f0": "f0_hz", "frequency": "f0_hz", "frequency_hz": "f0_hz", "freq_hz": "f0_hz", "value": "f0_hz",
    "onset": "onset_s", "offset": "offset_s", "onset_time": "onset_s", "offset_time": "offset_s",
    "pitch": "pitch_midi", "midi": "pitch_midi", "midi_pitch": "pitch_midi", "note": "pitch_midi",
    "instrument": "drum", "class": "drum", "label": "label",
}


# --- shared text helpers (also used by lab.py) -----------------------------------------------------
def format_number(x: float) -> str:
    """Shortest decimal text that keeps 10 significant digits (1e-9 relative): ``0.01``, ``440``, ``-97.5``."""
    value = float(x)
    if value == 0.0:
        return "0"
    return f"{value:.10g}"


def read_text_lines(path: str | os.PathLike) -> list[tuple[int, str]]:
    """(line number, stripped text) for every non-blank, non-comment line of a UTF-8 text file."""
    p = Path(path)
    if not p.is_file():
        what = "is a folder" if p.is_dir() else "does not exist"
        raise AnnotationError(f"annotation file {p} {what}; check the path")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnnotationFormatError(
            f"{p}: not a UTF-8 text file ({exc.reason} at byte {exc.start}); save it as UTF-8 text"
        ) from exc
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            lines.append((number, line))
    return lines


def _split(line: str) -> list[str]:
    if "," in line:
        return [cell.strip() for cell in line.split(",")]
    return line.split()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number(path: Path, line: int, column: str, text: str, *, allow_negative: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise AnnotationFormatError(
            f"{path}:{line}: {column} must be a number, got {text!r}; fix or delete that line"
        ) from None
    if not math.isfinite(value):
        raise AnnotationFormatError(f"{path}:{line}: {column} is {text!r}; use a finite number")
    if value < 0 and not allow_negative:
        raise AnnotationFormatError(f"{path}:{line}: {column} is negative ({text}); times and pitches are >= 0")
    return value


def _velocity(path: Path, line: int, text: str) -> int:
    value = _number(path, line, "velocity", text)
    if value != int(value) or not 0 <= value <= 127:
        raise AnnotationFormatError(f"{path}:{line}: velocity must be an integer 0..127, got {text!r}")
    return int(value)


@dataclass(frozen=True)
class _Layout:
    """The columns of one CSV kind: the full order, and how many leading columns are required."""

    columns: tuple[str, ...]
    required: int
    extra_no_header: tuple[str, ...] = ()  # columns accepted (and ignored) after ``columns`` without a header


def _rows(path: str | os.PathLike, layout: _Layout) -> list[tuple[int, dict[str, str]]]:
    """Parse a CSV file into (line number, {column: text}) rows, resolving the header if there is one."""
    p = Path(path)
    lines = read_text_lines(p)
    if not lines:
        return []
    first_line, first_text = lines[0]
    first = _split(first_text)
    rows: list[tuple[int, dict[str, str]]] = []
    if not _is_number(first[0]):  # a header
        names = [_ALIASES.get(c.lower().replace(" ", ""), c.lower().replace(" ", "")) for c in first]
        missing = [c for c in layout.columns[: layout.required] if c not in names]
        if missing:
            raise AnnotationFormatError(
                f"{p}:{first_line}: header {first_text!r} lacks column(s) {', '.join(missing)}; "
                f"expected a header like {','.join(layout.columns)}"
            )
        index = {name: i for i, name in reversed(list(enumerate(names)))}
        wanted = {c: index[c] for c in layout.columns if c in index}
        for number, text in lines[1:]:
            cells = _split(text)
            if len(cells) != len(names):
                raise AnnotationFormatError(
                    f"{p}:{number}: expected {len(names)} values like the header, got {len(cells)} in {text!r}"
                )
            rows.append((number, {c: cells[i] for c, i in wanted.items()}))
        return rows
    allowed = range(layout.required, len(layout.columns) + len(layout.extra_no_header) + 1)
    for number, text in lines:
        cells = _split(text)
        if len(cells) not in allowed:
            counts = " or ".join(str(n) for n in allowed)
            raise AnnotationFormatError(
                f"{p}:{number}: expected {counts} values ({','.join(layout.columns)}), got {len(cells)} in "
                f"{text!r}; add a header line to name the columns"
            )
        rows.append((number, dict(zip(layout.columns, cells))))
    return rows


def _write_csv(path: str | os.PathLike, header: Sequence[str], rows: list[str], overwrite: bool) -> Path:
    text = ",".join(header) + "\n" + "".join(row + "\n" for row in rows)
    return atomic_write_text(path, text, overwrite=overwrite)


# --- f0 --------------------------------------------------------------------------------------------
def write_f0_csv(path: str | os.PathLike, f0: F0Track, *, overwrite: bool = False) -> Path:
    """Write ``time_s,f0_hz,confidence``; unvoiced frames keep their negative best guess (or 0)."""
    rows = [
        f"{format_number(t)},{format_number(f)},{format_number(c)}"
        for t, f, c in zip(f0.times_s, f0.f0_hz, f0.confidence)
    ]
    return _write_csv(path, F0_HEADER, rows, overwrite)


def load_f0_csv(path: str | os.PathLike) -> F0Track:
    """Read an f0 CSV; without a confidence column every frame gets confidence 1."""
    p = Path(path)
    rows = _rows(p, _Layout(F0_HEADER, required=2))
    times, freqs, confs = [], [], []
    for line, row in rows:
        times.append(_number(p, line, "time_s", row["time_s"]))
        freqs.append(_number(p, line, "f0_hz", row["f0_hz"], allow_negative=True))
        conf = _number(p, line, "confidence", row["confidence"]) if "confidence" in row else 1.0
        if conf > 1.0:
            raise AnnotationFormatError(f"{p}:{line}: confidence must be in [0, 1], got {row['confidence']!r}")
        confs.append(conf)
    return F0Track(np.array(times, dtype=np.float64), np.array(freqs, dtype=np.float64),
                   np.array(confs, dtype=np.float64))


# --- notes -----------------------------------------------------------------------------------------
def write_notes_csv(path: str | os.PathLike, notes: Sequence[Note], *, overwrite: bool = False) -> Path:
    """Write ``onset_s,offset_s,pitch_midi,velocity``, one note per line, sorted by onset."""
    rows = [
        f"{format_number(n.onset_s)},{format_number(n.offset_s)},{format_number(n.pitch_midi)},{int(n.velocity)}"
        for n in sorted(notes, key=lambda n: (n.onset_s, n.pitch_midi))
    ]
    return _write_csv(path, NOTES_HEADER, rows, overwrite)


def load_notes_csv(path: str | os.PathLike) -> tuple[Note, ...]:
    """Read a notes CSV; ``offset_s < onset_s`` or a velocity outside 0..127 is an error."""
    p = Path(path)
    notes = []
    for line, row in _rows(p, _Layout(NOTES_HEADER, required=3)):
        onset = _number(p, line, "onset_s", row["onset_s"])
        offset = _number(p, line, "offset_s", row["offset_s"])
        pitch = _number(p, line, "pitch_midi", row["pitch_midi"])
        if offset < onset:
            raise AnnotationFormatError(
                f"{p}:{line}: offset_s {row['offset_s']} is before onset_s {row['onset_s']}; swap or fix them"
            )
        if pitch > 127:
            raise AnnotationFormatError(f"{p}:{line}: pitch_midi {row['pitch_midi']} is above 127 (G9)")
        velocity = _velocity(p, line, row["velocity"]) if "velocity" in row else 100
        notes.append(Note(onset, offset, pitch, velocity))
    return tuple(sorted(notes, key=lambda n: (n.onset_s, n.pitch_midi)))


# --- drums -----------------------------------------------------------------------------------------
def write_drums_csv(
    path: str | os.PathLike, hits: Sequence[DrumHit], *, overwrite: bool = False, include_velocity: bool = False
) -> Path:
    """Write ``time_s,drum`` (``time_s,drum,velocity`` with ``include_velocity``), sorted by time."""
    for hit in hits:
        if hit.drum not in DRUM_CLASSES:
            raise AnnotationError(
                f"cannot write drum hit at {hit.time_s} s to {path}: unknown drum {hit.drum!r}; "
                f"use one of {', '.join(DRUM_CLASSES)}"
            )
    ordered = sorted(hits, key=lambda h: (h.time_s, DRUM_CLASSES.index(h.drum)))
    if include_velocity:
        rows = [f"{format_number(h.time_s)},{h.drum},{int(h.velocity)}" for h in ordered]
        return _write_csv(path, (*DRUMS_HEADER, "velocity"), rows, overwrite)
    rows = [f"{format_number(h.time_s)},{h.drum}" for h in ordered]
    return _write_csv(path, DRUMS_HEADER, rows, overwrite)


def load_drums_csv(path: str | os.PathLike) -> tuple[DrumHit, ...]:
    """Read a drums CSV; drum names (case-insensitive) must be in ``DRUM_CLASSES``."""
    p = Path(path)
    hits = []
    for line, row in _rows(p, _Layout((*DRUMS_HEADER, "velocity"), required=2)):
        time_s = _number(p, line, "time_s", row["time_s"])
        drum = row["drum"].strip().lower()
        if drum not in DRUM_CLASSES:
            raise AnnotationFormatError(
                f"{p}:{line}: unknown drum {row['drum']!r}; allowed names are {', '.join(DRUM_CLASSES)}"
            )
        velocity = _velocity(p, line, row["velocity"]) if "velocity" in row else 100
        hits.append(DrumHit(time_s, drum, velocity))
    return tuple(sorted(hits, key=lambda h: (h.time_s, DRUM_CLASSES.index(h.drum))))


# --- onsets ----------------------------------------------------------------------------------------
def write_onsets_csv(path: str | os.PathLike, onsets_s: np.ndarray, *, overwrite: bool = False) -> Path:
    """Write ``time_s``, one sorted onset time per line."""
    values = np.sort(np.asarray(onsets_s, dtype=np.float64).reshape(-1))
    if values.size and (not np.all(np.isfinite(values)) or values[0] < 0):
        raise AnnotationError(f"cannot write onsets to {path}: times must be finite and >= 0")
    return _write_csv(path, ONSETS_HEADER, [format_number(t) for t in values], overwrite)


def load_onsets_csv(path: str | os.PathLike) -> np.ndarray:
    """Read onset times (sorted float64 seconds); a second column (e.g. a Sonic Visualiser label) is ignored."""
    p = Path(path)
    rows = _rows(p, _Layout(ONSETS_HEADER, required=1, extra_no_header=("label",)))
    return np.sort(np.array([_number(p, line, "time_s", row["time_s"]) for line, row in rows], dtype=np.float64))
