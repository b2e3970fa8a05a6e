"""The live worker in its QThread and the whole-file job: queued events, stats, streaming == offline,
progress, cancel, failures, and the worker module without torch."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QObject, Slot

from desktop_app.live.sources import FileAudioSource
from desktop_app.live.store import AnalysisStore
from desktop_app.live.worker import AnalysisWorker, EventBatch, FileAnalysisJob, FileJobConfig, WorkerConfig, WorkerStats
from models.runtime.analyzer import Analyzer, gather_events

REPO = Path(__file__).resolve().parents[3]
SR = 16000


def assert_same_events(a, b) -> None:
    """Every discrete decision identical; continuous values equal to 1e-6 (see models/runtime/analyzer.py)."""
    np.testing.assert_array_equal(a.f0.times_s, b.f0.times_s)
    np.testing.assert_array_equal(a.f0.voiced, b.f0.voiced)
    np.testing.assert_allclose(a.f0.f0_hz, b.f0.f0_hz, rtol=1e-6, atol=0)
    assert [(n.pitch_midi, n.velocity) for n in a.notes] == [(n.pitch_midi, n.velocity) for n in b.notes]
    np.testing.assert_allclose([(n.onset_s, n.offset_s) for n in a.notes], [(n.onset_s, n.offset_s) for n in b.notes],
                               atol=1e-6, rtol=0)
    assert [c.label for c in a.chords] == [c.label for c in b.chords]
    np.testing.assert_allclose([(c.start_s, c.end_s) for c in a.chords], [(c.start_s, c.end_s) for c in b.chords],
                               atol=1e-6, rtol=0)
    assert [(h.drum, h.velocity) for h in a.drums] == [(h.drum, h.velocity) for h in b.drums]
    np.testing.assert_allclose([h.time_s for h in a.drums], [h.time_s for h in b.drums], atol=1e-6, rtol=0)
    np.testing.assert_allclose(a.onsets, b.onsets, atol=1e-6, rtol=0)


class Collector(QObject):
    """Records what the worker emits, in the GUI (test) thread, and fills a store like the window does."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[EventBatch] = []
        self.stats: list[WorkerStats] = []
        self.failures: list[str] = []
        self.threads: set[int] = set()
        self.store = AnalysisStore()

    @Slot(object)
    def on_events(self, batch: EventBatch) -> None:
        self.threads.add(threading.get_ident())
        self.batches.append(batch)
        self.store.add(batch.events)

    @Slot(object)
    def on_stats(self, stats: WorkerStats) -> None:
        self.stats.append(stats)

    @Slot(str)
    def on_failed(self, message: str) -> None:
        self.failures.append(message)


def connect(worker) -> Collector:
    c = Collector()
    worker.eventsReady.connect(c.on_events)
    worker.stats.connect(c.on_stats)
    worker.failed.connect(c.on_failed)
    return c


@pytest.fixture
def make_worker(qtbot):
    workers = []

    def build(analyzer, source, **config):
        w = AnalysisWorker(analyzer, source, WorkerConfig(**config))
        workers.append(w)
        return w

    yield build
    for w in workers:
        assert w.close(5000)


def test_worker_streams_a_file_source_like_offline_analysis(qtbot, tiny_models, signal_maker, make_worker):
    audio = signal_maker(3.0)
    offline = Analyzer(tiny_models).analyze(audio)
    assert len(offline.notes) and len(offline.drums) and offline.onsets.size and offline.chords  # the check has teeth
    worker = make_worker(Analyzer(tiny_models), FileAudioSource(audio, SR, realtime=False), max_step_s=0.05)
    got = connect(worker)
    with qtbot.waitSignal(worker.endOfStream, timeout=60000):
        worker.start()
    qtbot.waitUntil(lambda: not worker.is_running, timeout=5000)
    assert got.failures == []
    assert got.threads == {threading.get_ident()}  # delivered in the GUI thread through queued signals
    assert len(got.batches) > 10 and got.batches[-1].final and not any(b.final for b in got.batches[:-1])
    assert {b.session for b in got.batches} == {1}
    streamed = gather_events([b.events for b in got.batches], tasks=offline_tasks(tiny_models),
                             duration_s=audio.size / SR)
    assert_same_events(streamed, offline)
    # the store holds the same
    ann = got.store.to_annotation(duration_s=audio.size / SR)
    assert_same_events(ann, offline)
    assert got.store.counts()["f0"] == len(offline.f0)
    assert got.stats and got.stats[-1].overflow_count == 0 and not got.stats[-1].running
    assert all(b.input_to_emit_s is not None and b.input_to_emit_s >= 0 for b in got.batches)


