"""``featherlight analyze``: batch-analyse audio files into MIDI / JAMS / .lab / CSV files.

Every file goes through the same :class:`~models.runtime.analyzer.Analyzer` the live view uses (offline
= the whole file as one stream) with whole-file decoding on (chords and pitch by Viterbi over the whole
file; ``--online`` turns it off, giving exactly what the live view shows), and its results are written with the
analysis output contract
(:func:`models.annotations.contract.write_analysis`): ``<stem>.jams`` plus the per-task files.

Folders are searched recursively for audio files (:data:`models.audio.AUDIO_EXTENSIONS`) and their
sub-folders are mirrored under ``--out``; files given directly land in ``--out`` itself. Existing
outputs are never replaced without ``--overwrite`` (checked for every file before any work starts).
A file that cannot be read gets one error line and the others carry on; the exit status is 1 when any
file failed, 2 for usage errors (bad arguments, missing models, outputs in the way).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from models.annotations.types import TASKS
from models.errors import ConfigError, FeatherlightError

# Heavier modules (annotation writers, audio decoding, onnxruntime) are imported when the command runs,
# so `featherlight --help` stays fast.

__all__ = ["AnalyzeJob", "collect_jobs", "output_paths", "parse_model_overrides", "parse_tasks", "register",
           "resolve_model_paths", "run"]

log = logging.getLogger(__name__)

#: Task -> the output-contract artifacts written for it (the JAMS file is written for every task set).
TASK_ARTIFACTS: dict[str, tuple[str, ...]] = {
    "pitch": ("f0", "notes_csv", "notes_mid"),
    "chords": ("chords",),
    "drums": ("drums_csv", "drums_mid"),
    "onsets": ("onsets",),
}


@dataclass(frozen=True)
class AnalyzeJob:
    """One audio file and where its results go (``out_dir / (stem + suffix)``)."""

    audio_path: Path
    out_dir: Path
    stem: str


# --- arguments -------------------------------------------------------------------------------------
def parse_tasks(text: str) -> tuple[str, ...]:
    """``"pitch,drums"`` -> ``("pitch", "drums")`` in TASKS order; unknown names are a usage error."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise ConfigError(f"--tasks is empty; give a comma-separated list from {', '.join(TASKS)}")
    unknown = [t for t in names if t not in TASKS]
    if unknown:
        raise ConfigError(f"unknown task(s) {', '.join(map(repr, unknown))} in --tasks; choose from {', '.join(TASKS)}")
    return tuple(t for t in TASKS if t in names)


def parse_model_overrides(items: Sequence[str]) -> dict[str, Path]:
    """``["drums=my.onnx"]`` -> ``{"drums": Path("my.onnx")}``."""
    out: dict[str, Path] = {}
    for item in items:
        task, sep, path = item.partition("=")
        task = task.strip()
        if not sep or not task or not path:
            raise ConfigError(f"--model expects TASK=PATH (e.g. --model drums=models/drums.onnx), got {item!r}")
        if task not in TASKS:
            raise ConfigError(f"--model {item!r} names unknown task {task!r}; choose from {', '.join(TASKS)}")
        if task in out:
            raise ConfigError(f"--model is given twice for {task} ({out[task]} and {path}); keep one")
        out[task] = Path(path).expanduser()
    return out


def resolve_model_paths(tasks: Sequence[str], overrides: dict[str, Path]) -> dict[str, Path]:
    """The ONNX file per task: ``--model`` first, else the first bundled model for that task."""
    ignored = sorted(set(overrides) - set(tasks))
    if ignored:
        log.warning("ignoring --model for %s: not in --tasks (%s)", ", ".join(ignored), ",".join(tasks))
    bundled: dict[str, list[Path]] | None = None
    paths: dict[str, Path] = {}
    for task in tasks:
        if task in overrides:
            paths[task] = overrides[task]
            continue
        if bundled is None:
            from models.runtime.onnx_model import find_bundled_models

            bundled = find_bundled_models()
        candidates = bundled.get(task, [])
        if not candidates:
            others = [t for t in tasks if t != task]
            leave_out = f" or leave it out (--tasks {','.join(others)})" if others else ""
            raise ConfigError(
                f"no model for task {task!r}: none is bundled with this installation; pass one with "
                f"--model {task}=PATH/TO/MODEL.onnx (its .json card beside it){leave_out}"
            )
        if len(candidates) > 1:
            log.info("%d bundled %s models; using %s", len(candidates), task, candidates[0].name)
        paths[task] = candidates[0]
    return paths


