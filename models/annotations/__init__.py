"""Annotation vocabulary and file formats: CSV, chord .lab, MIDI, JAMS, the analysis output contract,
and user dataset folders. Every format has a symmetric ``load_x`` / ``write_x`` pair; writers are
atomic and refuse to overwrite unless ``overwrite=True``.

The readers and writers are imported on first use (PEP 562), so importing the vocabulary
(``models.annotations.types``) stays fast: jams and mir_eval alone take about a second to import.
"""

import importlib
from typing import TYPE_CHECKING, Any

from models.annotations.types import (
    DRUM_CLASS_TO_GM_KEY,
    DRUM_CLASSES,
    GM_DRUM_KEY_TO_CLASS,
    TASKS,
    Annotation,
    ChordSegment,
    DrumHit,
    F0Track,
    Note,
)

__all__ = [
    "DRUM_CLASSES",
    "DRUM_CLASS_TO_GM_KEY",
    "GM_DRUM_KEY_TO_CLASS",
    "OUTPUT_SUFFIXES",
    "TASKS",
    "Annotation",
    "ChordSegment",
    "DatasetItem",
    "DrumHit",
    "F0Track",
    "Note",
    "annotation_paths_for",
    "find_audio_files",
    "load_annotation_for",
    "load_dataset",
    "load_drums_csv",
    "load_drums_midi",
    "load_f0_csv",
    "load_jams",
    "load_lab",
    "load_notes_csv",
    "load_notes_midi",
    "load_onsets_csv",
    "write_analysis",
    "write_drums_csv",
    "write_drums_midi",
    "write_f0_csv",
    "write_jams",
    "write_lab",
    "write_notes_csv",
    "write_notes_midi",
    "write_onsets_csv",
]

_LAZY: dict[str, str] = {
    "OUTPUT_SUFFIXES": "contract", "annotation_paths_for": "contract", "load_annotation_for": "contract",
    "write_analysis": "contract",
    "load_drums_csv": "csv_io", "load_f0_csv": "csv_io", "load_notes_csv": "csv_io", "load_onsets_csv": "csv_io",
    "write_drums_csv": "csv_io", "write_f0_csv": "csv_io", "write_notes_csv": "csv_io", "write_onsets_csv": "csv_io",
    "DatasetItem": "dataset", "find_audio_files": "dataset", "load_dataset": "dataset",
    "load_jams": "jams_io", "write_jams": "jams_io",
    "load_lab": "lab", "write_lab": "lab",
    "load_drums_midi": "midi_io", "load_notes_midi": "midi_io", "write_drums_midi": "midi_io",
    "write_notes_midi": "midi_io",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from models.annotations.contract import OUTPUT_SUFFIXES, annotation_paths_for, load_annotation_for, write_analysis
    from models.annotations.csv_io import (
        load_drums_csv, load_f0_csv, load_notes_csv, load_onsets_csv,
        write_drums_csv, write_f0_csv, write_notes_csv, write_onsets_csv,
    )
    from models.annotations.dataset import DatasetItem, find_audio_files, load_dataset
    from models.annotations.jams_io import load_jams, write_jams
    from models.annotations.lab import load_lab, write_lab
    from models.annotations.midi_io import load_drums_midi, load_notes_midi, write_drums_midi, write_notes_midi
