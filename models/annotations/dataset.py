"""A user dataset: a folder (searched recursively) of audio files with their labels beside them.

``song.wav`` is annotated by the files :mod:`models.annotations.contract` names (``song.jams``,
``song.chords.lab``, ``song.notes.mid``, ...). :func:`load_dataset` checks the whole folder and reports
every problem at once in one :class:`~models.errors.DatasetError`, so a user fixes them in one pass.

Checked: the folder exists and holds audio; every audio file is readable; it has labels for every
requested task (with ``tasks=None``: at least one annotation file); every annotation file parses; no
event lies more than :data:`END_TOLERANCE_S` past the end of the audio; every annotation file
(``.jams``, ``.lab``, ``.mid`` and the contract suffixes; plain ``.csv`` files are left alone, they
are often metadata tables) has an audio file beside it. Hidden files and folders are skipped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.annotations.contract import (
    ANNOTATION_SUFFIXES,
    OUTPUT_SUFFIXES,
    TASK_SOURCE_KEYS,
    fields_for_tasks,
    annotation_paths_for,
    gather_annotation,
)
from models.annotations.types import Annotation
from models.audio import AUDIO_EXTENSIONS, audio_info
from models.errors import AudioError, DatasetError

__all__ = ["END_TOLERANCE_S", "DatasetItem", "find_audio_files", "load_dataset"]

log = logging.getLogger(__name__)

#: How far (seconds) an annotation event may lie past the end of its audio before it is a problem.
END_TOLERANCE_S = 0.5

_FIELD_NOUN = {"f0": "f0", "notes": "notes", "chords": "chord labels", "drums": "drum hits", "onsets": "onsets"}
_TASK_NOUN = {"pitch": "pitch labels (f0 or notes)", "chords": "chord labels", "drums": "drum labels",
              "onsets": "onset labels"}
_TASK_FILES = {"pitch": ".notes.mid, {stem}.notes.csv, {stem}.f0.csv", "chords": ".chords.lab",
               "drums": ".drums.mid, {stem}.drums.csv", "onsets": ".onsets.csv"}
# Suffixes that mark an orphan annotation (a plain .csv is not one: it is often a metadata table).
_ORPHAN_SUFFIXES = tuple(s for s in ANNOTATION_SUFFIXES if s != ".csv")


@dataclass(frozen=True)
class DatasetItem:
    """One annotated audio file of a dataset."""

    audio_path: Path
    stem: str
    annotation: Annotation
    duration_s: float


def _visible_files(folder: Path) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(Path(root) / n for n in names if not n.startswith("."))
    return sorted(files)


def _check_folder(folder: str | os.PathLike) -> Path:
    p = Path(folder).expanduser()
    if not p.exists():
        raise DatasetError(f"dataset folder {p} does not exist; check the path",
                           [f"{p}: folder does not exist"])
    if not p.is_dir():
        raise DatasetError(f"dataset path {p} is a file, not a folder; pass the folder that holds the audio",
                           [f"{p}: not a folder"])
    return p


def find_audio_files(folder: str | os.PathLike) -> list[Path]:
    """Every audio file (by extension, see ``AUDIO_EXTENSIONS``) under ``folder``, recursively, sorted."""
    return [f for f in _visible_files(_check_folder(folder)) if f.suffix.lower() in AUDIO_EXTENSIONS]


def _annotation_stem(path: Path) -> str | None:
    name = path.name
    lower = name.lower()
    for suffix in _ORPHAN_SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def _last_events(annotation: Annotation) -> dict[str, float]:
    """Field -> the latest time any of its events reaches."""
    ends: dict[str, float] = {}
    if annotation.f0 is not None and len(annotation.f0):
        ends["f0"] = float(np.max(annotation.f0.times_s))
    if annotation.notes:
        ends["notes"] = max(n.offset_s for n in annotation.notes)
    if annotation.chords:
        ends["chords"] = max(c.end_s for c in annotation.chords)
    if annotation.drums:
        ends["drums"] = max(h.time_s for h in annotation.drums)
    if annotation.onsets is not None and np.size(annotation.onsets):
        ends["onsets"] = float(np.max(annotation.onsets))
    return ends


def _rel(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)


def load_dataset(
    folder: str | os.PathLike,
    *,
    tasks: Sequence[str] | None = None,
    strict: bool = True,
) -> list[DatasetItem]:
    """Load every annotated audio file under ``folder``, sorted by path.

    ``tasks`` (subset of ``TASKS``) says which labels each file must have and which are read; ``None``
    reads everything and asks for at least one annotation file per audio file. With ``strict`` (the
    default) any problem raises one :class:`DatasetError` listing all of them (``.problems``); with
    ``strict=False`` the problems are logged and the good items returned. A folder with no usable item
    raises in both modes.
    """
    root = _check_folder(folder)
    if isinstance(tasks, str):
        tasks = (tasks,)
    fields_for_tasks(tasks)  # ConfigError for unknown task names, before any work
    files = _visible_files(root)
    audio_files = [f for f in files if f.suffix.lower() in AUDIO_EXTENSIONS]
    if not audio_files:
        exts = ", ".join(sorted(AUDIO_EXTENSIONS))
        raise DatasetError(
            f"no audio files found under {root}; put audio ({exts}) there with their labels beside them",
            [f"{root}: no audio files"],
        )

    problems: list[str] = []
    items: list[DatasetItem] = []
    audio_keys = {(f.parent, f.stem) for f in audio_files}
    for audio in audio_files:
        rel = _rel(audio, root)
        item_problems: list[str] = []
        try:
            duration_s = audio_info(audio).duration_s
        except AudioError as exc:
            problems.append(str(exc))  # names the file and the fix
            continue
        if duration_s <= 0:
            problems.append(f"{rel}: the audio holds no samples")
            continue
        failed: set[Path] = set()
        annotation, sources = gather_annotation(
            audio, tasks=tasks, duration_s=duration_s, problems=item_problems, failed=failed
        )  # parse problems already name their file
        stem = audio.stem
        paths = annotation_paths_for(audio)
        if tasks is None:
            if not paths:
                item_problems.append(
                    f"{rel}: no annotation files; add {stem}.jams (or {stem}.chords.lab, {stem}.notes.mid, "
                    f"{stem}.drums.mid, {stem}.onsets.csv ...) beside it"
                )
        else:
            for task in tasks:
                broken = any(paths.get(key) in failed for key in TASK_SOURCE_KEYS[task])
                if not annotation.has(task) and not broken:
                    files_hint = f"{stem}" + _TASK_FILES[task].format(stem=stem)
                    item_problems.append(
                        f"{rel}: no {_TASK_NOUN[task]}; add {files_hint} or {stem}.jams"
                    )
        for field, end_s in _last_events(annotation).items():
            if end_s > duration_s + END_TOLERANCE_S:
                source = _rel(sources[field], root) if field in sources else rel
                item_problems.append(
                    f"{source}: {_FIELD_NOUN[field]} reach {end_s:.3f} s, past the end of {rel} "
                    f"({duration_s:.3f} s); trim the labels or use the matching audio"
                )
        if item_problems:
            problems.extend(item_problems)
            continue
        items.append(DatasetItem(audio_path=audio, stem=stem, annotation=annotation, duration_s=duration_s))

    for f in files:
        if f.suffix.lower() in AUDIO_EXTENSIONS:
            continue
        stem = _annotation_stem(f)
        if stem is not None and (f.parent, stem) not in audio_keys:
            problems.append(
                f"{_rel(f, root)}: annotation file with no audio beside it; add {stem}.wav (or .flac, ...) "
                f"in the same folder, or remove the file"
            )

    if problems:
        hint = ("each audio file needs its labels beside it under the same name, e.g. song.wav with song.jams "
                f"or song{OUTPUT_SUFFIXES['chords']}")
        noun = "problem" if len(problems) == 1 else "problems"
        if strict or not items:
            raise DatasetError(
                f"dataset {root} has {len(problems)} {noun} (first: {problems[0]}); {hint}", problems
            )
        for problem in problems:
            log.warning("dataset %s: %s", root, problem)
        log.warning("dataset %s: using %d good item(s), skipping %d problem(s)", root, len(items), len(problems))
    return items