def _audio_files(folder: Path) -> list[Path]:
    from models.audio import AUDIO_EXTENSIONS

    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS
                  and not p.name.startswith("."))


def collect_jobs(paths: Iterable[str | os.PathLike], out_dir: str | os.PathLike) -> list[AnalyzeJob]:
    """The files to analyse: folders recursed (sub-folders mirrored under ``out_dir``), files as given.

    Raises :class:`ConfigError` for a missing path, a folder without audio, no files at all, or two
    inputs whose outputs would collide (same stem in the same output folder).
    """
    out = Path(out_dir)
    jobs: list[AnalyzeJob] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            files = _audio_files(path)
            if not files:
                from models.audio import AUDIO_EXTENSIONS

                raise ConfigError(
                    f"no audio files in folder {path} (looked for {', '.join(sorted(AUDIO_EXTENSIONS))}, "
                    "in sub-folders too); check the folder"
                )
            found = [(f, out / f.parent.relative_to(path)) for f in files]
        elif path.is_file():
            found = [(path, out)]
        else:
            raise ConfigError(f"input {path} does not exist; check the path and the spelling")
        for file, folder in found:
            key = file.resolve()
            if key in seen:
                continue
            seen.add(key)
            jobs.append(AnalyzeJob(file, folder, file.stem))
    by_target: dict[tuple[Path, str], list[Path]] = {}
    for job in jobs:
        by_target.setdefault((job.out_dir, job.stem), []).append(job.audio_path)
    clashes = [f"{' and '.join(map(str, files))} -> {folder / stem}.*" for (folder, stem), files in by_target.items()
               if len(files) > 1]
    if clashes:
        raise ConfigError(
            "several inputs would write the same output files: " + "; ".join(clashes)
            + "; rename one of them or analyse them into different --out folders"
        )
    return jobs


def output_paths(job: AnalyzeJob, tasks: Sequence[str]) -> list[Path]:
    """Every file :func:`write_analysis` writes for ``job`` with these tasks."""
    from models.annotations.contract import OUTPUT_SUFFIXES

    artifacts = ["jams"] + [a for t in tasks for a in TASK_ARTIFACTS[t]]
    return [job.out_dir / f"{job.stem}{OUTPUT_SUFFIXES[a]}" for a in artifacts]


# --- work ------------------------------------------------------------------------------------------
def _build_analyzer(model_paths: dict[str, str], whole_file: bool = True):
    from models.runtime.analyzer import Analyzer
    from models.runtime.onnx_model import OnnxTaskModel

    return Analyzer({task: OnnxTaskModel(path) for task, path in model_paths.items()}, whole_file=whole_file)


def analyze_file(analyzer, job: AnalyzeJob, *, overwrite: bool) -> list[Path]:
    """Analyse one file and write its results; errors are :class:`FeatherlightError` (or OSError)."""
    from models.annotations.contract import write_analysis
    from models.audio import load_audio

    audio = load_audio(job.audio_path, analyzer.sample_rate_hz)
    annotation = analyzer.analyze(audio)
    annotation.metadata["audio_file"] = job.audio_path.name
    return write_analysis(annotation, job.out_dir, job.stem, overwrite=overwrite)


_WORKER_ANALYZER = None


def _init_worker(model_paths: dict[str, str], level: int, whole_file: bool) -> None:
    global _WORKER_ANALYZER
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    _WORKER_ANALYZER = _build_analyzer(model_paths, whole_file)


