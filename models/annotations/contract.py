"""The analysis output contract: which files an analysis writes, and where labels for an audio file live.

For an audio file ``song.wav`` (stem ``song``), the artifacts are ``song`` + a suffix from
:data:`OUTPUT_SUFFIXES` (``song.jams``, ``song.f0.csv``, ``song.notes.csv``, ``song.notes.mid``,
``song.chords.lab``, ``song.drums.csv``, ``song.drums.mid``, ``song.onsets.csv``).
:func:`write_analysis` writes them; :func:`load_annotation_for` reads them back from beside the audio.

Precedence when several files hold the same labels (first found wins, per field):

=======  ==========================================================================================
field    files tried, in order
=======  ==========================================================================================
f0       ``song.f0.csv``, ``song.csv`` (if its header says f0), ``song.jams``
notes    ``song.notes.csv``, ``song.notes.mid``, ``song.csv`` (if notes), ``song.mid`` (non-drum tracks),
         ``song.jams``
chords   ``song.chords.lab``, ``song.lab``, ``song.jams``
drums    ``song.drums.csv``, ``song.drums.mid``, ``song.csv`` (if drums), ``song.mid`` (drum tracks),
         ``song.jams``
onsets   ``song.onsets.csv``, ``song.csv`` (if onsets), ``song.jams``
=======  ==========================================================================================

The task-specific files win over the JAMS file so a user can correct one task by dropping one small
file beside the audio. A plain ``song.csv`` is used only when its header names the kind
unambiguously (``time_s,f0_hz``..., ``onset_s,offset_s,pitch_midi``..., ``time_s,drum``..., or
``time_s`` alone); without a header it is ignored with a warning. A plain ``song.mid`` only
provides notes if it has non-drum notes and drums if it has drum notes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from models.annotations.csv_io import (
    load_drums_csv,
    load_f0_csv,
    load_notes_csv,
    load_onsets_csv,
    read_text_lines,
    write_drums_csv,
    write_f0_csv,
    write_notes_csv,
    write_onsets_csv,
)
from models.annotations.jams_io import load_jams, write_jams
from models.annotations.lab import load_lab, write_lab
from models.annotations.midi_io import load_drums_midi, load_notes_midi, write_drums_midi, write_notes_midi
from models.annotations.types import TASKS, Annotation
from models.audio import audio_info
from models.errors import AnnotationError, ConfigError
from models.fileio import check_writable

__all__ = [
    "ANNOTATION_SUFFIXES",
    "OUTPUT_SUFFIXES",
    "PLAIN_SUFFIXES",
    "TASK_FIELDS",
    "TASK_SOURCE_KEYS",
    "annotation_paths_for",
    "classify_csv",
    "fields_for_tasks",
    "gather_annotation",
    "load_annotation_for",
    "write_analysis",
]

log = logging.getLogger(__name__)

#: Artifact name -> file-name suffix appended to the audio stem.
OUTPUT_SUFFIXES: dict[str, str] = {
    "jams": ".jams",
    "f0": ".f0.csv",
    "notes_csv": ".notes.csv",
    "notes_mid": ".notes.mid",
    "chords": ".chords.lab",
    "drums_csv": ".drums.csv",
    "drums_mid": ".drums.mid",
    "onsets": ".onsets.csv",
}
#: Plain files other tools write beside audio, read when unambiguous (key -> suffix).
PLAIN_SUFFIXES: dict[str, str] = {"lab": ".lab", "mid": ".mid", "csv": ".csv"}
#: Every suffix that marks an annotation file, longest first (so ``.chords.lab`` beats ``.lab``).
ANNOTATION_SUFFIXES: tuple[str, ...] = tuple(
    sorted({*OUTPUT_SUFFIXES.values(), *PLAIN_SUFFIXES.values()}, key=len, reverse=True)
)
#: Task -> the Annotation fields that hold its labels.
TASK_FIELDS: dict[str, tuple[str, ...]] = {
    "pitch": ("f0", "notes"),
    "chords": ("chords",),
    "drums": ("drums",),
    "onsets": ("onsets",),
}
#: Task -> the keys of :func:`annotation_paths_for` that may hold its labels.
TASK_SOURCE_KEYS: dict[str, tuple[str, ...]] = {
    "pitch": ("f0", "notes_csv", "notes_mid", "csv", "mid", "jams"),
    "chords": ("chords", "lab", "jams"),
    "drums": ("drums_csv", "drums_mid", "csv", "mid", "jams"),
    "onsets": ("onsets", "csv", "jams"),
}
#: Artifact -> the Annotation field it writes (None: every field, the JAMS file).
_ARTIFACT_FIELD: dict[str, str | None] = {
    "jams": None, "f0": "f0", "notes_csv": "notes", "notes_mid": "notes", "chords": "chords",
    "drums_csv": "drums", "drums_mid": "drums", "onsets": "onsets",
}


def _present(annotation: Annotation, field: str) -> bool:
    return getattr(annotation, field) is not None


def write_analysis(
    annotation: Annotation,
    out_dir: str | os.PathLike,
    stem: str,
    *,
    overwrite: bool = False,
    formats: Sequence[str] | None = None,
) -> list[Path]:
    """Write every artifact whose task ``annotation`` carries into ``out_dir`` as ``stem + suffix``.

    ``formats`` limits the artifacts (keys of :data:`OUTPUT_SUFFIXES`); ``None`` means all. Every target
    is checked before anything is written, so an :class:`OverwriteError` leaves the folder untouched.
    Returns the paths written, in :data:`OUTPUT_SUFFIXES` order.
    """
    if not stem or "/" in stem or os.sep in stem:
        raise ConfigError(f"output stem must be a plain file name without folders, got {stem!r}")
    wanted = list(OUTPUT_SUFFIXES) if formats is None else list(formats)
    unknown = [f for f in wanted if f not in OUTPUT_SUFFIXES]
    if unknown:
        raise ConfigError(
            f"unknown output format(s) {', '.join(map(repr, unknown))}; choose from {', '.join(OUTPUT_SUFFIXES)}"
        )
    has_any = any(_present(annotation, f) for f in ("f0", "notes", "chords", "drums", "onsets"))
    artifacts = [
        a for a in OUTPUT_SUFFIXES
        if a in wanted and (has_any if _ARTIFACT_FIELD[a] is None else _present(annotation, _ARTIFACT_FIELD[a]))
    ]
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"output folder {folder} is a file; choose a folder")
    targets = {a: folder / f"{stem}{OUTPUT_SUFFIXES[a]}" for a in artifacts}
    check_writable(targets.values(), overwrite)
    folder.mkdir(parents=True, exist_ok=True)

    writers: dict[str, Callable[[Path], Path]] = {
        "jams": lambda p: write_jams(p, annotation, overwrite=overwrite),
        "f0": lambda p: write_f0_csv(p, annotation.f0, overwrite=overwrite),
        "notes_csv": lambda p: write_notes_csv(p, annotation.notes, overwrite=overwrite),
        "notes_mid": lambda p: write_notes_midi(p, annotation.notes, overwrite=overwrite),
        "chords": lambda p: write_lab(p, annotation.chords, overwrite=overwrite),
        "drums_csv": lambda p: write_drums_csv(
            p, annotation.drums, overwrite=overwrite,
            include_velocity=any(h.velocity != 100 for h in annotation.drums),
        ),
        "drums_mid": lambda p: write_drums_midi(p, annotation.drums, overwrite=overwrite),
        "onsets": lambda p: write_onsets_csv(p, annotation.onsets, overwrite=overwrite),
    }
    written = []
    for artifact, path in targets.items():
        written.append(writers[artifact](path))
    log.info("wrote %d file(s) for %s into %s", len(written), stem, folder)
    return written


# --- reading beside the audio ----------------------------------------------------------------------
def annotation_paths_for(audio_path: str | os.PathLike) -> dict[str, Path]:
    """The annotation files that exist beside ``audio_path`` under its stem.

    Keys are those of :data:`OUTPUT_SUFFIXES` plus ``"lab"``, ``"mid"`` and ``"csv"`` for plain files.
    """
    audio = Path(audio_path)
    found = {}
    for key, suffix in {**OUTPUT_SUFFIXES, **PLAIN_SUFFIXES}.items():
        candidate = audio.with_name(audio.stem + suffix)
        if candidate.is_file():
            found[key] = candidate
    return found


def classify_csv(path: str | os.PathLike) -> str | None:
    """Which field a plain CSV holds, from its header: "f0", "notes", "drums", "onsets", or None if unsure."""
    lines = read_text_lines(path)
    if not lines:
        return None
    header = {c.strip().lower() for c in lines[0][1].replace("\t", ",").split(",")}
    if {"onset_s", "offset_s", "pitch_midi"} <= header:
        return "notes"
    if {"time_s", "f0_hz"} <= header:
        return "f0"
    if {"time_s", "drum"} <= header:
        return "drums"
    if header == {"time_s"}:
        return "onsets"
    return None


def fields_for_tasks(tasks: Sequence[str] | None) -> tuple[str, ...]:
    if tasks is None:
        return ("f0", "notes", "chords", "drums", "onsets")
    if isinstance(tasks, str):
        tasks = (tasks,)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ConfigError(f"unknown task(s) {', '.join(map(repr, unknown))}; choose from {', '.join(TASKS)}")
    return tuple(f for t in TASKS if t in tasks for f in TASK_FIELDS[t])


def gather_annotation(
    audio_path: str | os.PathLike,
    *,
    tasks: Sequence[str] | None = None,
    duration_s: float | None = None,
    problems: list[str] | None = None,
    failed: set[Path] | None = None,
) -> tuple[Annotation, dict[str, Path]]:
    """Like :func:`load_annotation_for`, also returning which file each field came from.

    With a ``problems`` list, a file that fails to parse is recorded there (as the parser's message)
    and skipped instead of raising; the paths of such files are added to ``failed`` if given.
    ``duration_s`` skips reading the audio header.
    """
    audio = Path(audio_path)
    fields = fields_for_tasks(tasks)
    paths = annotation_paths_for(audio)
    if duration_s is None:
        duration_s = audio_info(audio).duration_s

    cache: dict[tuple[str, str], object] = {}
    if failed is None:
        failed = set()

    def parse(path: Path, loader: Callable[[Path], object], key: str) -> object | None:
        if path in failed:
            return None
        if (str(path), key) not in cache:
            try:
                cache[(str(path), key)] = loader(path)
            except AnnotationError as exc:
                if problems is None:
                    raise
                problems.append(str(exc))
                failed.add(path)
                return None
        return cache[(str(path), key)]

    plain_csv_kind = None
    if "csv" in paths:
        try:
            plain_csv_kind = classify_csv(paths["csv"])
        except AnnotationError as exc:
            if problems is None:
                raise
            problems.append(str(exc))
            failed.add(paths["csv"])
        if plain_csv_kind is None:
            log.warning("%s: ignoring it, its header does not say whether it holds f0, notes, drums or onsets "
                        "(rename it to %s.f0.csv, .notes.csv, .drums.csv or .onsets.csv)", paths["csv"], audio.stem)

    csv_loaders = {"f0": load_f0_csv, "notes": load_notes_csv, "drums": load_drums_csv, "onsets": load_onsets_csv}
    candidates: dict[str, list[tuple[str, Callable[[Path], object]]]] = {
        "f0": [("f0", load_f0_csv)],
        "notes": [("notes_csv", load_notes_csv), ("notes_mid", load_notes_midi)],
        "chords": [("chords", load_lab), ("lab", load_lab)],
        "drums": [("drums_csv", load_drums_csv), ("drums_mid", load_drums_midi)],
        "onsets": [("onsets", load_onsets_csv)],
    }
    if plain_csv_kind is not None:
        candidates[plain_csv_kind].append(("csv", csv_loaders[plain_csv_kind]))
    candidates["notes"].append(("mid", load_notes_midi))
    candidates["drums"].append(("mid", load_drums_midi))

    values: dict[str, object] = {}
    sources: dict[str, Path] = {}
    for field in fields:
        for key, loader in candidates[field]:
            if key not in paths:
                continue
            value = parse(paths[key], loader, field)
            if value is None:
                continue
            if key == "mid" and len(value) == 0:  # a plain .mid without notes (or drums) of this kind
                continue
            values[field], sources[field] = value, paths[key]
            break
    metadata: dict = {}
    if "jams" in paths:
        jam = parse(paths["jams"], load_jams, "jams")
        if isinstance(jam, Annotation):
            metadata = dict(jam.metadata)
            for field in fields:
                if field not in values and getattr(jam, field) is not None:
                    values[field], sources[field] = getattr(jam, field), paths["jams"]
    onsets = values.get("onsets")
    annotation = Annotation(
        duration_s=float(duration_s),
        f0=values.get("f0"),
        notes=values.get("notes"),
        chords=values.get("chords"),
        drums=values.get("drums"),
        onsets=None if onsets is None else np.asarray(onsets, dtype=np.float64),
        metadata=metadata,
    )
    return annotation, sources


def load_annotation_for(audio_path: str | os.PathLike, *, tasks: Sequence[str] | None = None) -> Annotation:
    """Gather the labels stored beside ``audio_path`` (see the module docstring for the precedence).

    ``tasks`` (a subset of ``TASKS``) limits which labels are read; fields with no file stay ``None``.
    ``duration_s`` comes from the audio header, so the audio file must exist and be readable.
    """
    annotation, _ = gather_annotation(audio_path, tasks=tasks)
    return annotation
