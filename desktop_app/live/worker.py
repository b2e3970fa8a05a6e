"""Analysis off the GUI thread: the live worker and the whole-file job (PySide6; never torch).

:class:`AnalysisWorker` lives in its own ``QThread``. Once started it polls an
:class:`~desktop_app.live.sources.AudioSource` every few milliseconds, resamples to the models' rate
(:class:`~desktop_app.audio.resample.PolyphaseResampler`, about 1.6 ms of delay, when the source rate
differs), feeds the :class:`~models.runtime.analyzer.Analyzer` and emits :class:`EventBatch` objects
through ``eventsReady`` (queued into the GUI thread), plus a :class:`WorkerStats` through ``stats`` twice
a second: CPU load of the worker thread, input-to-event latency per task and the source's overflow
count. ``start()``, ``stop()``, ``set_analyzer()`` and ``set_source()`` may be called from any thread,
any number of times; they only post a request.

:class:`FileAnalysisJob` analyses a whole file in a background thread (``load_audio``, then the same
analyser in chunks) with progress, cancel, ``finished(Annotation)`` and ``failed(message)``.

Times in events are stream times: seconds since the first sample the analyser got after ``start()``.
A batch carries ``session`` (one per start); a GUI that restarts drops batches of older sessions.
"""

from __future__ import annotations

import dataclasses

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Qt, Signal, Slot

from models.audio import load_audio
from models.errors import ConfigError, FeatherlightError
from models.runtime.analyzer import AnalysisEvents, Analyzer, gather_events

from desktop_app.audio.resample import PolyphaseResampler, ResamplerDesign
from desktop_app.live.sources import AudioSource