def _run_job(job: AnalyzeJob, overwrite: bool) -> tuple[AnalyzeJob, list[Path] | None, str | None]:
    try:
        return job, analyze_file(_WORKER_ANALYZER, job, overwrite=overwrite), None
    except (FeatherlightError, OSError) as exc:
        return job, None, _error_line(job, exc)


def _error_line(job: AnalyzeJob, exc: BaseException) -> str:
    message = str(exc) or type(exc).__name__
    return message if str(job.audio_path) in message else f"{job.audio_path}: {message}"


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="file", desc="analyse", disable=None, file=sys.stderr)


def _report(bar, line: str) -> None:
    from tqdm import tqdm

    if bar.disable:
        print(line, file=sys.stderr)
    else:
        tqdm.write(line, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    global _WORKER_ANALYZER
    if args.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {args.jobs}")
    tasks = parse_tasks(args.tasks)
    overrides = parse_model_overrides(args.model or [])
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder (it is created if missing)")
    jobs = collect_jobs(args.paths, out)
    from models.fileio import check_writable

    check_writable([p for job in jobs for p in output_paths(job, tasks)], args.overwrite)
    model_paths = {task: str(path) for task, path in resolve_model_paths(tasks, overrides).items()}
    whole_file = not args.online
    analyzer = _build_analyzer(model_paths, whole_file)  # loads and checks every model before any file is touched

    failed = written = 0
    jobs_n = min(args.jobs, len(jobs))
    with _progress(len(jobs)) as bar:
        if jobs_n == 1:
            _WORKER_ANALYZER = analyzer
            results = (_run_job(job, args.overwrite) for job in jobs)
            executor = None
        else:
            context = multiprocessing.get_context("spawn")  # no forked onnxruntime sessions
            executor = ProcessPoolExecutor(jobs_n, mp_context=context, initializer=_init_worker,
                                           initargs=(model_paths, logging.getLogger().level, whole_file))
            results = (f.result() for f in as_completed([executor.submit(_run_job, j, args.overwrite) for j in jobs]))
        try:
            for job, paths, error in results:
                if error is not None:
                    failed += 1
                    _report(bar, f"featherlight analyze: error: {error}")
                else:
                    written += len(paths)
                    log.info("%s -> %d file(s) in %s", job.audio_path, len(paths), job.out_dir)
                bar.update(1)
        finally:
            if executor is not None:
                executor.shutdown(cancel_futures=True)
    ok = len(jobs) - failed
    print(f"analysed {ok} of {len(jobs)} file(s) ({', '.join(tasks)}); wrote {written} file(s) under {out}"
          + (f"; {failed} failed" if failed else ""))
    return 1 if failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="analyse audio files into MIDI, JAMS, .lab and CSV files",
        description=(
            "Analyse audio files with the Featherlight models (pitch with notes, chords, drum hits, onsets) "
            "and write, per file, <stem>.jams plus <stem>.f0.csv, .notes.csv, .notes.mid, .chords.lab, "
            ".drums.csv, .drums.mid and .onsets.csv for the chosen tasks. Folders are searched recursively "
            "and their sub-folders are mirrored under --out. Exit status: 0 all files done, 1 some files "
            "failed (each gets an error line), 2 usage error. Chords and pitch are decoded over the whole "
            "file (Viterbi); --online gives what the live view shows instead."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="audio files and/or folders to analyse")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the results (created if missing)")
    parser.add_argument("--tasks", default=",".join(TASKS), metavar="LIST",
                        help=f"comma-separated tasks to run (default: {','.join(TASKS)})")
    parser.add_argument("--model", action="append", default=[], metavar="TASK=PATH",
                        help="use this ONNX model (with its .json card beside it) for TASK instead of the bundled "
                             "one; repeat for several tasks")
    parser.add_argument("--overwrite", action="store_true", help="replace result files that already exist")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="files analysed in parallel, one process each (default: 1)")
    parser.add_argument("--online", action="store_true",
                        help="decode every task as it streams, as the live view does (chords: forward filtering "
                             "with a bounded delay; f0: voicing hysteresis) instead of decoding chords and pitch "
                             "over the whole file (Viterbi)")
    parser.set_defaults(func=run)
