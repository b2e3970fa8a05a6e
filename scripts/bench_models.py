"""Benchmark the task models on one CPU core: offline analysis speed and live (per-hop) cost.

    .venv/bin/python scripts/bench_models.py                        # bundled models, 60 s test signal
    .venv/bin/python scripts/bench_models.py song.flac --repeats 5 --json bench.json
    .venv/bin/python scripts/bench_models.py --compare drums=pruned/drums.onnx   # dense vs pruned

Offline: the whole file through :meth:`Analyzer.analyze` with whole-file decoding (what ``featherlight
analyze`` does: Viterbi for chords and pitch at the end), repeated;
prints the median wall and CPU time, the real-time ratio (audio seconds / CPU seconds; the models issue
asks for >= 50) and each task model's share of the CPU time (the rest is the front-end and decoders).
Streaming: :func:`models.runtime.analyzer.benchmark_hop_cost`, one 10 ms hop per call as in the live
view: mean / median / p95 CPU time per hop and the real-time factor (CPU time / hop duration).

The process pins itself to one core (``os.sched_setaffinity`` where the OS has it) and every
onnxruntime session runs one intra-op thread. With ``--compare TASK=PATH`` a second model set (the
first with those models swapped in) is measured in the same run, interleaved, and the ratios printed.
These are measurements, not tests: numbers vary with the machine and its load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one core: no BLAS thread pools
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

SAMPLE_RATE_HZ = 16000
DEFAULT_SIGNAL_S = 60.0


# --- set-up --------------------------------------------------------------------------------------------
def _set_affinity(cpus: set[int]) -> None:
    """Every thread of this process (BLAS and onnxruntime pools too, not only the calling thread)."""
    tids = [0]
    with contextlib.suppress(OSError):
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    for tid in tids:
        with contextlib.suppress(OSError):  # a thread may have ended meanwhile
            os.sched_setaffinity(tid, cpus)


@contextlib.contextmanager
def one_core() -> Iterator[str]:
    """Pin this process (all its threads) to one CPU, the first it may use, for the ``with`` block;
    yields a description. Threads started inside the block inherit the pinning."""
    if not hasattr(os, "sched_setaffinity"):
        yield "not pinned (no sched_setaffinity on this OS)"
        return
    before = os.sched_getaffinity(0)
    core = min(before)
    _set_affinity({core})
    try:
        yield f"pinned to CPU {core}"
    finally:
        _set_affinity(before)


def parse_model_args(items: Sequence[str], what: str = "--model") -> dict[str, Path]:
    """``["drums=a.onnx"]`` -> ``{"drums": Path("a.onnx")}``, with the CLI's checks and messages."""
    from models.errors import ConfigError
    from models.runtime.analyze_cli import parse_model_overrides

    try:
        return parse_model_overrides(items)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("--model", what)) from None


def resolve_models(tasks: Sequence[str], overrides: Mapping[str, Path]) -> dict[str, Path]:
    """The ONNX path per task: overrides first, else the bundled model (ConfigError when there is none)."""
    from models.runtime.analyze_cli import resolve_model_paths

    return resolve_model_paths(tuple(tasks), dict(overrides))


def load_models(paths: Mapping[str, Path]) -> dict:
    """One single-threaded :class:`OnnxTaskModel` per task."""
    from models.runtime.onnx_model import OnnxTaskModel

    return {task: OnnxTaskModel(path, intra_op_threads=1) for task, path in paths.items()}