def offline_tasks(models) -> tuple[str, ...]:
    return tuple(models)


def test_worker_resamples_a_44k_source(qtbot, tiny_models, signal_maker, make_worker):
    audio = signal_maker(1.0, sample_rate_hz=44100)
    worker = make_worker(Analyzer(tiny_models), FileAudioSource(audio, 44100, realtime=False))
    got = connect(worker)
    with qtbot.waitSignal(worker.endOfStream, timeout=60000):
        worker.start()
    frames = sum(len(b.events.f0) for b in got.batches)
    assert frames == int(np.ceil(audio.size / 44100 * SR / 160)) or abs(frames - audio.size / 44100 * 100) <= 2
    assert got.failures == []
    assert got.stats[-1].algorithmic_latency_s["onsets"] > Analyzer(tiny_models).latency_s["onsets"]  # + resampler


def test_realtime_worker_emits_stats_and_stops_cleanly(qtbot, tiny_models, signal_maker, make_worker):
    audio = signal_maker(30.0)
    source = FileAudioSource(audio, SR, realtime=True)
    worker = make_worker(Analyzer(tiny_models), source, stats_interval_s=0.2)
    got = connect(worker)
    with qtbot.waitSignal(worker.started, timeout=5000):
        worker.start()
    qtbot.waitUntil(lambda: len(got.stats) >= 2 and got.store.counts()["f0"] > 20, timeout=20000)
    s = got.stats[-1]
    assert s.running and s.session == 1 and 0.0 <= s.cpu_load < 2.0 and s.overflow_count == 0
    assert set(s.algorithmic_latency_s) == {"pitch", "chords", "drums", "onsets"}
    if s.input_to_emit_max_s is not None:
        assert set(s.latency_s) == set(s.algorithmic_latency_s)
        assert s.latency_s["onsets"] >= s.algorithmic_latency_s["onsets"]
    with qtbot.waitSignal(worker.stopped, timeout=5000):
        worker.stop()
    assert not worker.is_running and got.batches[-1].final
    n = len(got.batches)
    worker.stop()  # repeated stops are harmless
    qtbot.wait(100)
    assert len(got.batches) == n and got.failures == []
    assert source.position < audio.size  # it really ran at the clock's pace, not to the end
    # start again: a new session whose stream time starts over
    got.store.clear()
    with qtbot.waitSignal(worker.started, timeout=5000):
        worker.start()
        worker.start()
    qtbot.waitUntil(lambda: got.store.counts()["f0"] > 5, timeout=20000)
    assert got.batches[-1].session == 2
    assert got.store.f0_track().times_s[0] == 0.0
    with qtbot.waitSignal(worker.stopped, timeout=5000):
        worker.stop()
    assert worker.close(5000) and worker.close(5000)


def test_worker_counts_source_overflows_and_keeps_the_time_axis(qtbot, tiny_models, make_worker):
    class GappySource:
        """Delivers 0.1 s blocks at 16 kHz with 0.05 s missing after the first one."""

        sample_rate_hz, at_end = SR, False

        def __init__(self):
            self.calls, self.overflow_count = 0, 0

        def read(self, max_samples):
            self.calls += 1
            if self.calls == 1:
                return np.zeros(1600, np.float32), 0, 0.0
            if self.calls == 2:
                self.overflow_count = 1
                return np.zeros(1600, np.float32), 2400, 0.15
            if self.calls == 3:
                self.at_end = True
            return np.zeros(0, np.float32), 4000, 0.25

    worker = make_worker(Analyzer(tiny_models), GappySource())
    got = connect(worker)
    with qtbot.waitSignal(worker.endOfStream, timeout=20000):
        worker.start()
    qtbot.waitUntil(lambda: not worker.is_running, timeout=5000)
    assert got.stats[-1].overflow_count == 1 and got.stats[-1].gap_samples == 800
    assert got.store.counts()["f0"] == 4000 // 160  # 0.25 s of stream: the gap was filled with silence


