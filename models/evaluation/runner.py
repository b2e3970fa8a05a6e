"""Scoring a folder: pair each audio file with its estimate (read from files or made by a baseline),
compute the task metrics per file and the dataset totals.

Two data layouts:
- a dataset folder in the output contract (audio + ``stem.<task files>`` beside it), read with
  :func:`models.annotations.dataset.load_dataset`;
- a single-note collection (pitch only, see :mod:`models.evaluation.single_note`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.annotations.types import TASKS, Annotation, F0Track
from models.errors import EvaluationError, FeatherlightError
from models.evaluation.aggregate import aggregate
from models.evaluation.metrics import metrics_for
from models.evaluation.single_note import SingleNoteItem, aggregate_single_note, single_note_metrics

log = logging.getLogger(__name__)

#: Sample rate the baselines run at (the rate of the bundled models' front-end).
BASELINE_SAMPLE_RATE_HZ: int = 16000

STATUS_OK = "ok"
STATUS_MISSING = "missing"  # no estimate file
STATUS_FAILED = "failed"  # the estimate could not be read or the baseline failed on this file


@dataclass(frozen=True)
class EvalItem:
    """One audio file to score and its reference (an Annotation, or a single MIDI pitch)."""

    audio_path: Path
    stem: str
    reference: Annotation | None = None
    reference_midi: float | None = None


@dataclass(frozen=True)
class FileResult:
    stem: str
    audio_path: Path
    status: str
    metrics: dict[str, float]
    message: str = ""


@dataclass(frozen=True)
class EvaluationReport:
    task: str
    data_dir: Path
    layout: str  # "dataset" or "single-note"
    source: str  # "baseline" or "estimates"
    baseline: str | None
    estimates_dir: Path | None
    files: tuple[FileResult, ...]
    totals: dict[str, float]
    allow_missing: bool = False
    saved_estimates: tuple[Path, ...] = field(default=())
    #: 95% bootstrap intervals over the files of the table's totals (aggregate.bootstrap_intervals); the
    #: dataset layout only
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def missing(self) -> list[FileResult]:
        return [f for f in self.files if f.status == STATUS_MISSING]

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == STATUS_FAILED]

    @property
    def ok(self) -> bool:
        """True when every file had an estimate (or --allow-missing was given)."""
        return self.allow_missing or not (self.missing or self.failed)

    def to_json_dict(self) -> dict:
        def clean(d: dict[str, float]) -> dict[str, float | None]:
            return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}

        return {
            "task": self.task,
            "data": str(self.data_dir),
            "layout": self.layout,
            "source": self.source,
            "baseline": self.baseline,
            "estimates": None if self.estimates_dir is None else str(self.estimates_dir),
            "allow_missing": self.allow_missing,
            "counts": {
                "files": len(self.files),
                "scored": sum(1 for f in self.files if f.metrics),
                "ok": sum(1 for f in self.files if f.status == STATUS_OK),
                "missing": len(self.missing),
                "failed": len(self.failed),
            },
            "totals": clean(self.totals),
            "intervals": {k: [lo, hi] for k, (lo, hi) in self.intervals.items()},
            "files": [
                {"stem": f.stem, "audio": str(f.audio_path), "status": f.status, "message": f.message,
                 "metrics": clean(f.metrics)}
                for f in self.files
            ],
            "missing": [str(f.audio_path) for f in self.missing],
            "failed": [{"audio": str(f.audio_path), "message": f.message} for f in self.failed],
        }


# --- items -------------------------------------------------------------------------------------------
def check_task(task: str) -> None:
    if task not in TASKS:
        raise EvaluationError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")


def dataset_items(data_dir: Path, task: str) -> list[EvalItem]:
    """Audio files of a dataset folder that carry ``task`` labels."""
    from models.annotations.dataset import load_dataset

    if not data_dir.is_dir():
        raise EvaluationError(f"data folder not found: {data_dir}; give a folder of audio files with labels")
    dataset = load_dataset(data_dir, tasks=[task], strict=True)
    items = [EvalItem(d.audio_path, d.stem, reference=d.annotation) for d in dataset if d.annotation.has(task)]
    if not items:
        raise EvaluationError(
            f"nothing to score: no audio file in {data_dir} has {task} labels beside it "
            f"(expected {' or '.join('<stem>' + s for s in task_suffixes(task))} next to <stem>.wav)"
        )
    return items


def single_note_eval_items(notes: Sequence[SingleNoteItem]) -> list[EvalItem]:
    return [EvalItem(n.audio_path, n.stem, reference_midi=n.midi_pitch) for n in notes]


# --- estimates ---------------------------------------------------------------------------------------
def task_suffixes(task: str) -> list[str]:
    """File-name suffixes that may hold ``task`` labels (the output contract's, in precedence order)."""
    from models.annotations.contract import OUTPUT_SUFFIXES, PLAIN_SUFFIXES, TASK_SOURCE_KEYS

    suffixes = {**OUTPUT_SUFFIXES, **PLAIN_SUFFIXES}
    return [suffixes[key] for key in TASK_SOURCE_KEYS[task] if key in suffixes]


def find_estimate_dir(estimates_dir: Path, data_dir: Path, item: EvalItem, task: str) -> Path | None:
    """Folder in ``estimates_dir`` holding estimate files for ``item``: the mirrored sub-folder first,
    then the top level; ``None`` when neither has one."""
    from models.annotations.contract import TASK_SOURCE_KEYS, annotation_paths_for

    candidates = []
    try:
        rel_parent = item.audio_path.parent.resolve().relative_to(data_dir.resolve())
        candidates.append(estimates_dir / rel_parent)
    except ValueError:
        pass
    candidates.append(estimates_dir)
    for folder in candidates:
        found = annotation_paths_for(folder / item.audio_path.name)
        if any(key in found for key in TASK_SOURCE_KEYS[task]):
            return folder
    return None


def empty_estimate(task: str) -> Annotation:
    """What a missing estimate is scored as: nothing detected."""
    if task == "pitch":
        return Annotation(f0=F0Track(np.zeros(0), np.zeros(0), np.zeros(0)), notes=())
    if task == "chords":
        return Annotation(chords=())
    if task == "drums":
        return Annotation(drums=())
    return Annotation(onsets=np.zeros(0))


def read_estimates(
    items: Sequence[EvalItem], estimates_dir: Path, data_dir: Path, task: str
) -> Iterator[tuple[EvalItem, Annotation | None, str, str]]:
    """(item, estimate or None, status, message) for each item, from files in ``estimates_dir``."""
    from models.annotations.contract import gather_annotation
    from models.audio import audio_info

    if not estimates_dir.is_dir():
        raise EvaluationError(f"estimates folder not found: {estimates_dir}; give the folder your model wrote to")
    for item in items:
        folder = find_estimate_dir(estimates_dir, data_dir, item, task)
        if folder is None:
            names = " or ".join(f"{item.stem}{s}" for s in task_suffixes(task))
            yield item, None, STATUS_MISSING, f"no estimate: expected {names} in {estimates_dir}"
            continue
        try:
            # the estimate folder holds no audio: take the duration from the dataset's audio file
            duration_s = item.reference.duration_s if item.reference is not None else None
            if duration_s is None:
                duration_s = audio_info(item.audio_path).duration_s
            estimate, _ = gather_annotation(folder / item.audio_path.name, tasks=[task], duration_s=duration_s)
        except FeatherlightError as exc:
            yield item, None, STATUS_FAILED, f"estimate unreadable: {exc}"
            continue
        if not estimate.has(task):
            yield item, None, STATUS_MISSING, f"no {task} estimate in the files for {item.stem} in {folder}"
            continue
        yield item, estimate, STATUS_OK, ""


def _run_baseline_on_file(task: str, name: str, audio_path: Path) -> tuple[Annotation | None, str]:
    """Worker: load one file and run one baseline (top level so process pools can pickle it)."""
    from librosa.util.exceptions import ParameterError

    from models.audio import load_audio
    from models.baselines import get_baseline

    try:
        audio = load_audio(audio_path, BASELINE_SAMPLE_RATE_HZ)
        return get_baseline(task, name)(audio, BASELINE_SAMPLE_RATE_HZ), ""
    except FeatherlightError as exc:
        return None, str(exc)
    except ParameterError as exc:  # librosa refuses the signal (e.g. far too short for the analysis frame)
        return None, f"{audio_path}: librosa could not analyse it ({exc})"


def run_baseline(
    items: Sequence[EvalItem], task: str, name: str, *, jobs: int = 1, progress: bool = False
) -> Iterator[tuple[EvalItem, Annotation | None, str, str]]:
    """(item, estimate or None, status, message) for each item, in order, from the DSP baseline ``name``."""
    from models.baselines import get_baseline

    get_baseline(task, name)  # fail early on a bad name
    paths = [item.audio_path for item in items]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(items), desc=f"{task}:{name}", unit="file")
    try:
        if jobs > 1 and len(items) > 1:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                results = pool.map(_run_baseline_on_file, [task] * len(paths), [name] * len(paths), paths)
                yield from _tag(items, results, bar)
        else:
            results = (_run_baseline_on_file(task, name, p) for p in paths)
            yield from _tag(items, results, bar)
    finally:
        if bar is not None:
            bar.close()