def test_signal(duration_s: float = DEFAULT_SIGNAL_S, sample_rate_hz: int = SAMPLE_RATE_HZ, seed: int = 0) -> np.ndarray:
    """A busy music-like signal: a melody of harmonic tones (new note every 250 ms), a triad changing
    every 2 s, kick-like thumps and hat-like noise clicks on an eighth-note grid, and a little noise."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sample_rate_hz))
    t = np.arange(n) / sample_rate_hz
    x = 0.003 * rng.standard_normal(n)
    melody_midi = 60 + rng.integers(0, 13, size=int(duration_s * 4) + 1)
    f0_hz = 440.0 * 2.0 ** ((melody_midi[(t * 4).astype(int)] - 69) / 12)
    phase = 2 * np.pi * np.cumsum(f0_hz) / sample_rate_hz
    x += 0.15 * np.sin(phase) + 0.05 * np.sin(2 * phase) + 0.03 * np.sin(3 * phase)
    roots = 48 + rng.integers(0, 12, size=int(duration_s / 2) + 1)
    chord = (t / 2).astype(int)
    for interval in (0, 4, 7):  # major triads
        f_hz = 440.0 * 2.0 ** ((roots[chord] + interval - 69) / 12)
        x += 0.06 * np.sin(2 * np.pi * np.cumsum(f_hz) / sample_rate_hz)
    step = int(0.25 * sample_rate_hz)
    hit_t = np.arange(int(0.08 * sample_rate_hz)) / sample_rate_hz
    kick = 0.6 * np.sin(2 * np.pi * 60 * hit_t) * np.exp(-hit_t / 0.03)
    hat = 0.2 * rng.standard_normal(hit_t.size) * np.exp(-hit_t / 0.01)
    for k, start in enumerate(range(0, n, step // 2)):
        hit = kick if k % 4 == 0 else hat
        end = min(n, start + hit.size)
        x[start:end] += hit[: end - start]
    return (x / max(1.0, np.abs(x).max())).astype(np.float32)


# --- timing helpers ----------------------------------------------------------------------------------
class _TimedModel:
    """A task model that adds the CPU time of every ``run`` call to ``cpu_s`` (the analyser sees the model)."""

    def __init__(self, model) -> None:
        self._model = model
        self.cpu_s = 0.0
        for name in ("task", "card", "labels", "n_outputs", "lookahead_frames", "n_bins"):
            setattr(self, name, getattr(model, name))

    def initial_state(self):
        return self._model.initial_state()

    def run(self, features, state):
        start = time.process_time()
        try:
            return self._model.run(features, state)
        finally:
            self.cpu_s += time.process_time() - start


@dataclass(frozen=True)
class OfflineResult:
    """Medians over the repeats of one model set analysing one signal offline."""

    audio_s: float
    repeats: int
    wall_s: float
    cpu_s: float
    model_cpu_s: dict[str, float]  # per task, median over repeats
    frontend_cpu_s: float  # the front-end alone over the same audio

    @property
    def real_time_ratio(self) -> float:
        """Audio seconds per CPU second (the models issue asks for >= 50 on one core)."""
        return self.audio_s / self.cpu_s if self.cpu_s > 0 else float("inf")

    @property
    def shares(self) -> dict[str, float]:
        """Fraction of the CPU time per task model, the front-end, and the rest (decoders, glue)."""
        out = {task: s / self.cpu_s for task, s in self.model_cpu_s.items()} if self.cpu_s > 0 else {}
        if self.cpu_s > 0:
            out["front-end"] = self.frontend_cpu_s / self.cpu_s
            out["decoders + rest"] = max(0.0, 1.0 - sum(out.values()))
        return out


@dataclass(frozen=True)
class BenchResult:
    """One model set: its files, offline result and streaming hop cost."""

    label: str
    models: dict[str, str]
    offline: OfflineResult
    hop: dict = field(default_factory=dict)  # HopCost fields + real_time_factor


def _frontend_cpu_s(config, audio: np.ndarray) -> float:
    from models.frontend import FrontEnd

    frontend = FrontEnd(config)
    start = time.process_time()
    frontend.process(audio)
    frontend.flush()
    return time.process_time() - start


class _OfflineBench:
    """Analyser + timed models for one set, timed one repeat at a time (so two sets can interleave)."""

    def __init__(self, models: Mapping[str, object]) -> None:
        from models.runtime.analyzer import Analyzer

        self.timed = {task: _TimedModel(m) for task, m in models.items()}
        self.analyzer = Analyzer(self.timed, sample_rate_hz=SAMPLE_RATE_HZ, whole_file=True)  # as featherlight analyze
        self.walls: list[float] = []
        self.cpus: list[float] = []
        self.model_cpus: dict[str, list[float]] = {task: [] for task in self.timed}

    def once(self, audio: np.ndarray) -> None:
        for m in self.timed.values():
            m.cpu_s = 0.0
        wall0, cpu0 = time.perf_counter(), time.process_time()
        self.analyzer.analyze(audio)
        self.cpus.append(time.process_time() - cpu0)
        self.walls.append(time.perf_counter() - wall0)
        for task, m in self.timed.items():
            self.model_cpus[task].append(m.cpu_s)

    def result(self, audio: np.ndarray) -> OfflineResult:
        return OfflineResult(
            audio_s=audio.size / SAMPLE_RATE_HZ, repeats=len(self.walls),
            wall_s=float(np.median(self.walls)), cpu_s=float(np.median(self.cpus)),
            model_cpu_s={t: float(np.median(v)) for t, v in self.model_cpus.items()},
            frontend_cpu_s=float(np.median([_frontend_cpu_s(self.analyzer.config, audio)
                                            for _ in range(len(self.walls) + 1)][1:])),  # the first warms up
        )


def run_benchmark(
    model_sets: Mapping[str, Mapping[str, Path]],
    audio: np.ndarray,
    *,
    repeats: int = 3,
    stream_s: float = 10.0,
    warmup: bool = True,
) -> list[BenchResult]:
    """Measure each model set (label -> {task: onnx path}) on ``audio`` (16 kHz mono), pinned to one core.

    Offline repeats of the sets are interleaved (set A, set B, A, B, ...) so a change of machine load hits
    both alike; then each set's streaming cost over ``stream_s`` seconds of hops.
    """
    from models.errors import ConfigError
    from models.runtime.analyzer import benchmark_hop_cost

    if repeats < 1:
        raise ConfigError(f"repeats must be at least 1, got {repeats}")
    if not model_sets:
        raise ConfigError("no model set to benchmark; pass at least one {task: path} set")
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    with one_core():
        loaded = {label: load_models(paths) for label, paths in model_sets.items()}
        benches = {label: _OfflineBench(models) for label, models in loaded.items()}
        if warmup:  # first-call allocations and graph set-up stay out of the medians
            for bench in benches.values():
                bench.analyzer.analyze(audio[: SAMPLE_RATE_HZ])
        for _ in range(repeats):
            for bench in benches.values():
                bench.once(audio)
        results = []
        for label, bench in benches.items():
            hop = benchmark_hop_cost(loaded[label], duration_s=stream_s)
            hop_dict = {**asdict(hop), "tasks": list(hop.tasks), "real_time_factor": hop.real_time_factor}
            results.append(BenchResult(label=label, models={t: str(p) for t, p in model_sets[label].items()},
                                       offline=bench.result(audio), hop=hop_dict))
    return results


# --- output --------------------------------------------------------------------------------------------
def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def format_tables(results: Sequence[BenchResult]) -> list[str]:
    """Markdown tables: offline speed, per-task CPU share, streaming hop cost; ratios for two sets."""
    labels = [r.label for r in results]
    lines = [_row(["offline", *labels]), "|---|" + "---|" * len(results)]
    offline_rows = [
        ("audio (s)", lambda r: f"{r.offline.audio_s:.1f}"),
        ("repeats", lambda r: str(r.offline.repeats)),
        ("median wall time (s)", lambda r: f"{r.offline.wall_s:.3f}"),
        ("median CPU time (s)", lambda r: f"{r.offline.cpu_s:.3f}"),
        ("real-time ratio (audio s / CPU s)", lambda r: f"{r.offline.real_time_ratio:.1f}x"),
    ]
    for name, cell in offline_rows:
        lines.append(_row([name, *(cell(r) for r in results)]))
    parts = list(dict.fromkeys(k for r in results for k in r.offline.shares))
    for part in parts:
        lines.append(_row([f"CPU share: {part}",
                           *(f"{100 * r.offline.shares[part]:.1f} %" if part in r.offline.shares else "-" for r in results)]))
    lines += ["", _row(["streaming, one 10 ms hop per call", *labels]), "|---|" + "---|" * len(results)]
    hop_rows = [("hops timed", "n_hops", "{:.0f}"), ("mean CPU per hop (ms)", "mean_ms", "{:.3f}"),
                ("median CPU per hop (ms)", "median_ms", "{:.3f}"), ("p95 CPU per hop (ms)", "p95_ms", "{:.3f}"),
                ("max CPU per hop (ms)", "max_ms", "{:.3f}"), ("front-end alone, mean (ms)", "frontend_mean_ms", "{:.3f}"),
                ("real-time factor (CPU / hop time)", "real_time_factor", "{:.4f}")]
    for name, key, fmt in hop_rows:
        lines.append(_row([name, *(fmt.format(r.hop[key]) for r in results)]))
    if len(results) == 2:
        a, b = results
        lines += ["", f"ratio {a.label} / {b.label}: offline CPU time "
                      f"{a.offline.cpu_s / b.offline.cpu_s:.2f}x, mean hop CPU {a.hop['mean_ms'] / b.hop['mean_ms']:.2f}x"]
        for task in a.offline.model_cpu_s:
            if task in b.offline.model_cpu_s and b.offline.model_cpu_s[task] > 0:
                lines.append(f"  {task} model CPU time: {a.offline.model_cpu_s[task] / b.offline.model_cpu_s[task]:.2f}x")
    return lines


def results_json(results: Sequence[BenchResult], *, source: str, pinning: str) -> dict:
    return {
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version(), "cpu_pinning": pinning},
        "signal": source,
        "sets": [{"label": r.label, "models": r.models,
                  "offline": {**asdict(r.offline), "real_time_ratio": r.offline.real_time_ratio,
                              "shares": r.offline.shares},
                  "streaming": r.hop} for r in results],
    }


def _pinning() -> str:
    with one_core() as text:
        return text


def main(argv: Sequence[str] | None = None) -> int:
    from models.annotations.types import TASKS
    from models.errors import ConfigError, FeatherlightError

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("audio", nargs="?", type=Path, help="audio file to analyse (default: a generated test signal)")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated tasks (default: all four)")
    parser.add_argument("--model", action="append", default=[], metavar="TASK=PATH",
                        help="use this model for TASK instead of the bundled one (repeatable)")
    parser.add_argument("--compare", action="append", default=[], metavar="TASK=PATH",
                        help="also measure a second set: the first with this model for TASK (repeatable); "
                             "prints the ratios")
    parser.add_argument("--signal-s", type=float, default=DEFAULT_SIGNAL_S,
                        help=f"length of the generated test signal in seconds (default {DEFAULT_SIGNAL_S:.0f})")
    parser.add_argument("--repeats", type=int, default=3, help="offline analyses per set (median; default 3)")
    parser.add_argument("--stream-s", type=float, default=10.0,
                        help="seconds of audio streamed hop by hop for the per-hop cost (default 10)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write every number to OUT (JSON)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    args = parser.parse_args(argv)
    try:
        from models.runtime.analyze_cli import parse_tasks

        tasks = parse_tasks(args.tasks)
        base = resolve_models(tasks, parse_model_args(args.model))
        sets = {"models": base}
        compare = parse_model_args(args.compare, "--compare")
        if compare:
            outside = sorted(set(compare) - set(tasks))
            if outside:
                raise ConfigError(f"--compare names {', '.join(outside)}, which is not in --tasks {','.join(tasks)}")
            sets = {"base": base, "compare": {**base, **compare}}
        if args.signal_s <= 0 or args.stream_s <= 0:
            raise ConfigError(f"--signal-s and --stream-s must be positive, got {args.signal_s} and {args.stream_s}")
        if args.json is not None:
            from models.fileio import check_writable

            check_writable([args.json], args.overwrite)
        if args.audio is not None:
            from models.audio import load_audio

            audio = load_audio(args.audio, SAMPLE_RATE_HZ)
            source = str(args.audio)
        else:
            audio = test_signal(args.signal_s)
            source = f"generated test signal, {args.signal_s:g} s (tones, triads, clicks)"
        results = run_benchmark(sets, audio, repeats=args.repeats, stream_s=args.stream_s)
    except FeatherlightError as exc:
        print(f"bench_models: error: {exc}", file=sys.stderr)
        return 2
    pinning = _pinning()
    print(f"signal: {source}; {pinning}; onnxruntime 1 intra-op thread")
    for r in results:
        print(f"{r.label}: " + ", ".join(f"{t}={p}" for t, p in r.models.items()))
    print()
    print("\n".join(format_tables(results)))
    if args.json is not None:
        from models.fileio import atomic_write_text

        text = json.dumps(results_json(results, source=source, pinning=pinning), indent=2) + "\n"
        atomic_write_text(args.json, text, overwrite=args.overwrite)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