def test_worker_reports_a_failing_analyser(qtbot, tiny_models, make_worker):
    source = FileAudioSource(np.full(1600, np.nan, np.float32), SR, realtime=False)
    worker = make_worker(Analyzer(tiny_models), source)
    got = connect(worker)
    with qtbot.waitSignal(worker.failed, timeout=10000) as blocker:
        worker.start()
    assert "not finite" in blocker.args[0]
    qtbot.waitUntil(lambda: not worker.is_running, timeout=5000)


def test_set_analyzer_restarts_with_the_new_models(qtbot, tiny_models, signal_maker, make_worker):
    audio = signal_maker(30.0)
    worker = make_worker(Analyzer(tiny_models), FileAudioSource(audio, SR, realtime=True))
    got = connect(worker)
    with qtbot.waitSignal(worker.started, timeout=5000):
        worker.start()
    qtbot.waitUntil(lambda: got.store.counts()["f0"] > 5, timeout=20000)
    with qtbot.waitSignal(worker.started, timeout=5000):
        worker.set_analyzer(Analyzer({"onsets": tiny_models["onsets"]}))
    assert worker.latency_s.keys() == {"onsets"}
    qtbot.waitUntil(lambda: got.batches[-1].session == 2, timeout=20000)
    assert all(len(b.events.f0) == 0 for b in got.batches if b.session == 2)


# --- whole files ------------------------------------------------------------------------------------
def write_wav(path: Path, audio: np.ndarray, rate: int = SR) -> Path:
    sf.write(path, audio, rate, subtype="FLOAT")
    return path


def test_file_job_progress_and_events_equal_offline(qtbot, tmp_path, tiny_models, signal_maker):
    audio = signal_maker(3.0)
    path = write_wav(tmp_path / "take.wav", audio)
    offline = Analyzer(tiny_models).analyze(audio)
    job = FileAnalysisJob(path, Analyzer(tiny_models), FileJobConfig(chunk_s=0.5))
    progress, batches = [], []
    job.progress.connect(progress.append)
    job.eventsReady.connect(batches.append)
    with qtbot.waitSignal(job.finished, timeout=60000) as blocker:
        job.start()
    assert job.wait(5000) and not job.is_running
    assert progress[0] == 0.0 and progress[-1] == 1.0 and progress == sorted(progress) and len(progress) >= 7
    assert batches[-1].final
    annotation = blocker.args[0]
    assert_same_events(annotation, offline)
    assert annotation.duration_s == pytest.approx(audio.size / SR)
    assert annotation.metadata["source"] == str(path)
    assert_same_events(gather_events([b.events for b in batches], tasks=tuple(tiny_models), duration_s=None), offline)


def test_file_job_cancel(qtbot, tmp_path, tiny_models, signal_maker):
    path = write_wav(tmp_path / "long.wav", signal_maker(20.0))
    job = FileAnalysisJob(path, Analyzer(tiny_models), FileJobConfig(chunk_s=0.1))
    finished = []
    job.finished.connect(finished.append)
    job.progress.connect(lambda p: job.cancel() if p > 0 else None)
    with qtbot.waitSignal(job.cancelled, timeout=60000):
        job.start()
    assert job.wait(5000) and finished == []


def test_file_job_corrupt_file_fails_with_the_loader_message(qtbot, tmp_path, tiny_models):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage" * 4)
    job = FileAnalysisJob(bad, Analyzer(tiny_models))
    done = []
    job.done.connect(lambda: done.append(True))
    with qtbot.waitSignal(job.failed, timeout=30000) as blocker:
        job.start()
    assert "broken.wav" in blocker.args[0]
    assert job.wait(5000)
    qtbot.waitUntil(lambda: done == [True], timeout=5000)


def test_worker_module_imports_without_torch():
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch': raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import desktop_app.live.worker, desktop_app.live.store, desktop_app.live.sources, desktop_app.live.model_choice\n"
        "assert 'torch' not in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok"