__all__ = ["AnalysisWorker", "EventBatch", "FileAnalysisJob", "FileJobConfig", "WorkerConfig", "WorkerStats"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    """Settings of the live worker (defaults in one place)."""

    poll_interval_ms: int = 4  # how often the source is polled when it had nothing more to give
    max_step_s: float = 0.2  # audio analysed per step before control returns to the thread's event loop
    stats_interval_s: float = 0.5
    emit_idle_interval_s: float = 0.05  # emit a batch without events this often (stream time keeps moving)
    max_gap_fill_s: float = 2.0  # dropped samples up to this long are replaced by silence (time axis kept)
    # The live resampler to the models' rate: a Kaiser-windowed polyphase FIR with a passband to 0.45 and
    # a stopband from 0.55 of the lower rate (7.2 / 8.8 kHz at 16 kHz: the front-end's top bin is 7.04 kHz),
    # 80 dB. It holds 1.6 ms of audio back at 48 -> 16 kHz, where soxr held 16.3 ms (MQ) or 29.8 ms (HQ);
    # files are still read with soxr HQ.
    resampler: ResamplerDesign = ResamplerDesign()
    finish_on_stop: bool = True  # on stop, flush the analyser so pending notes/chords become final

    def __post_init__(self) -> None:
        if self.poll_interval_ms < 1 or self.max_step_s <= 0 or self.stats_interval_s <= 0:
            raise ConfigError(f"worker settings must be positive: poll_interval_ms={self.poll_interval_ms}, "
                              f"max_step_s={self.max_step_s}, stats_interval_s={self.stats_interval_s}")


@dataclass(frozen=True, eq=False)
class EventBatch:
    """Events of one analyser call plus when they were captured and emitted.

    ``newest_capture_s``: ``time.monotonic()`` capture time of the newest sample fed before these
    events were final (None in a file job); ``input_to_emit_s``: from then to the emission.
    ``final``: the batch of ``Analyzer.finish()`` (end of file or stop).
    """

    events: AnalysisEvents
    session: int
    emitted_s: float
    newest_capture_s: float | None = None
    input_to_emit_s: float | None = None
    stream_start_s: float | None = None  # capture time of stream sample 0 (maps stream time to the clock)
    final: bool = False


@dataclass(frozen=True)
class WorkerStats:
    """Health of the live analysis, for the status bar.

    ``cpu_load``: worker-thread CPU seconds per wall second since the previous stats (1.0 = one core
    busy). ``input_to_emit_s``: mean and max over that interval (None before any batch).
    ``latency_s``: per task, max input-to-emit + the analyser's algorithmic latency (front-end, model
    lookahead, decoder delay) + the resampler's delay; empty when no event was emitted in the interval
    (``algorithmic_latency_s`` alone is always filled).
    """

    session: int
    cpu_load: float
    input_to_emit_mean_s: float | None
    input_to_emit_max_s: float | None
    latency_s: dict[str, float]
    overflow_count: int
    gap_samples: int
    stream_time_s: float
    running: bool
    algorithmic_latency_s: dict[str, float] = field(default_factory=dict)


def _with_held_features(held: list[AnalysisEvents], events: AnalysisEvents) -> AnalysisEvents:
    """``events`` with the features of the feature-only batches ``held`` (in stream order) in front."""
    parts = [e.features for e in held] + ([events.features] if events.n_features else [])
    return dataclasses.replace(events, features=np.concatenate(parts), first_frame=held[0].first_frame)


def _mono_float32(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples)
    if x.ndim == 2:  # (frames, channels) from a capture that kept several channels
        x = x.mean(axis=1) if x.shape[1] > 1 else x[:, 0]
    return np.ascontiguousarray(x, dtype=np.float32).reshape(-1)


class AnalysisWorker(QObject):
    """Live analysis in its own thread (see the module docstring).

    The worker object stays in the thread that made it (the GUI thread); the analysis runs in a
    ``QThread`` it owns, in an inner object moved there, whose signals are re-emitted here through
    queued connections. So every public signal is emitted in the GUI thread, and any slot, lambda
    included, runs there.

    Signals: ``eventsReady(EventBatch)``, ``stats(WorkerStats)``, ``failed(str)`` (the worker stops),
    ``endOfStream()`` (a source with ``at_end`` ran dry; the final batch was emitted), ``started()`` and
    ``stopped()``. Call :meth:`close` before dropping the worker: it ends the thread.
    """

    eventsReady = Signal(object)
    stats = Signal(object)
    failed = Signal(str)
    endOfStream = Signal()
    started = Signal()
    stopped = Signal()

    def __init__(self, analyzer: Analyzer, source: AudioSource, config: WorkerConfig = WorkerConfig(),
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self._core = _LiveCore(analyzer, source, config)
        self._thread = QThread()
        self._thread.setObjectName("featherlight-analysis")
        self._core.moveToThread(self._thread)
        queued = Qt.ConnectionType.QueuedConnection
        for name in ("eventsReady", "stats", "failed", "endOfStream", "started", "stopped"):
            getattr(self._core, name).connect(getattr(self, name), queued)
        self._thread.start()

    @property
    def is_running(self) -> bool:
        """Whether the analysis thread is analysing (it may not have emitted ``started`` here yet)."""
        return self._core.running_flag.is_set()

    @property
    def latency_s(self) -> dict[str, float]:
        """The current analyser's algorithmic latency per task (seconds)."""
        return dict(self._core.analyzer.latency_s)

    def start(self) -> None:
        """Start analysing (a no-op when running). Starts a new session: stream time 0 is the next sample."""
        self._core.request_start()

    def stop(self) -> None:
        """Stop analysing (a no-op when stopped); with ``finish_on_stop`` the last events are flushed first."""
        self._core.request_stop()

    def set_analyzer(self, analyzer: Analyzer) -> None:
        """Use another analyser (other models); a running worker restarts with it (new session)."""
        self._core.request_replace(analyzer, None)

    def set_source(self, source: AudioSource) -> None:
        """Read another source (another device or file); a running worker restarts with it (new session)."""
        self._core.request_replace(None, source)

    def close(self, timeout_ms: int = 5000) -> bool:
        """Stop (flushing) and end the thread; True when it ended within ``timeout_ms``. Unusable after."""
        if not self._thread.isRunning():
            return True
        self._core.request_close(QThread.currentThread())  # blocks until the analysis thread has stopped
        self._thread.quit()
        return bool(self._thread.wait(timeout_ms))


class _LiveCore(QObject):
    """The part of :class:`AnalysisWorker` that lives in the analysis thread."""

    eventsReady = Signal(object)
    stats = Signal(object)
    failed = Signal(str)
    endOfStream = Signal()
    started = Signal()
    stopped = Signal()

    _startRequested = Signal()
    _stopRequested = Signal()
    _replaceRequested = Signal(object, object)
    _closeRequested = Signal(object)

    def __init__(self, analyzer: Analyzer, source: AudioSource, config: WorkerConfig) -> None:
        super().__init__()
        self.analyzer = analyzer
        self._source = source
        self.config = config
        self._stop_flag = threading.Event()
        self.running_flag = threading.Event()
        self._session = 0
        self._timer: QTimer | None = None
        queued = Qt.ConnectionType.QueuedConnection
        self._startRequested.connect(self._on_start, queued)
        self._stopRequested.connect(self._on_stop, queued)
        self._replaceRequested.connect(self._on_replace, queued)
        self._closeRequested.connect(self._on_close, Qt.ConnectionType.BlockingQueuedConnection)

    # --- requests, from any thread but this one ---------------------------------------------------------
    def request_start(self) -> None:
        self._stop_flag.clear()
        self._startRequested.emit()

    def request_stop(self) -> None:
        self._stop_flag.set()
        self._stopRequested.emit()

    def request_replace(self, analyzer: Analyzer | None, source: AudioSource | None) -> None:
        self._replaceRequested.emit(analyzer, source)

    def request_close(self, home: QThread) -> None:
        if QThread.currentThread() is self.thread():
            raise ConfigError("AnalysisWorker.close() was called from the analysis thread; call it from the "
                              "thread that made the worker (the GUI thread)")
        self._stop_flag.set()
        self._closeRequested.emit(home)

    @Slot(object)
    def _on_close(self, home: QThread) -> None:
        self._on_stop()
        if self._timer is not None:
            self._timer.stop()
            self._timer.deleteLater()
            self._timer = None
        self.moveToThread(home)  # the core outlives its thread; Qt wants it owned by a living thread

    # --- worker thread --------------------------------------------------------------------------------
    @Slot()
    def _on_start(self) -> None:
        if self.running_flag.is_set() or self._stop_flag.is_set():
            return
        self._session += 1
        self.analyzer.reset()
        rate_in = int(self._source.sample_rate_hz)
        rate_out = int(self.analyzer.sample_rate_hz)
        self._resampler = None
        self._resampler_delay_s = 0.0
        if rate_in != rate_out:
            self._resampler = PolyphaseResampler(rate_in, rate_out, self.config.resampler)
            self._resampler_delay_s = self._resampler.delay_s
        self._rate_in = rate_in
        self._next_index: int | None = None
        self._stream_start_s: float | None = None
        self._newest_capture_s: float | None = None
        self._gap_samples = 0
        self._last_emit_s = 0.0
        self._held_features: list[AnalysisEvents] = []  # feature-only batches waiting for the next emit
        self._stats_wall_s = time.monotonic()
        self._stats_cpu_s = time.thread_time()
        self._delays: list[float] = []
        self._stream_time_s = 0.0
        self.running_flag.set()
        if self._timer is None:
            self._timer = QTimer(self)
            self._timer.setTimerType(Qt.TimerType.PreciseTimer)
            self._timer.timeout.connect(self._step)
        self._timer.start(self.config.poll_interval_ms)
        log.info("analysis started (session %d, %d Hz source, tasks %s)", self._session, rate_in,
                 ", ".join(self.analyzer.tasks))
        self.started.emit()

    @Slot()
    def _on_stop(self) -> None:
        if not self.running_flag.is_set():
            return
        if self.config.finish_on_stop:
            try:
                self._finish_stream()
            except Exception as exc:  # noqa: BLE001 - report, never leave the thread in a broken state
                self._report_failure(exc)
        self._halt()

    @Slot(object, object)
    def _on_replace(self, analyzer: Analyzer | None, source: AudioSource | None) -> None:
        was_running = self.running_flag.is_set()
        if was_running:
            self._on_stop()
        if analyzer is not None:
            self.analyzer = analyzer
        if source is not None:
            self._source = source
        if was_running:
            self._stop_flag.clear()
            self._on_start()

    def _halt(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self.running_flag.is_set():
            self.running_flag.clear()
            self._emit_stats()
            log.info("analysis stopped (session %d)", self._session)
            self.stopped.emit()

    @Slot()
    def _step(self) -> None:
        if not self.running_flag.is_set():
            return
        try:
            self._pull_and_analyse()
        except Exception as exc:  # noqa: BLE001 - a failing model must not kill the thread silently
            self._report_failure(exc)
            self._halt()

    def _report_failure(self, exc: Exception) -> None:
        if isinstance(exc, FeatherlightError):
            message = str(exc)
            log.error("analysis failed: %s", message)
        else:
            message = f"analysis failed: {type(exc).__name__}: {exc}"
            log.exception("analysis failed")
        self.failed.emit(message)

    def _pull_and_analyse(self) -> None:
        budget = max(1, int(self.config.max_step_s * self._rate_in))
        more = False
        while budget > 0 and not self._stop_flag.is_set():
            samples, first, capture_s = self._source.read(budget)
            if len(samples) == 0:
                break
            x = _mono_float32(samples)
            budget -= x.size
            more = budget <= 0
            if self._stream_start_s is None:
                self._stream_start_s = capture_s
                self._next_index = first
            gap = first - self._next_index
            if gap > 0:
                self._fill_gap(gap)
            self._next_index = first + x.size
            self._newest_capture_s = capture_s + (x.size - 1) / self._rate_in
            events = self.analyzer.process(self._resample(x))
            self._maybe_emit(events)
        if getattr(self._source, "at_end", False) and not self._stop_flag.is_set() and self._source_drained():
            self._finish_stream()
            self._halt()
            self.endOfStream.emit()
            return
        now = time.monotonic()
        if now - self._stats_wall_s >= self.config.stats_interval_s:
            self._emit_stats()
        if self._timer is not None:  # keep reading at once while a backlog is waiting
            self._timer.setInterval(0 if more else self.config.poll_interval_ms)

    def _source_drained(self) -> bool:
        available = getattr(self._source, "available", None)
        return available is None or available() == 0

    def _fill_gap(self, gap: int) -> None:
        self._gap_samples += gap
        fill = min(gap, int(self.config.max_gap_fill_s * self._rate_in))
        log.warning("input dropped %d samples; filling %d with silence to keep the time axis", gap, fill)
        if fill:
            self._maybe_emit(self.analyzer.process(self._resample(np.zeros(fill, dtype=np.float32))))

    def _resample(self, x: np.ndarray) -> np.ndarray:
        return x if self._resampler is None else self._resampler.process(x)

    def _maybe_emit(self, events: AnalysisEvents, final: bool = False) -> None:
        now = time.monotonic()
        self._stream_time_s = events.latest_time_s if not final else self._stream_time_s
        if events.is_empty and not final and now - self._last_emit_s < self.config.emit_idle_interval_s:
            if events.n_features:  # the spectrogram needs every frame: hand them out with the next batch
                self._held_features.append(events)
            return
        if self._held_features:
            events = _with_held_features(self._held_features, events)
            self._held_features = []
        delay = None if self._newest_capture_s is None else now - self._newest_capture_s
        if delay is not None and not events.is_empty:
            self._delays.append(delay)
        self._last_emit_s = now
        self.eventsReady.emit(EventBatch(events=events, session=self._session, emitted_s=now,
                                         newest_capture_s=self._newest_capture_s, input_to_emit_s=delay,
                                         stream_start_s=self._stream_start_s, final=final))

    def _finish_stream(self) -> None:
        tail = self._resampler.flush() if self._resampler is not None else None
        if tail is not None and tail.size:
            self._maybe_emit(self.analyzer.process(tail))
        self._maybe_emit(self.analyzer.finish(), final=True)

    def _emit_stats(self) -> None:
        now, cpu = time.monotonic(), time.thread_time()
        wall = max(now - self._stats_wall_s, 1e-9)
        load = (cpu - self._stats_cpu_s) / wall
        self._stats_wall_s, self._stats_cpu_s = now, cpu
        delays = self._delays
        self._delays = []
        mean = float(np.mean(delays)) if delays else None
        worst = float(np.max(delays)) if delays else None
        algorithmic = {task: value + self._resampler_delay_s for task, value in self.analyzer.latency_s.items()}
        latency = {task: value + (worst or 0.0) for task, value in algorithmic.items()} if delays else {}
        self.stats.emit(WorkerStats(session=self._session, cpu_load=load, input_to_emit_mean_s=mean,
                                    input_to_emit_max_s=worst, latency_s=latency,
                                    overflow_count=int(self._source.overflow_count), gap_samples=self._gap_samples,
                                    stream_time_s=self._stream_time_s, running=self.running_flag.is_set(),
                                    algorithmic_latency_s=algorithmic))


# --- whole files --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileJobConfig:
    chunk_s: float = 1.0  # audio per analyser call (and per progress step)
    max_duration_s: float | None = 4 * 3600.0

    def __post_init__(self) -> None:
        if self.chunk_s <= 0:
            raise ConfigError(f"chunk_s must be positive, got {self.chunk_s}")


class _FileJobRunner(QObject):
    progress = Signal(float)
    eventsReady = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()

    def __init__(self, path: Path, analyzer: Analyzer, config: FileJobConfig, cancel: threading.Event) -> None:
        super().__init__()
        self._path, self.analyzer, self._config, self._cancel = path, analyzer, config, cancel

    @Slot()
    def run(self) -> None:
        try:
            self._run()
        except FeatherlightError as exc:
            log.error("analysis of %s failed: %s", self._path, exc)
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - the GUI shows it; the thread must end cleanly
            log.exception("analysis of %s failed", self._path)
            self.failed.emit(f"analysis of {self._path} failed: {type(exc).__name__}: {exc}")
        finally:
            self.done.emit()

    def _run(self) -> None:
        analyzer = self.analyzer
        audio = load_audio(self._path, analyzer.sample_rate_hz, mono=True, max_duration_s=self._config.max_duration_s)
        if self._cancel.is_set():
            self.cancelled.emit()
            return
        self.progress.emit(0.0)
        analyzer.reset()
        chunk = max(1, int(self._config.chunk_s * analyzer.sample_rate_hz))
        all_events: list[AnalysisEvents] = []
        for start in range(0, audio.size, chunk):
            if self._cancel.is_set():
                analyzer.reset()
                self.cancelled.emit()
                return
            events = analyzer.process(audio[start : start + chunk])
            all_events.append(events)
            self.eventsReady.emit(EventBatch(events=events, session=0, emitted_s=time.monotonic()))
            self.progress.emit(min(start + chunk, audio.size) / audio.size)
        events = analyzer.finish()
        all_events.append(events)
        self.eventsReady.emit(EventBatch(events=events, session=0, emitted_s=time.monotonic(), final=True))
        self.progress.emit(1.0)
        metadata = analyzer.metadata()
        metadata["source"] = os.fspath(self._path)
        self.finished.emit(gather_events(all_events, tasks=analyzer.tasks, duration_s=audio.size / analyzer.sample_rate_hz,
                                         metadata=metadata))


class FileAnalysisJob(QObject):
    """Analyse one file in a background thread.

    Signals (delivered in the thread that made the job): ``progress(float)`` 0..1, ``eventsReady(EventBatch)``
    per chunk, then exactly one of ``finished(Annotation)``, ``failed(str)`` (the loader's or analyser's
    message) or ``cancelled()``; ``done()`` after any of them. The analyser must not be used elsewhere
    while the job runs. A job runs once; make a new one for another file.
    """

    progress = Signal(float)
    eventsReady = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()

    def __init__(self, path: str | os.PathLike, analyzer: Analyzer, config: FileJobConfig = FileJobConfig(),
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self._cancel = threading.Event()
        self._thread = QThread()
        self._thread.setObjectName("featherlight-file-analysis")
        self._runner = _FileJobRunner(self.path, analyzer, config, self._cancel)
        self._runner.moveToThread(self._thread)
        for name in ("progress", "eventsReady", "finished", "failed", "cancelled", "done"):
            getattr(self._runner, name).connect(getattr(self, name))
        # direct: QThread.quit is thread-safe, and a GUI thread blocked in wait() could not take a queued call
        self._runner.done.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._thread.started.connect(self._runner.run)
        self._started = False

    def start(self) -> None:
        """Begin (a no-op after the first call)."""
        if not self._started:
            self._started = True
            self._thread.start()

    def cancel(self) -> None:
        """Ask the job to stop at the next chunk; ``cancelled()`` follows (unless it had already ended)."""
        self._cancel.set()

    @property
    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, timeout_ms: int = 10000) -> bool:
        """Block until the thread ended (for shutdown and tests); True when it did."""
        if not self._started:
            return True
        return bool(self._thread.wait(timeout_ms))
