"""Single-note collections: folders of one-note recordings labelled with one MIDI pitch each.

Layouts recognised (all may sit anywhere under the data folder):

- generic (also the ChordCrack guitar notes): a CSV with columns ``file`` and ``midi_pitch``; ``file``
  is relative to the CSV's folder, its ``audio/`` sub-folder, or the data folder, in that order;
- TinySOL: ``TinySOL_metadata.csv`` style, columns ``Path`` and ``Pitch ID`` (MIDI), ``Path`` relative
  to ``../audio`` from the CSV (or the CSV's folder);
- EGFxSet: ``<Effect>/<Pickup>/<string>-<fret>.wav`` (pickup folder Bridge, Bridge-Middle, Middle,
  Middle-Neck or Neck), pitch = open string in standard tuning (6 = E2 ... 1 = E4) + fret.

A file is scored by the median MIDI pitch of its estimate's voiced f0 frames (falling back to its
longest note): the error in cents, whether it is within 50 cents, and whether it is within 50 cents
modulo the octave (chroma).
"""

from __future__ import annotations

import csv
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.annotations.types import Annotation
from models.errors import DatasetError, EvaluationError

log = logging.getLogger(__name__)

GENERIC_COLUMNS: tuple[str, str] = ("file", "midi_pitch")
TINYSOL_COLUMNS: tuple[str, str] = ("Path", "Pitch ID")
EGFXSET_PICKUPS: frozenset[str] = frozenset({"Bridge", "Bridge-Middle", "Middle", "Middle-Neck", "Neck"})
#: Open-string MIDI pitch in standard tuning, by string number (1 = high E).
STANDARD_TUNING_MIDI: dict[int, int] = {1: 64, 2: 59, 3: 55, 4: 50, 5: 45, 6: 40}
TOLERANCE_CENTS: float = 50.0

_ANNOTATION_CSV_SUFFIXES = (".f0.csv", ".notes.csv", ".drums.csv", ".onsets.csv")
_EGFXSET_NAME = re.compile(r"^([1-6])-(\d{1,2})\.wav$", re.IGNORECASE)


@dataclass(frozen=True)
class SingleNoteItem:
    audio_path: Path
    midi_pitch: float
    source: str  # the labels file (or layout) that named it

    @property
    def stem(self) -> str:
        return self.audio_path.stem


def _read_header(csv_path: Path) -> list[str]:
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            return [c.strip() for c in next(csv.reader(fh), [])]
    except (OSError, UnicodeDecodeError):
        return []


def labels_layout(csv_path: Path) -> str | None:
    """``"generic"``, ``"tinysol"`` or ``None`` from the CSV's header."""
    header = _read_header(csv_path)
    if all(c in header for c in GENERIC_COLUMNS):
        return "generic"
    if all(c in header for c in TINYSOL_COLUMNS):
        return "tinysol"
    return None


def read_single_note_labels(csv_path: str | Path, data_dir: str | Path | None = None) -> list[SingleNoteItem]:
    """Items named by a labels CSV (generic or TinySOL layout).

    Raises :class:`DatasetError` listing every bad row (unknown pitch, audio file not found).
    """
    path = Path(csv_path)
    if not path.is_file():
        raise EvaluationError(f"single-note labels file not found: {path}; give a CSV with columns file,midi_pitch")
    layout = labels_layout(path)
    if layout is None:
        raise EvaluationError(
            f"{path}: header {_read_header(path)} is not a single-note labels layout; "
            "use columns 'file,midi_pitch' (or TinySOL's 'Path' and 'Pitch ID')"
        )
    file_col, pitch_col = GENERIC_COLUMNS if layout == "generic" else TINYSOL_COLUMNS
    if layout == "generic":
        roots = [path.parent, path.parent / "audio"]
    else:
        roots = [path.parent.parent / "audio", path.parent]
    if data_dir is not None:
        roots.append(Path(data_dir))
    items: list[SingleNoteItem] = []
    problems: list[str] = []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh, skipinitialspace=True)
        for line_no, row in enumerate(reader, start=2):
            name = (row.get(file_col) or "").strip()
            raw_pitch = (row.get(pitch_col) or "").strip()
            try:
                pitch = float(raw_pitch)
                if not math.isfinite(pitch) or not 0 <= pitch <= 127:
                    raise ValueError
            except ValueError:
                problems.append(f"{path}:{line_no}: {pitch_col}={raw_pitch!r} is not a MIDI number 0-127")
                continue
            found = next((root / name for root in roots if name and (root / name).is_file()), None)
            if found is None:
                tried = ", ".join(str(r) for r in roots)
                problems.append(f"{path}:{line_no}: audio file {name!r} not found (looked in {tried})")
                continue
            items.append(SingleNoteItem(found, pitch, str(path)))
    if problems:
        raise DatasetError(
            f"{path}: {len(problems)} bad row(s) in the single-note labels; fix or remove them", problems
        )
    return items


