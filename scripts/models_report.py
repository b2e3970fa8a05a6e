"""Score the task models on the rendered test splits, next to the DSP baselines, and write docs/MODELS.md.

    .venv/bin/python scripts/models_report.py --corpus /path/to/corpus \
        --real-dev ../shared/data/real_dev/pitch --out docs/MODELS.md --jobs 2

For each task with a model (the bundled resources/models/<task>.onnx, or --model TASK=PATH) and a test
split <corpus>/<task>/test (as `featherlight corpus render --task T --out <corpus>/T` writes it):

1. the split is analysed with `featherlight analyze` into a temporary folder and scored with
   `featherlight eval --estimates ... --json` (subprocesses of this Python), so every number is exactly
   what a user gets from those two commands;
2. the DSP baselines of scripts/baseline_report.py are scored on the same audio with
   `featherlight eval --baseline`; their JSON results are cached in --cache, keyed by task, baseline,
   data folder contents (names, sizes, modification times) and package version, so a re-run only
   scores the models (pYIN alone takes minutes). --skip-baselines uses the cache only;
3. each task's target (the models issue) is marked met when the model reaches it AND beats every
   baseline on that metric; beside it, the 95% bootstrap interval over the split's files (what
   `featherlight eval` reports), which the verdict does not use.

With --real-dev the pitch model is also scored on the real single-note recordings (each file by the
median pitch of its voiced frames, as `featherlight eval` pairs them); --extra TASK=DIR adds held-out
dataset folders (e.g. the drums test split re-rendered on other kits by scripts/kit_testset.py). Then the model cards (size, cost,
latency, training data, seed) and the one-core benchmark of scripts/bench_models.py. The document is
written atomically; a file that this script did not generate is only replaced with --overwrite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy: no BLAS thread pools
    os.environ.setdefault(_var, "1")  # (the benchmark measures one core; subprocesses inherit it, gently on CPUs)

from baseline_report import SINGLE_NOTE_COLUMNS, TABLES, minutes_of  # noqa: E402

from models.errors import FeatherlightError  # noqa: E402

#: task -> (metric key, title, target): the models issue's acceptance numbers on the rendered test split.
TARGETS: dict[str, tuple[str, str, float]] = {
    "pitch": ("rpa", "RPA", 0.95),
    "chords": ("majmin", "majmin WCSR", 0.80),
    "drums": ("mean_f1_ksh", "mean F1 kick/snare/hi-hat (50 ms)", 0.85),
    "onsets": ("f1_50ms", "F1 (50 ms)", 0.90),
}
#: Tasks whose `featherlight analyze` result differs from the live (online) decoding: whole-file Viterbi.
ONLINE_DIFFERS: tuple[str, ...] = ("pitch", "chords")
#: `featherlight analyze` with the four models: at least this many audio seconds per CPU second on one core.
SPEED_TARGET = 50.0
#: First line of the generated document: how this script recognises a file it may replace.
HEADER = "# Featherlight models: accuracy, size and speed"
CLI = [sys.executable, "-m", "desktop_app.cli"]


class ReportError(FeatherlightError):
    """A step of the report failed; the message says which command and why."""


# --- running the CLI -----------------------------------------------------------------------------------
def _run(cmd: Sequence[str], what: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(cmd), capture_output=True, text=True)
    if proc.returncode not in (0, 1):  # 1: some file failed or had no estimate (scored, and counted)
        raise ReportError(f"{what} failed (exit {proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stderr[-2000:]}")
    return proc


def evaluate(task: str, data: Path, source: Sequence[str], jobs: int = 1) -> dict:
    """``featherlight eval --task T --data DATA <source> --json``: the report as a dict."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scores.json"
        cmd = [*CLI, "eval", "--task", task, "--data", str(data), *source, "--json", str(out), "--no-progress"]
        if "--baseline" in source:
            cmd += ["--jobs", str(jobs)]
        _run(cmd, f"{task} eval")
        if not out.is_file():
            raise ReportError(f"{task} eval wrote no JSON: {' '.join(cmd)}")
        return json.loads(out.read_text())