def _tag(items, results, bar) -> Iterator[tuple[EvalItem, Annotation | None, str, str]]:
    for item, (estimate, message) in zip(items, results):
        if bar is not None:
            bar.update(1)
        if estimate is None:
            yield item, None, STATUS_FAILED, f"baseline failed: {message}"
        else:
            yield item, estimate, STATUS_OK, ""


# --- scoring -----------------------------------------------------------------------------------------
def score(
    task: str,
    pairs: Iterator[tuple[EvalItem, Annotation | None, str, str]],
    *,
    allow_missing: bool,
    on_estimate: Callable[[EvalItem, Annotation], object] | None = None,
) -> tuple[list[FileResult], list[dict[str, float]]]:
    """Per-file results; a missing/failed estimate is scored as empty unless ``allow_missing``."""
    results: list[FileResult] = []
    rows: list[dict[str, float]] = []
    for item, estimate, status, message in pairs:
        if estimate is not None and on_estimate is not None:
            on_estimate(item, estimate)
        if estimate is None:
            log.info("%s: %s", item.audio_path, message)
            if allow_missing:
                results.append(FileResult(item.stem, item.audio_path, status, {}, message))
                continue
            estimate = empty_estimate(task)
        if item.reference_midi is not None:
            metrics = single_note_metrics(item.reference_midi, estimate)
        else:
            assert item.reference is not None
            metrics = metrics_for(task, item.reference, estimate)
        results.append(FileResult(item.stem, item.audio_path, status, metrics, message))
        rows.append(metrics)
    return results, rows


def totals_for(task: str, layout: str, rows: list[dict[str, float]]) -> dict[str, float]:
    if layout == "single-note":
        return aggregate_single_note(rows)
    return aggregate(task, rows)