def egfxset_items(folder: str | Path) -> list[SingleNoteItem]:
    """EGFxSet notes under ``folder``, pitched from their ``<string>-<fret>.wav`` names."""
    items = []
    for wav in sorted(Path(folder).rglob("*")):
        match = _EGFXSET_NAME.match(wav.name)
        if match and wav.is_file() and wav.parent.name in EGFXSET_PICKUPS:
            pitch = STANDARD_TUNING_MIDI[int(match.group(1))] + int(match.group(2))
            items.append(SingleNoteItem(wav, float(pitch), "EGFxSet layout (string-fret.wav)"))
    return items


def discover_single_note_items(folder: str | Path) -> list[SingleNoteItem]:
    """Every single-note item under ``folder`` from the layouts above; empty when there is none."""
    root = Path(folder)
    if not root.is_dir():
        raise EvaluationError(f"data folder not found: {root}")
    items: list[SingleNoteItem] = []
    for csv_path in sorted(root.rglob("*.csv")):
        if csv_path.name.lower().endswith(_ANNOTATION_CSV_SUFFIXES):
            continue
        if labels_layout(csv_path) is not None:
            items.extend(read_single_note_labels(csv_path, root))
    items.extend(egfxset_items(root))
    return dedupe(items)


def dedupe(items: list[SingleNoteItem]) -> list[SingleNoteItem]:
    """First label wins for an audio file named twice."""
    seen: dict[Path, SingleNoteItem] = {}
    for item in items:
        key = item.audio_path.resolve()
        if key in seen:
            if seen[key].midi_pitch != item.midi_pitch:
                log.warning("%s labelled %s and %s; keeping %s", key, seen[key].midi_pitch, item.midi_pitch,
                            seen[key].midi_pitch)
            continue
        seen[key] = item
    return list(seen.values())


# --- scoring -----------------------------------------------------------------------------------------
def estimated_midi(estimate: Annotation) -> tuple[float, float]:
    """(median MIDI pitch over voiced f0 frames, voiced fraction); falls back to the longest note."""
    voiced_fraction = 0.0
    if estimate.f0 is not None and len(estimate.f0) > 0:
        voiced = estimate.f0.voiced
        voiced_fraction = float(np.mean(voiced))
        if np.any(voiced):
            midi = 69.0 + 12.0 * np.log2(estimate.f0.f0_hz[voiced] / 440.0)
            return float(np.median(midi)), voiced_fraction
    if estimate.notes:
        longest = max(estimate.notes, key=lambda n: n.offset_s - n.onset_s)
        return float(longest.pitch_midi), voiced_fraction
    return math.nan, voiced_fraction


def wrap_octave_cents(cents: float) -> float:
    """Cents error folded into [-600, 600): the distance ignoring octave errors."""
    return float((cents + 600.0) % 1200.0 - 600.0)


def single_note_metrics(reference_midi: float, estimate: Annotation) -> dict[str, float]:
    """``ref_midi``, ``est_midi``, ``cents_error``, ``voiced_fraction``, ``correct``, ``chroma_correct``.

    ``est_midi`` / ``cents_error`` are NaN when the estimate has no voiced frame and no note; such a
    file counts as wrong.
    """
    est_midi, voiced_fraction = estimated_midi(estimate)
    cents = 100.0 * (est_midi - reference_midi)
    ok = math.isfinite(cents)
    return {
        "ref_midi": float(reference_midi),
        "est_midi": est_midi,
        "cents_error": cents,
        "voiced_fraction": voiced_fraction,
        "correct": float(ok and abs(cents) <= TOLERANCE_CENTS),
        "chroma_correct": float(ok and abs(wrap_octave_cents(cents)) <= TOLERANCE_CENTS),
    }


def aggregate_single_note(per_file: list[dict[str, float]]) -> dict[str, float]:
    """``accuracy_50c``, ``chroma_accuracy_50c``, ``median_abs_cents`` (over files with an estimate)."""
    rows = [m for m in per_file if m]
    out: dict[str, float] = {"n_files": float(len(rows))}
    if not rows:
        return out
    errors = np.array([m["cents_error"] for m in rows], dtype=np.float64)
    finite = np.isfinite(errors)
    out["accuracy_50c"] = float(np.mean([m["correct"] for m in rows]))
    out["chroma_accuracy_50c"] = float(np.mean([m["chroma_correct"] for m in rows]))
    out["median_abs_cents"] = float(np.median(np.abs(errors[finite]))) if np.any(finite) else math.nan
    out["n_no_pitch"] = float(np.count_nonzero(~finite))
    return out