def score_model(task: str, model: Path, data: Path, jobs: int = 1, online: bool = False) -> tuple[dict, float]:
    """Analyse ``data`` with ``model`` (featherlight analyze, with ``--online`` when asked) and score it
    (featherlight eval); (report, seconds). Onsets reports also get ``hidden_onsets``: the counts of
    scripts/onset_visibility.py (recall of visible and hidden onsets apart)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        _run([*CLI, "analyze", str(data), "--out", tmp, "--tasks", task, "--model", f"{task}={model}",
              "--jobs", str(jobs), *(["--online"] if online else [])], f"{task} analyze")
        elapsed = time.perf_counter() - start
        report = evaluate(task, data, ["--estimates", tmp])
        if task == "onsets":
            import onset_visibility

            report["hidden_onsets"] = onset_visibility.total(onset_visibility.breakdown(data, Path(tmp)))
        return report, elapsed


def hidden_onset_lines(rows: Sequence[tuple[str, dict | None]]) -> list[str]:
    """Below an onsets table: how many onsets are hidden, and each model's recall of them and of the rest."""
    import onset_visibility

    counted = [(name, r["hidden_onsets"]) for name, r in rows if r and "hidden_onsets" in r]
    if not counted:
        return []
    first = counted[0][1]
    lines = [f"Hidden onsets (`scripts/onset_visibility.py`: no more spectral change within the 50 ms window than one "
             f"in ten onset-free frames of their file show, e.g. a slow attack under sustained sound): {first['hidden']} "
             f"of {first['onsets']} ({first['hidden'] / max(first['onsets'], 1):.1%}).", ""]
    for name, counts in counted:
        s = onset_visibility.scores(counts)
        lines.append(f"- {name}: recall {s['recall_visible']:.3f} of the visible onsets, {s['recall_hidden']:.3f} of "
                     f"the hidden ones; F1 with the hidden ones left out {s['f1_hidden_left_out']:.3f}")
    return lines + [""]


