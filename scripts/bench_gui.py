"""Benchmark the live view: GUI update cost per frame, and end-to-end latency from input to screen.

    .venv/bin/python scripts/bench_gui.py                          # both parts, bundled models
    .venv/bin/python scripts/bench_gui.py --models /work/runs      # <task>/model.onnx + model.json folders
    .venv/bin/python scripts/bench_gui.py --part gui --audio song.flac --pace realtime
    .venv/bin/python scripts/bench_gui.py --part live --clicks 40
    .venv/bin/python scripts/bench_gui.py --part live --variants default,live --rounds 3   # side by side

``--models DIR``: a folder of ``<name>.onnx`` + ``<name>.json`` (model cards), or a folder of run folders
each holding ``model.onnx`` + ``model.json`` (what ``featherlight train`` writes); default the bundled
``resources/models``. The model named after each task is used (else the first usable one), as the window
does; ``--variants default,live`` runs the live part with those and with the ``<task>-live`` models of the
same folder (lower lookahead, see docs/APP.md), alternating ``--rounds`` times, and prints each set's
median of run medians and its ratio to the first set.

(a) GUI cost (``--part gui``): the main window is built offscreen at 1400x900 in live-follow mode; the
real :class:`~models.runtime.analyzer.Analyzer` runs over the audio first (``--audio``, default a generated
signal of ``--duration-s`` seconds: a stepping melody, a triad, clicks every 250 ms), cut into the
batches one 60 Hz frame of audio gives. Then, per frame, the batch goes into the store and the script
times ``MainWindow.redraw()`` (which calls ``TimelineView.refresh``, timed on its own too) and the Qt
paint that follows (``processEvents``). Prints median / p95 / max per frame and the share of a 16.7 ms
frame. ``--pace realtime`` waits for each frame's time (as live), ``fast`` (default) does not. Then the
view zooms out to the whole session and ``--whole-frames`` full repaints are timed (what a user looking at
the whole session pays per frame; ``0`` skips it).
``--profile N`` also runs cProfile around the paint of the last 600 frames and prints the N functions
with the most own time, and the paint time per item type (axes by plot row) per frame: where the paint
goes. The profiler slows those frames; the timings above it are taken without it.

(b) Live latency (``--part live``): starts a private JACK server with the dummy driver
(``jackd -n NAME --no-realtime -d dummy -r 48000 -p 512``; JACK_DEFAULT_SERVER is set before
sounddevice is imported), opens the window's live input on it through an AudioCapture subclass that
stamps ``time.perf_counter()`` at the start of every callback block, and plays a click train then tone
bursts from an output stream connected into the capture input with ``jack_connect`` (the clicks are
synthetic kick drums: a click over a falling 150-50 Hz body, see ``live_signal``). The loop delay
(output -> input) is not assumed: the played signal is found in the captured audio by
cross-correlation. For each click: from the callback that received its first sample to the end of the
redraw that first drew an onset (drum) event near it; for each tone: from its first sample's callback
to the redraw that drew the first voiced f0 frame in it. Prints median / p95 per task against the
targets (50 ms onsets and drums, 60 ms pitch), with the algorithmic part (``Analyzer.latency_s``).

These are measurements, not tests: numbers vary with the machine and its load. The capture hook lives
in this script (``StampingCapture``); capture.py is not changed.
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

log = logging.getLogger("bench_gui")

SAMPLE_RATE_HZ = 16000
FRAME_S = 1.0 / 60.0
WINDOW_SIZE = (1400, 900)
TARGETS_MS = {"onsets": 50.0, "drums": 50.0, "pitch": 60.0}
JACK_RATE_HZ = 48000
JACK_PERIOD_SAMPLES = 512


# --- shared helpers (screenshot.py uses them too) --------------------------------------------------------
def generate_signal(duration_s: float, sample_rate_hz: int = SAMPLE_RATE_HZ, seed: int = 0) -> np.ndarray:
    """A melody stepping every 0.5 s (A3..C5), a C major triad from 1.5 s, clicks every 250 ms, a little noise."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sample_rate_hz))
    t = np.arange(n) / sample_rate_hz
    steps = np.array([57, 60, 64, 62, 67, 65, 69, 72])
    midi = steps[(t * 2).astype(int) % steps.size]
    phase = 2 * np.pi * np.cumsum(440.0 * 2 ** ((midi - 69) / 12)) / sample_rate_hz
    x = 0.3 * np.sin(phase) * (t % 0.5 < 0.4)
    x += sum(0.1 * np.sin(2 * np.pi * 440.0 * 2 ** ((m - 69) / 12) * t) for m in (48, 52, 55)) * (t % 4.0 > 1.5)
    x += 0.01 * rng.standard_normal(n)
    click = (np.arange(n) % (sample_rate_hz // 4)) < 24
    x[click] += 0.7
    return x.astype(np.float32)


def resolve_model_dir(folder: str | os.PathLike | None, scratch: Path) -> Path:
    """A folder of ``<name>.onnx`` + ``<name>.json`` for ModelCatalog.

    ``folder`` None: the bundled models. A folder of run folders (``<run>/model.onnx`` + ``model.json``)
    is staged into ``scratch`` as ``<run>.onnx`` / ``<run>.json`` symlinks.
    """
    from desktop_app.live.model_choice import bundled_model_dir
    from models.errors import ConfigError

    if folder is None:
        bundled = bundled_model_dir()
        if bundled is None or not any(bundled.glob("*.onnx")):
            raise ConfigError(f"no bundled models in {bundled}; pass --models DIR (a folder of <task>.onnx + "
                              "<task>.json, or of run folders holding model.onnx + model.json)")
        return bundled
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise ConfigError(f"--models {path}: no such folder; give a folder of <task>.onnx + <task>.json models")
    if any(path.glob("*.onnx")):
        return path
    runs = sorted(p for p in path.iterdir() if (p / "model.onnx").is_file() and (p / "model.json").is_file())
    if not runs:
        raise ConfigError(f"--models {path} holds no .onnx model and no run folder with model.onnx + model.json; "
                          "point it at a folder of <task>.onnx + <task>.json")
    scratch.mkdir(parents=True, exist_ok=True)
    for run in runs:
        (scratch / f"{run.name}.onnx").symlink_to((run / "model.onnx").resolve())
        (scratch / f"{run.name}.json").symlink_to((run / "model.json").resolve())
    return scratch


def make_catalog(model_dir: Path):
    from desktop_app.live.model_choice import ModelCatalog
    from models.errors import ConfigError

    catalog = ModelCatalog(bundled_dir=model_dir, scan_user=False)
    if not catalog.default_choice():
        problems = "; ".join(o.describe() for o in catalog.unusable()) or "no .onnx files"
        raise ConfigError(f"no usable model in {model_dir} ({problems}); give --models a folder with model cards")
    return catalog


def load_or_generate(audio: str | None, duration_s: float) -> tuple[np.ndarray, str]:
    from models.audio import load_audio

    if audio is None:
        return generate_signal(duration_s), f"generated {duration_s:g} s signal (tones + triad + clicks)"
    x = load_audio(audio, SAMPLE_RATE_HZ, mono=True)
    return np.asarray(x, dtype=np.float32), f"{audio} ({x.size / SAMPLE_RATE_HZ:.1f} s)"


def percentiles_ms(values_s) -> tuple[float, float, float]:
    v = np.asarray(values_s, dtype=np.float64) * 1000.0
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    return float(np.median(v)), float(np.percentile(v, 95)), float(v.max())


def get_app(platform: str | None):
    if platform:
        os.environ["QT_QPA_PLATFORM"] = platform
    else:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    def quiet(_mode, _context, message: str) -> None:  # the offscreen plugin's size-hint notice, per window
        if "propagateSizeHints" not in message:
            log.warning("Qt: %s", message)

    qInstallMessageHandler(quiet)
    return QApplication.instance() or QApplication([sys.argv[0]])


def build_window(catalog, **kwargs):
    from desktop_app.main_window import MainWindow

    window = MainWindow(catalog=catalog, device_lister=kwargs.pop("device_lister", lambda: []), **kwargs)
    window.resize(*WINDOW_SIZE)
    window.show()
    return window


# --- (a) GUI cost ----------------------------------------------------------------------------------------
def frame_batches(analyzer, audio: np.ndarray) -> list:
    """The analyser's events per 60 Hz frame of audio (what the live worker would have delivered)."""
    step = int(round(FRAME_S * SAMPLE_RATE_HZ))
    batches = [analyzer.process(audio[i:i + step]) for i in range(0, audio.size, step)]
    batches.append(analyzer.finish())
    return batches


class PaintBreakdown:
    """Time spent in each graphics item type's ``paint()`` (axes by plot row and side) while installed and
    :attr:`on`. Install it before the window is built: PySide binds an item's paint override when the item
    is made."""

    def __init__(self) -> None:
        import pyqtgraph as pg

        from desktop_app.views.chunks import BlockChunk

        self.seconds: dict[str, float] = {}
        self.names: dict[int, str] = {}
        self.on = False
        self._originals = []
        for cls in (pg.AxisItem, pg.ImageItem, pg.PlotCurveItem, pg.ScatterPlotItem, pg.InfiniteLine, BlockChunk):
            original = cls.__dict__.get("paint")
            if original is None:
                continue
            self._originals.append((cls, original))

            def paint(item, painter, option, widget=None, _original=original, _cls=cls):
                if not self.on:
                    return _original(item, painter, option, widget)
                start = time.perf_counter()
                try:
                    return _original(item, painter, option, widget)
                finally:
                    key = self.names.get(id(item), _cls.__name__)
                    self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - start

            cls.paint = paint

    def name_axes(self, timeline) -> None:
        self.names = {id(plot.getAxis(side)): f"axis {row}.{side}" for row, plot in enumerate(timeline.plots)
                      for side in ("left", "bottom")}

    def remove(self) -> None:
        for cls, original in self._originals:
            cls.paint = original
        self._originals = []


def paint_whole_session(app, timeline, duration_s: float, frames: int) -> list[float]:
    """Zoom out to show ``0..duration_s`` and time ``frames`` full synchronous repaints of the view."""
    timeline.set_following(False)
    timeline.set_x_range(0.0, max(duration_s, 1.0))
    app.processEvents()
    viewport = timeline.graphics.viewport()
    times = []
    for _ in range(frames):
        start = time.perf_counter()
        viewport.repaint()
        times.append(time.perf_counter() - start)
    return times


def bench_gui_cost(app, catalog, audio: np.ndarray, source: str, pace: str, profile_rows: int = 0,
                   whole_frames: int = 20) -> dict:
    window = build_window(catalog)
    window.redraw_timer.stop()  # the script calls redraw itself, once per frame
    timeline = window.timeline
    refresh_times: list[float] = []
    original_refresh = timeline.refresh

    def timed_refresh(store):
        start = time.perf_counter()
        drawn = original_refresh(store)
        refresh_times.append(time.perf_counter() - start)
        return drawn

    timeline.refresh = timed_refresh
    analyzer = catalog.build_analyzer(window.choice)
    t0 = time.perf_counter()
    batches = frame_batches(analyzer, audio)
    analysis_s = time.perf_counter() - t0
    window.store.clear(analyzer.tasks)
    timeline.reset(window.store)
    timeline.set_live(True)
    refresh_times.clear()
    app.processEvents()
    redraw_times, paint_times = [], []
    start_clock = time.perf_counter()
    for index, events in enumerate(batches):
        if pace == "realtime":
            delay = start_clock + index * FRAME_S - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        window.store.add(events)
        t_start = time.perf_counter()
        window.redraw()
        t_redrawn = time.perf_counter()
        app.processEvents()  # the paint of what redraw changed
        redraw_times.append(t_redrawn - t_start)
        paint_times.append(time.perf_counter() - t_redrawn)
    counts = window.store.counts()
    whole_times = paint_whole_session(app, timeline, window.store.latest_time_s, whole_frames) if whole_frames else []
    window.close()
    window.deleteLater()
    app.processEvents()
    total = np.asarray(redraw_times) + np.asarray(paint_times)
    print(f"GUI update cost per frame: {len(batches)} frames of {FRAME_S * 1000:.1f} ms, {source}, "
          f"{pace} pacing, window {WINDOW_SIZE[0]}x{WINDOW_SIZE[1]} on {os.environ.get('QT_QPA_PLATFORM')}")
    print(f"  models: {', '.join(f'{t}={k}' for t, k in window.choice.items())}")
    print(f"  events drawn: {', '.join(f'{k} {v}' for k, v in counts.items())} "
          f"(analysis beforehand: {analysis_s:.2f} s, not counted)")
    rows = (("MainWindow.redraw", redraw_times), ("TimelineView.refresh", refresh_times),
            ("Qt paint after redraw", paint_times), ("total per frame", total))
    result = {}
    for name, values in rows:
        median, p95, worst = percentiles_ms(values)
        share = 100.0 * median / (FRAME_S * 1000)
        share95 = 100.0 * p95 / (FRAME_S * 1000)
        print(f"  {name:<24} median {median:7.3f} ms  p95 {p95:7.3f} ms  max {worst:7.3f} ms  "
              f"= {share:5.1f}% (median) / {share95:5.1f}% (p95) of a 16.7 ms frame")
        result[name] = {"median_ms": median, "p95_ms": p95, "max_ms": worst}
    if whole_times:
        median, p95, worst = percentiles_ms(whole_times)
        print(f"  {'whole session in view':<24} median {median:7.3f} ms  p95 {p95:7.3f} ms  max {worst:7.3f} ms  "
              f"(zoomed out to {window.store.latest_time_s:.0f} s: {len(whole_times)} full repaints)")
        result["whole session repaint"] = {"median_ms": median, "p95_ms": p95, "max_ms": worst}
    if profile_rows:
        print(_profile_paint(app, catalog, batches, profile_rows))
    return result


def _profile_paint(app, catalog, batches: list, rows: int, frames: int = 600) -> str:
    """Replay ``batches`` into a second window; cProfile and the paint breakdown run around the paint of the
    last ``frames`` frames (the view as full as in the timed run)."""
    import cProfile
    import io
    import pstats

    breakdown = PaintBreakdown()
    profiler = cProfile.Profile()
    first = max(len(batches) - frames, 0)
    try:
        window = build_window(catalog)
        window.redraw_timer.stop()
        breakdown.name_axes(window.timeline)
        window.store.clear(catalog.build_analyzer(window.choice).tasks)
        window.timeline.reset(window.store)
        window.timeline.set_live(True)
        app.processEvents()
        for index, events in enumerate(batches):
            window.store.add(events)
            window.redraw()
            breakdown.on = index >= first
            if breakdown.on:
                profiler.enable()
            app.processEvents()
            profiler.disable()
        window.close()
        window.deleteLater()
        app.processEvents()
    finally:
        breakdown.remove()
    n = max(len(batches) - first, 1)
    out = io.StringIO()
    out.write(f"Qt paint profile over the last {n} frames, in a second window (cProfile on, so slower than "
              f"above); time in each item type's paint(), ms per frame:\n")
    for key, seconds in sorted(breakdown.seconds.items(), key=lambda kv: -kv[1]):
        out.write(f"  {key:<24} {1000 * seconds / n:7.3f}\n")
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(rows)
    return out.getvalue()


# --- (b) live latency through JACK -----------------------------------------------------------------------
@dataclass(frozen=True)
class JackServer:
    name: str
    env: dict
    process: subprocess.Popen


def start_jack(log_path: Path) -> JackServer:
    for program in ("jackd", "jack_lsp", "jack_connect"):
        if shutil.which(program) is None:
            raise RuntimeError(f"{program} is not installed; sudo apt-get install jackd2 libportaudio2")
    name = f"featherlight_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    env = dict(os.environ, JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1", JACK_NO_AUDIO_RESERVATION="1")
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(["jackd", "-n", name, "--no-realtime", "-d", "dummy", "-r", str(JACK_RATE_HZ),
                                    "-p", str(JACK_PERIOD_SAMPLES)], env=env, stdout=log_file, stderr=subprocess.STDOUT)
    server = JackServer(name, env, process)
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline and process.poll() is None:
        ports = subprocess.run(["jack_lsp"], env=env, capture_output=True, text=True, timeout=10).stdout
        if "system:capture_1" in ports:
            os.environ.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1", JACK_NO_AUDIO_RESERVATION="1")
            return server
        time.sleep(0.2)
    stop_jack(server)
    raise RuntimeError(f"jackd did not start; its log: {log_path.read_text()[-500:]}")


def stop_jack(server: JackServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()  # SIGTERM: jackd shuts down cleanly
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)
    for leftover in Path("/dev/shm").glob(f"jack*_{server.name}_*"):
        leftover.unlink(missing_ok=True)


def jack(*args: str) -> str:
    return subprocess.run(["jack_" + args[0], *args[1:]], capture_output=True, text=True, timeout=10,
                          check=True).stdout


@dataclass(frozen=True)
class LiveSignal:
    samples: np.ndarray  # at JACK_RATE_HZ
    click_starts: np.ndarray  # sample positions in ``samples``
    tone_starts: np.ndarray
    tone_ends: np.ndarray
    tone_hz: np.ndarray


def live_signal(n_clicks: int, n_tones: int, rate_hz: int = JACK_RATE_HZ) -> LiveSignal:
    """0.5 s silence, a synthetic kick drum every 0.4 s, 0.5 s rest, then tone bursts (0.4 s on, 0.4 s off)
    stepping through A3..C5.

    The kick is a 3 ms noisy 3 kHz click (the beater) over a sine body falling from 150 to 50 Hz with a
    40 ms decay: an onset for the onset model and a drum for the drum model. (Until 2026-11-25 the
    click alone was played; the drum models rightly did not always call a 3 kHz blip a drum, and a run
    then matched no drum event at all.)"""
    rng = np.random.default_rng(1)
    click_n = int(0.003 * rate_hz)
    click = 0.8 * np.hanning(click_n) * (np.sin(2 * np.pi * 3000 * np.arange(click_n) / rate_hz)
                                         + 0.5 * rng.standard_normal(click_n))
    t = np.arange(int(0.15 * rate_hz)) / rate_hz
    freq = 50.0 + 100.0 * np.exp(-t / 0.03)
    kick = 0.9 * np.exp(-t / 0.04) * np.sin(2 * np.pi * np.cumsum(freq) / rate_hz)
    kick[: int(0.001 * rate_hz)] *= np.linspace(0.0, 1.0, int(0.001 * rate_hz))  # no step at the start
    kick[:click_n] += click
    kick = kick.astype(np.float32)
    clicks = np.array([int((0.5 + 0.4 * k) * rate_hz) for k in range(n_clicks)], dtype=np.int64)
    tone_begin_s = 0.5 + 0.4 * n_clicks + 0.5
    tones = np.array([int((tone_begin_s + 0.8 * k) * rate_hz) for k in range(n_tones)], dtype=np.int64)
    tone_n = int(0.4 * rate_hz)
    midi = np.array([57, 60, 64, 67, 69, 72])[np.arange(n_tones) % 6]
    freqs = 440.0 * 2 ** ((midi - 69) / 12)
    total = int((tone_begin_s + 0.8 * n_tones + 1.0) * rate_hz)
    x = np.zeros(total, dtype=np.float32)
    for at in clicks:
        x[at:at + kick.size] += kick
    fade = np.minimum(1.0, np.minimum(np.arange(tone_n), np.arange(tone_n)[::-1]) / (0.005 * rate_hz))
    for at, f in zip(tones, freqs):
        x[at:at + tone_n] += (0.4 * fade * np.sin(2 * np.pi * f * np.arange(tone_n) / rate_hz)).astype(np.float32)
    return LiveSignal(x, clicks, tones, tones + tone_n, freqs)


def variant_choice(catalog, variant: str) -> dict[str, str]:
    """The window's default model per task, or with ``variant`` (e.g. "live") the model named
    ``<task>-<variant>`` from the same folder where there is one (the default where there is not)."""
    choice = catalog.default_choice()
    if variant == "default":
        return choice
    for task, key in choice.items():
        wanted = f"{key}-{variant}"
        if any(o.key == wanted and o.usable for o in catalog.options(task)):
            choice[task] = wanted
    return choice


def bench_live_variants(app, catalog, n_clicks: int, n_tones: int, variants: list[str], rounds: int) -> dict:
    """Run the live part ``rounds`` times per variant, the variants alternating (so a busy machine slows all
    of them alike); print per variant and task the median of the run medians, and each variant's ratio to
    the first."""
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    choices = {v: variant_choice(catalog, v) for v in variants}
    for r in range(rounds):
        for v in variants:
            print(f"--- round {r + 1}/{rounds}, models: {v}")
            runs[v].append(bench_live(app, catalog, n_clicks, n_tones, choices[v]))
    summary = {}
    if rounds > 1 or len(variants) > 1:
        print(f"Live latency, median of {rounds} run median(s) per variant (ms; ratio to {variants[0]}):")
    for v in variants:
        summary[v] = {"choice": choices[v], "runs": runs[v]}
        for task in ("onsets", "drums", "pitch"):
            medians = [run[task]["median_ms"] for run in runs[v] if run.get(task) and run[task]["matched"]]
            if not medians:
                continue
            value = float(np.median(medians))
            summary[v][task] = value
            base = summary[variants[0]].get(task)
            ratio = f"  x{value / base:.2f}" if base and v != variants[0] else ""
            if rounds > 1 or len(variants) > 1:
                print(f"  {v:<8} {task:<7} {value:6.1f} ms (runs {', '.join(f'{m:.0f}' for m in medians)}){ratio}"
                      f"  target {TARGETS_MS[task]:.0f} ms")
    return summary


def bench_live(app, catalog, n_clicks: int, n_tones: int, choice: dict[str, str] | None = None) -> dict:
    import sounddevice as sd
    from PySide6.QtCore import QEventLoop, QTimer

    from desktop_app.audio.capture import AudioCapture
    from desktop_app.audio.devices import find_device

    class StampingCapture(AudioCapture):
        """AudioCapture that stamps perf_counter() per callback block and keeps what the worker read."""

        def __init__(self, max_blocks: int = 200000) -> None:
            super().__init__()
            self.block_end = np.zeros(max_blocks, dtype=np.int64)
            self.block_time_s = np.zeros(max_blocks, dtype=np.float64)
            self.n_blocks = 0
            self.pieces: list[tuple[int, np.ndarray]] = []

        def open(self, device=None, channel=None, sample_rate_hz=None, block_size_samples=0):
            return super().open(device, 0 if channel is None else channel, sample_rate_hz, block_size_samples)

        def _callback(self, indata, frames, time_info, status) -> None:
            now = time.perf_counter()
            super()._callback(indata, frames, time_info, status)
            k = self.n_blocks
            if k < self.block_end.shape[0] and self._ring is not None:
                self.block_end[k] = self._ring.samples_written
                self.block_time_s[k] = now
                self.n_blocks = k + 1

        def read(self, max_samples=None):
            samples, first, capture_s = super().read(max_samples)
            if len(samples):
                self.pieces.append((first, np.array(samples, dtype=np.float32, copy=True)))
            return samples, first, capture_s

    class Player:
        def __init__(self, signal: np.ndarray) -> None:
            self.signal, self.position, self.go = signal, 0, threading.Event()

        def callback(self, outdata, frames, time_info, status) -> None:
            outdata.fill(0)
            if self.go.is_set():
                part = self.signal[self.position:self.position + frames]
                outdata[:part.size, 0] = part
                self.position += part.size

    device = find_device("system")
    capture = StampingCapture()
    window = build_window(catalog, device_lister=lambda: [device], capture_factory=lambda: capture)
    if choice is not None:
        window.choice = dict(choice)
        window._apply_choice()
    drawn: dict[str, list[tuple[float, float]]] = {"onsets": [], "drums": [], "f0": []}  # (event time, drawn at)
    timeline, store = window.timeline, window.store
    original_refresh = timeline.refresh
    state = {"version": 0}

    def recording_refresh(store_):
        changes = store_.changes_since(state["version"])
        result = original_refresh(store_)
        now = time.perf_counter()
        state["version"] = changes.version
        a, b = changes.range("onsets")
        if b > a:
            drawn["onsets"] += [(float(t), now) for t in _layer(store_, 'onsets_s')[a:b]]
        a, b = changes.range("drums")
        if b > a:
            drawn["drums"] += [(hit.time_s, now) for hit in _layer(store_, 'drums')[a:b]]
        a, b = changes.range("f0")
        if b > a:
            track = store_.f0_slice(a, b)
            drawn["f0"] += [(float(t), now) for t, f in zip(track.times_s, track.f0_hz) if f > 0]
        return result

    timeline.refresh = recording_refresh
    signal = live_signal(n_clicks, n_tones)
    if not window.start_live():
        raise RuntimeError(f"the window could not start live input: {window.last_error}")
    player = Player(signal.samples)
    output = sd.OutputStream(device=device.index, channels=1, samplerate=JACK_RATE_HZ, dtype="float32",
                             callback=player.callback)
    output.start()
    names = [n.strip() for n in jack("lsp").splitlines() if n.strip()]
    outs = [n for n in names if not n.startswith("system:") and ":out_" in n]
    ins = [n for n in names if not n.startswith("system:") and ":in_" in n]
    if len(outs) != 1 or len(ins) != 1:
        raise RuntimeError(f"expected one output and one input port of ours, JACK lists {names}")
    for line in jack("lsp", "-c", ins[0]).splitlines()[1:]:
        jack("disconnect", line.strip(), ins[0])
    jack("connect", outs[0], ins[0])

    def run_loop(seconds: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    run_loop(0.5)
    player.go.set()
    run_loop(signal.samples.size / JACK_RATE_HZ + 1.0)
    stats_text = window.stats_label.text()
    window.stop_live()
    run_loop(0.3)
    output.stop()
    output.close()
    analyzer = catalog.build_analyzer(window.choice)
    session_start = capture.pieces[0][0] if capture.pieces else 0
    window.close()
    app.processEvents()

    # where the played signal lies in the captured audio (the loop delay is not assumed)
    first = capture.pieces[0][0]
    end = max(f + p.size for f, p in capture.pieces)
    captured = np.zeros(end - first, dtype=np.float32)
    for f, p in capture.pieces:
        captured[f - first:f - first + p.size] = p
    offset = locate(captured, signal.samples) + first  # capture index of played sample 0
    blocks_end = capture.block_end[:capture.n_blocks]
    blocks_time = capture.block_time_s[:capture.n_blocks]

    def callback_time(capture_index: int) -> float:
        k = int(np.searchsorted(blocks_end, capture_index, side="right"))  # first block ending after it
        return float(blocks_time[min(k, blocks_time.size - 1)])

    def stream_time(capture_index: int) -> float:
        return (capture_index - session_start) / JACK_RATE_HZ

    results = {}
    for task, layer, starts, ends, window_s in (
            ("onsets", "onsets", signal.click_starts, None, (-0.03, 0.08)),
            ("drums", "drums", signal.click_starts, None, (-0.03, 0.08)),
            ("pitch", "f0", signal.tone_starts, signal.tone_ends, (-0.02, None))):
        if task not in window.choice:
            results[task] = None
            continue
        events = np.array(drawn[layer]) if drawn[layer] else np.zeros((0, 2))
        latencies = []
        for k, start in enumerate(starts):
            t = stream_time(int(start) + offset)
            hi = t + window_s[1] if ends is None else stream_time(int(ends[k]) + offset)
            near = events[(events[:, 0] >= t + window_s[0]) & (events[:, 0] <= hi)] if events.size else events
            if near.size:
                latencies.append(float(near[:, 1].min()) - callback_time(int(start) + offset))
        results[task] = (latencies, len(starts))
    loop_delay_ms = 1000.0 * (offset - session_start) / JACK_RATE_HZ
    print(f"End-to-end latency, live through JACK dummy ({JACK_RATE_HZ} Hz, period {JACK_PERIOD_SAMPLES}): "
          f"{n_clicks} clicks, {n_tones} tones; from the callback receiving the first sample to the redraw "
          f"drawing its event")
    print(f"  models: {', '.join(f'{t}={k}' for t, k in window.choice.items())}")
    print(f"  played signal found {loop_delay_ms:.0f} ms into the stream; status bar said: {stats_text}")
    algorithmic = dict(analyzer.latency_s)
    if analyzer.f0_latency_s is not None:
        algorithmic["pitch"] = analyzer.f0_latency_s
    summary = {}
    for task, found in results.items():
        if found is None:
            print(f"  {task:<7} no model")
            continue
        latencies, expected = found
        median, p95, _ = percentiles_ms(latencies)
        target = TARGETS_MS[task]
        verdict = "meets" if latencies and p95 <= target else ("median meets" if latencies and median <= target
                                                               else "misses")
        print(f"  {task:<7} median {median:6.1f} ms  p95 {p95:6.1f} ms  ({len(latencies)}/{expected} events "
              f"matched)  target {target:.0f} ms: {verdict}  algorithmic part "
              f"{1000 * algorithmic.get(task, float('nan')):.0f} ms")
        summary[task] = {"median_ms": median, "p95_ms": p95, "matched": len(latencies), "expected": expected,
                         "algorithmic_ms": 1000 * algorithmic.get(task, float("nan"))}
    return summary


def _layer(store, name: str):
    """A store layer whether the store exposes it as a property or a method."""
    value = getattr(store, name)
    return value() if callable(value) else value


def locate(captured: np.ndarray, played: np.ndarray) -> int:
    """Index in ``captured`` where ``played`` starts (FFT cross-correlation)."""
    n = captured.size + played.size
    size = 1 << int(np.ceil(np.log2(n)))
    corr = np.fft.irfft(np.fft.rfft(captured, size) * np.conj(np.fft.rfft(played, size)), size)
    lag = int(np.argmax(corr[:captured.size]))
    return lag


# --- main ------------------------------------------------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", help="folder of <task>.onnx + <task>.json (or of run folders); default bundled")
    parser.add_argument("--part", choices=("gui", "live", "all"), default="all")
    parser.add_argument("--audio", help="audio file for the GUI cost part (default: a generated signal)")
    parser.add_argument("--duration-s", type=float, default=60.0, help="length of the generated signal")
    parser.add_argument("--pace", choices=("fast", "realtime"), default="fast")
    parser.add_argument("--clicks", type=int, default=20, help="clicks played in the live part")
    parser.add_argument("--tones", type=int, default=12, help="tone bursts played in the live part")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="gui part: also profile the paint of the last 600 frames, print the top N functions")
    parser.add_argument("--whole-frames", type=int, default=20, metavar="N",
                        help="gui part: time N full repaints zoomed out to the whole session (0: skip)")
    parser.add_argument("--variants", default="default",
                        help="live part: comma-separated model sets, alternating: 'default' (the model named after "
                             "each task) and e.g. 'live' (<task>-live where the folder has one), e.g. default,live")
    parser.add_argument("--rounds", type=int, default=1, help="live part: runs per variant (default 1)")
    parser.add_argument("--platform", help="Qt platform (default offscreen)")
    parser.add_argument("--json", help="also write the results to this JSON file (refuses to overwrite)")
    args = parser.parse_args(argv)
    if args.profile < 0:
        parser.error(f"--profile takes a number of functions to print, 0 or more (got {args.profile})")
    if args.whole_frames < 0:
        parser.error(f"--whole-frames takes a number of repaints, 0 or more (got {args.whole_frames})")
    if args.rounds < 1 or not [v for v in args.variants.split(",") if v.strip()]:
        parser.error(f"--rounds must be at least 1 and --variants name a model set (got {args.rounds}, "
                     f"{args.variants!r})")
    if args.duration_s <= 0 or args.clicks < 1 or args.tones < 1:
        parser.error(f"--duration-s, --clicks and --tones must be positive (got {args.duration_s}, {args.clicks}, "
                     f"{args.tones})")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    scratch = Path(tempfile.mkdtemp(prefix="featherlight_bench_gui_"))
    server = None
    try:
        if args.part in ("live", "all"):  # before sounddevice is imported anywhere
            server = start_jack(scratch / "jackd.log")
            # stopped at exit, after sounddevice's own exit handler (registered later, run earlier) has
            # terminated PortAudio: a JACK client whose server vanished first aborts the process
            atexit.register(stop_jack, server)
        from models.errors import FeatherlightError

        try:
            catalog = make_catalog(resolve_model_dir(args.models, scratch / "models"))
            app = get_app(args.platform)
            results = {}
            if args.part in ("gui", "all"):
                audio, source = load_or_generate(args.audio, args.duration_s)
                results["gui"] = bench_gui_cost(app, catalog, audio, source, args.pace, args.profile,
                                                args.whole_frames)
            if args.part in ("live", "all"):
                variants = [v.strip() for v in args.variants.split(",") if v.strip()]
                results["live"] = bench_live_variants(app, catalog, args.clicks, args.tones, variants, args.rounds)
            if args.json:
                from models.fileio import atomic_write_text

                atomic_write_text(args.json, json.dumps(results, indent=2))
        except FeatherlightError as exc:
            print(f"bench_gui: {exc}", file=sys.stderr)
            return 2
    except RuntimeError as exc:  # JACK missing or not starting, the live input refused
        print(f"bench_gui: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