def data_fingerprint(folder: Path) -> str:
    """A hash of every file's relative name, size and modification time under ``folder``."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        st = path.stat()
        h.update(f"{path.relative_to(folder).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def baseline_scores(task: str, name: str, data: Path, *, cache: Path | None, jobs: int = 1,
                    cache_only: bool = False) -> dict | None:
    """The baseline's eval report, from ``cache`` when the data are unchanged, else computed (and cached).

    Returns None when ``cache_only`` and nothing is cached.
    """
    from models.runtime.card import featherlight_version

    key = hashlib.sha256(json.dumps([task, name, str(data.resolve()), data_fingerprint(data),
                                     featherlight_version()]).encode()).hexdigest()[:16]
    cached = cache / f"{task}-{name}-{key}.json" if cache is not None else None
    if cached is not None and cached.is_file():
        return json.loads(cached.read_text())
    if cache_only:
        return None
    report = evaluate(task, data, ["--baseline", name], jobs)
    if cached is not None:
        from models.fileio import atomic_write_text

        atomic_write_text(cached, json.dumps(report, indent=1) + "\n", overwrite=True)
    return report


# --- formatting ----------------------------------------------------------------------------------------
def _number(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def score_table(rows: Sequence[tuple[str, dict | None]], columns: Sequence[tuple[str, str]], first: str) -> list[str]:
    """Markdown table: one row per (name, eval report); a None report is a row of 'not run'."""
    lines = ["| " + " | ".join([first, "files", *(title for _, title in columns)]) + " |",
             "|" + "---|" * (len(columns) + 2)]
    for name, report in rows:
        if report is None:
            lines.append(f"| {name} | - | " + " | ".join("not run" for _ in columns) + " |")
            continue
        totals = report["totals"]
        lines.append(f"| {name} | {int(totals.get('n_files') or 0)} | "
                     + " | ".join(_number(totals.get(key)) for key, _ in columns) + " |")
    return lines


def file_interval(task: str, report: dict) -> tuple[float, float] | None:
    """The 95% bootstrap interval over files of the task's target metric, as `featherlight eval --json` wrote
    it (None when it wrote none)."""
    given = (report.get("intervals") or {}).get(TARGETS[task][0])
    return None if given is None else (float(given[0]), float(given[1]))


def interval_text(task: str, report: dict) -> str:
    """' (95% interval over its N files: LOW-HIGH)' for a report line, or '' when there is none."""
    interval = file_interval(task, report)
    if interval is None:
        return ""
    n = sum(1 for f in report.get("files", ()) if f.get("metrics"))
    return f" (95% interval over its {n} files: {interval[0]:.3f}-{interval[1]:.3f})"


def target_verdict(task: str, model_report: dict, baselines: Mapping[str, dict | None]) -> tuple[bool, str]:
    """(met, one line): the model reaches the target and beats every baseline that was scored; the line
    also gives the bootstrap interval over the split's files (:func:`file_interval`), which the verdict
    does not use."""
    key, title, target = TARGETS[task]
    value = model_report["totals"].get(key)
    if value is None:
        return False, f"{title}: no value; target {target:.2f} **not met**"
    scored = {n: r["totals"].get(key) for n, r in baselines.items() if r is not None}
    best_name, best = max(((n, v) for n, v in scored.items() if v is not None), key=lambda nv: nv[1],
                          default=(None, None))
    reaches = value >= target
    beats = best is None or value > best
    vs = f"best baseline {best_name} {best:.3f}" if best is not None else "no baseline scored"
    met = reaches and beats
    verdict = "**met**" if met else "**not met**"
    why = "" if met else " (" + ", ".join(
        ([] if reaches else [f"below {target:.2f}"]) + ([] if beats else [f"not above {best_name}"])) + ")"
    return met, (f"{title}: model {value:.3f}{interval_text(task, model_report)}, target >= {target:.2f}, {vs}: "
                 f"{verdict}{why}")


def card_table(cards: Mapping[str, object], paths: Mapping[str, Path]) -> list[str]:
    lines = ["| task | model | parameters | MACs per second | ONNX size (KiB) | latency (ms) | lookahead (frames) "
             "| receptive field (frames) | training data | seed | epochs (best) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for task, card in cards.items():
        tr = card.training or {}
        data = tr.get("data")
        if isinstance(data, Mapping):
            data = ", ".join(f"{k}: `{v}`" for k, v in data.items())
        sources = tr.get("data_sources")
        if sources:
            data = f"{data}; sources: {', '.join(map(str, sources))}"
        built = list(map(str, tr.get("train_command") or []))  # the build's command (a resumed run's last)
        max_epochs = built[built.index("--epochs") + 1] if "--epochs" in built[:-1] else tr.get("epochs", "?")
        epochs = f"{max_epochs} ({tr.get('best_epoch', '?')})"
        init = tr.get("init_weights")
        if isinstance(init, Mapping):
            epochs += (f", fine-tuned from `{init.get('path')}` ({init.get('source_epochs_run', '?')} epochs, best "
                       f"{init.get('source_best_epoch', '?')})")
        lines.append(f"| {card.task} | `{Path(paths[task]).name}` | {card.n_parameters:,} | {card.macs_per_second / 1e6:.2f} M "
                     f"| {card.file_bytes / 1024:.1f} | {card.latency_ms:.0f} | {card.lookahead_frames} "
                     f"| {card.receptive_field_frames} | {data or 'not recorded'} | {tr.get('seed', 'not recorded')} "
                     f"| {epochs} |")
    return lines


def command_lines(cards: Mapping[str, object]) -> list[str]:
    lines = []
    for task, card in cards.items():
        tr = card.training or {}
        train_key = "train_command" if tr.get("train_command") else "command"
        for key, what in (("render_command", "render"), (train_key, "train"), ("build_command", "build")):
            cmd = tr.get(key)
            if cmd:
                shown = " ".join(map(str, cmd)) if isinstance(cmd, (list, tuple)) else str(cmd)
                lines.append(f"- {task} ({what}): `{shown}`")
        first = tr.get("command")
        if train_key == "train_command" and first and list(map(str, first[2:4])) == ["--task", card.task] and \
                "--resume" not in first and sorted(map(str, first)) != sorted(map(str, tr["train_command"])):
            lines.append(f"- {task} (the run was started as, then resumed by the build): "
                         f"`{' '.join(map(str, first))}`")
        init = tr.get("init_weights")
        if isinstance(init, Mapping) and init.get("source_command"):
            lines.append(f"- {task} (the run it was fine-tuned from, sha256 {str(init.get('sha256'))[:12]}, was "
                         f"started as): `{' '.join(map(str, init['source_command']))}`")
    return lines or ["- the model cards record no commands"]


# --- the document ---------------------------------------------------------------------------------------
def build_report(
    models: Mapping[str, Path],
    *,
    corpus: Path | None,
    real_dev: Path | None,
    cache: Path | None,
    extra: Sequence[tuple[str, Path] | tuple[str, Path, str]] = (),
    jobs: int = 1,
    skip_baselines: bool = False,
    bench_signal_s: float = 60.0,
    bench_repeats: int = 3,
    bench: bool = True,
    alternatives: Mapping[str, Sequence[Path]] | None = None,
    log=print,
) -> tuple[list[str], dict]:
    """The markdown lines of docs/MODELS.md and a summary {task: {"metric", "value", "target", "met"}}.

    ``alternatives``: more models per task (e.g. the bundled ``drums-live``), scored in the same tables
    below the task's model; the targets judge the task's model only."""
    from models.runtime.card import load_card

    alternatives = {t: [Path(p) for p in ps] for t, ps in (alternatives or {}).items() if t in models}
    cards = {task: load_card(Path(path).with_suffix(".json")) for task, path in models.items()}
    card_paths = dict(models)
    for task, paths in alternatives.items():
        for p in paths:
            cards[p.stem], card_paths[p.stem] = load_card(p.with_suffix(".json")), p

    def alternative_rows(task: str, data: Path) -> list[tuple[str, dict]]:
        rows = []
        for p in alternatives.get(task, ()):
            report, elapsed = score_model(task, p, data, jobs)
            log(f"{task} alternative {p.name} on {data}: analysed and scored in {elapsed:.0f} s")
            rows.append((f"alternative `{p.name}`", report))
        return rows

    lines = [HEADER, "",
             f"Produced by `scripts/models_report.py` on {date.today().isoformat()} ({platform.machine()}, "
             f"Python {platform.python_version()}). Model numbers come from `featherlight analyze` followed by "
             "`featherlight eval --estimates` on the same audio as the DSP baselines (`featherlight eval "
             "--baseline`, see docs/BASELINES.md). `featherlight analyze` decodes chords and pitch over the whole "
             "file (Viterbi); their tables also show the online decoding a live view draws (`--online`); "
             "drums and onsets have one decoding, the online one. Totals over the whole split (frame metrics weighted by "
             "frames, chord metrics by duration, event F1 from summed counts). A target is met when the model "
             "reaches it and beats every baseline on that metric. The 95% interval beside a model's number is a "
             "percentile bootstrap over the split's files (1000 resamples, seeded): how far the number would move on "
             "another split of the same kind and size.", ""]
    summary: dict[str, dict] = {}
    target_lines: list[str] = []
    sections: list[str] = []
    for task, path in models.items():
        test = corpus / task / "test" if corpus is not None else None
        if test is None or not test.is_dir():
            log(f"skipping {task} scores: no test split {test}")
            continue
        model_report, elapsed = score_model(task, Path(path), test, jobs)
        log(f"{task} model: analysed and scored in {elapsed:.0f} s")
        baselines = {name: baseline_scores(task, name, test, cache=cache, jobs=jobs, cache_only=skip_baselines)
                     for name in TABLES[task][0]}
        met, verdict = target_verdict(task, model_report, baselines)
        key, _, target = TARGETS[task]
        summary[task] = {"metric": key, "value": model_report["totals"].get(key), "target": target, "met": met}
        target_lines.append(f"- {task}: {verdict}")
        online_rows = []
        if task in ONLINE_DIFFERS:
            online_report, _ = score_model(task, Path(path), test, jobs, online=True)
            online_rows.append((f"model `{Path(path).name}`, online decoding (live; `--online`)", online_report))
        rows = [(f"**model** `{Path(path).name}`", model_report), *online_rows, *alternative_rows(task, test)] + \
            [(f"baseline {n}", r) for n, r in baselines.items()]
        sections += [f"## {task}: rendered test split", "", f"`{test}`: {minutes_of(test):.1f} minutes of audio.", ""]
        sections += score_table(rows, TABLES[task][1], "system") + ["", f"Target: {verdict}", ""]
        sections += hidden_onset_lines(rows)
    if real_dev is not None and "pitch" in models:
        if not real_dev.is_dir():
            raise ReportError(f"--real-dev {real_dev} is not a folder; give the single-note recordings folder")
        model_report, _ = score_model("pitch", Path(models["pitch"]), real_dev, jobs)
        baselines = {n: baseline_scores("pitch", n, real_dev, cache=cache, jobs=jobs, cache_only=skip_baselines)
                     for n in TABLES["pitch"][0]}
        rows = [(f"**model** `{Path(models['pitch']).name}`", model_report), *alternative_rows("pitch", real_dev)] + \
            [(f"baseline {n}", r) for n, r in baselines.items()]
        sections += ["## pitch: real single-note recordings", "",
                     f"`{real_dev}`: each file scored by the median pitch of its voiced frames "
                     "(`featherlight eval` single-note layout).", ""]
        sections += score_table(rows, SINGLE_NOTE_COLUMNS, "system") + [""]
    for task, folder, *about in extra:
        if task not in models:
            log(f"skipping the held-out set {folder}: no {task} model")
            continue
        if not folder.is_dir():
            raise ReportError(f"--extra {task}={folder}: not a folder; give a dataset folder of audio with labels")
        model_report, _ = score_model(task, Path(models[task]), folder, jobs)
        baselines = {n: baseline_scores(task, n, folder, cache=cache, jobs=jobs, cache_only=skip_baselines)
                     for n in TABLES[task][0]}
        rows = [(f"**model** `{Path(models[task]).name}`", model_report), *alternative_rows(task, folder)] + \
            [(f"baseline {n}", r) for n, r in baselines.items()]
        name = folder.name if folder.name not in ("test", "valid", "train") else f"{folder.parent.name}/{folder.name}"
        what = (about[0] if about and about[0] else
                "how it was made: see the folder's source, e.g. scripts/kit_testset.py")
        sections += [f"## {task}: held-out set `{name}`", "",
                     f"`{folder}`: {minutes_of(folder):.1f} minutes of audio the model was not trained on "
                     f"({what}). No target applies; it shows how far the rendered test split's numbers carry "
                     "to other material.", ""]
        key, title, _ = TARGETS[task]
        value = model_report["totals"].get(key)
        held = ([f"Model {title}: {value:.3f}{interval_text(task, model_report)}.", ""] if value is not None else [])
        sections += score_table(rows, TABLES[task][1], "system") + [""] + held + hidden_onset_lines(rows)
    sections += ["## Model cards", "", *card_table(cards, card_paths), "", "Commands recorded in the cards:", "",
                 *command_lines(cards), ""]
    if bench:
        import bench_models

        results = bench_models.run_benchmark({"models": dict(models)}, bench_models.test_signal(bench_signal_s),
                                             repeats=bench_repeats)
        sections += ["## Speed on one CPU core", "",
                     f"`scripts/bench_models.py`: the {', '.join(models)} models together through the analyser, "
                     f"{platform.processor() or platform.machine()}, process pinned to one core, onnxruntime one "
                     f"intra-op thread; offline over a {bench_signal_s:g} s generated test signal (median of "
                     f"{bench_repeats}), streaming one 10 ms hop per call. Measurements, not tests: they vary with "
                     "the machine and its load.", "", *bench_models.format_tables(results), ""]
        ratio = results[0].offline.real_time_ratio
        speed_met = ratio >= SPEED_TARGET and len(models) == len(TARGETS)
        speed = (f"offline real-time ratio {ratio:.1f}x with {len(models)} model(s), target >= {SPEED_TARGET:.0f}x "
                 f"with all {len(TARGETS)} on one core: {'**met**' if speed_met else '**not met**'}; mean CPU per "
                 f"10 ms hop streaming {results[0].hop['mean_ms']:.3f} ms")
        target_lines.append(f"- speed: {speed}")
        summary["benchmark"] = {"real_time_ratio": ratio, "mean_hop_ms": results[0].hop["mean_ms"], "met": speed_met}
    if target_lines:
        lines += ["## Targets", "", *target_lines, ""]
    lines += sections
    return lines, summary


def write_report(lines: Sequence[str], out: Path, *, overwrite: bool) -> Path:
    """Write atomically; an existing file not generated by this script needs ``overwrite``."""
    from models.errors import OverwriteError
    from models.fileio import atomic_write_text

    if out.is_file() and not overwrite:
        first = out.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
        if first != [HEADER]:
            raise OverwriteError(f"{out} exists and was not written by this script; pass --overwrite to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(out, "\n".join(lines) + "\n", overwrite=True)


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "featherlight" / "baseline-scores"


def main(argv: Sequence[str] | None = None) -> int:
    from models.annotations.types import TASKS
    from models.errors import ConfigError

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, help="folder with <task>/test sub-folders (rendered corpus)")
    parser.add_argument("--real-dev", type=Path, help="single-note real recordings (e.g. ../shared/data/real_dev/pitch)")
    parser.add_argument("--extra", action="append", default=[], metavar="TASK=DIR[::WHAT]",
                        help="also score TASK's model (and baselines) on this held-out dataset folder, e.g. "
                             "drums=DIR from scripts/kit_testset.py; '::WHAT' says in the document what the "
                             "folder holds (repeatable)")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated tasks (default: all with a model)")
    parser.add_argument("--model", action="append", default=[], metavar="TASK=PATH",
                        help="report this model for TASK instead of the bundled one (repeatable)")
    parser.add_argument("--out", type=Path, default=Path("docs/MODELS.md"), help="document to write")
    parser.add_argument("--overwrite", action="store_true", help="replace --out even if this script did not write it")
    parser.add_argument("--cache", type=Path, default=default_cache(),
                        help=f"folder caching baseline scores (default {default_cache()})")
    parser.add_argument("--skip-baselines", action="store_true",
                        help="do not run baselines; use cached scores only (rows without a cache say 'not run')")
    parser.add_argument("--jobs", type=int, default=1, help="files processed in parallel (default 1)")
    parser.add_argument("--no-bench", action="store_true", help="leave out the one-core speed benchmark")
    parser.add_argument("--bench-signal-s", type=float, default=60.0, help="benchmark signal length (default 60 s)")
    parser.add_argument("--bench-repeats", type=int, default=3, help="offline benchmark repeats (default 3)")
    parser.add_argument("--summary-json", type=Path, help="also write the per-task target summary as JSON")
    args = parser.parse_args(argv)
    try:
        from models.runtime.analyze_cli import parse_model_overrides, parse_tasks

        if args.jobs < 1:
            raise ConfigError(f"--jobs must be at least 1, got {args.jobs}")
        if args.corpus is not None and not args.corpus.is_dir():
            raise ConfigError(f"--corpus {args.corpus} is not a folder; give the folder holding <task>/test")
        if args.corpus is None and args.real_dev is None:
            raise ConfigError("nothing to score: give --corpus (and/or --real-dev)")
        tasks = parse_tasks(args.tasks)
        extra = []
        for item in args.extra:
            task, sep, folder = item.partition("=")
            folder, _, about = folder.partition("::")
            if not sep or task not in TASKS or not folder:
                raise ConfigError(f"--extra {item!r}: write TASK=DIR[::WHAT] with TASK one of {', '.join(TASKS)}")
            extra.append((task, Path(folder), about.strip()))
        overrides = parse_model_overrides(args.model)
        from models.runtime.onnx_model import find_bundled_models

        bundled = find_bundled_models()
        models = {t: overrides[t] if t in overrides else bundled[t][0] for t in tasks if t in overrides or bundled.get(t)}
        # the other bundled models of a task (e.g. drums-live) join its tables, unless --model replaced it
        alternatives = {t: bundled[t][1:] for t in models if t not in overrides and len(bundled.get(t, [])) > 1}
        if not models:
            raise ConfigError(f"no model for any of {', '.join(tasks)}: none is bundled; pass --model TASK=PATH")
        for task in tasks:
            if task not in models:
                print(f"no model for {task} (none bundled, no --model): left out of the report", file=sys.stderr)
        for task, path in models.items():
            if not Path(path).is_file() or not Path(path).with_suffix(".json").is_file():
                raise ConfigError(f"model {path} for {task} (or its .json card) not found; check the path")
        lines, summary = build_report(
            models, corpus=args.corpus, real_dev=args.real_dev, cache=args.cache, extra=extra, jobs=args.jobs,
            skip_baselines=args.skip_baselines, bench_signal_s=args.bench_signal_s,
            bench_repeats=args.bench_repeats, bench=not args.no_bench, alternatives=alternatives,
            log=lambda line: print(line, file=sys.stderr))
        out = write_report(lines, args.out, overwrite=args.overwrite)
        if args.summary_json is not None:
            from models.fileio import atomic_write_text

            atomic_write_text(args.summary_json, json.dumps(summary, indent=2) + "\n", overwrite=True)
    except FeatherlightError as exc:
        print(f"models_report: error: {exc}", file=sys.stderr)
        return 2
    for task, s in summary.items():
        if task == "benchmark":
            print(f"speed: {s['real_time_ratio']:.1f}x real time offline, {s['mean_hop_ms']:.3f} ms CPU per hop "
                  f"({'met' if s['met'] else 'NOT met'})")
        else:
            print(f"{task}: {s['metric']} {_number(s['value'])} (target {s['target']:.2f}) "
                  f"{'met' if s['met'] else 'NOT met'}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
