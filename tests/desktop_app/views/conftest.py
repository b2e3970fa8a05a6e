"""Fixtures for the view and window tests: the tiny random-weight models and signals of the live tests
(tests/desktop_app/live/conftest.py, loaded by path since tests/ is not a package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from models.annotations.types import ChordSegment, DrumHit, F0Track, Note
from models.runtime.analyzer import AnalysisEvents

_LIVE_CONFTEST = Path(__file__).resolve().parents[1] / "live" / "conftest.py"
_spec = importlib.util.spec_from_file_location("_featherlight_live_fixtures", _LIVE_CONFTEST)
live_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(live_fixtures)

SR = live_fixtures.SR
make_signal = live_fixtures.make_signal
write_tiny_models = live_fixtures.write_tiny_models


@pytest.fixture(scope="session")
def view_model_dir(tmp_path_factory) -> Path:
    """A user model folder holding one tiny model per task."""
    folder = tmp_path_factory.mktemp("view_models")
    write_tiny_models(folder)
    return folder


@pytest.fixture
def user_models(view_model_dir, monkeypatch) -> Path:
    """FEATHERLIGHT_MODEL_DIR pointing at the tiny models; no bundled models."""
    monkeypatch.setenv("FEATHERLIGHT_MODEL_DIR", str(view_model_dir))
    return view_model_dir


@pytest.fixture
def message_boxes(monkeypatch) -> list[tuple[str, str]]:
    """QMessageBox.critical/warning record (title, text) instead of blocking."""
    from PySide6.QtWidgets import QMessageBox

    shown: list[tuple[str, str]] = []

    def record(_parent, title, text, *args, **kwargs):
        shown.append((title, text))
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "critical", staticmethod(record))
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(record))
    return shown



def build_events(*, f0_times_s=(), f0_hz=(), notes=(), chords=(), drums=(), onsets_s=(), current_chord=None,
           latest_time_s=0.0) -> AnalysisEvents:
    f0_times_s = np.asarray(f0_times_s, dtype=np.float64)
    f0 = F0Track(f0_times_s, np.asarray(f0_hz, dtype=np.float64), np.ones(f0_times_s.size))
    return AnalysisEvents(f0=f0, notes=tuple(notes), chords=tuple(chords), current_chord=current_chord,
                          drums=tuple(drums), onsets_s=np.asarray(onsets_s, dtype=np.float64),
                          frames_done=int(round(latest_time_s / 0.01)), latest_time_s=float(latest_time_s))


def sample_events(latest_time_s: float = 4.0) -> AnalysisEvents:
    """Two notes, three chord segments, four drum hits (kick, snare, hihat, hihat), three onsets, and
    100 f0 frames at 10 ms of which the first 60 are voiced at 440 Hz."""
    times = np.arange(100) * 0.01
    f0 = np.where(np.arange(100) < 60, 440.0, -440.0)
    return build_events(
        f0_times_s=times, f0_hz=f0,
        notes=[Note(0.0, 0.6, 69), Note(1.0, 1.5, 60)],
        chords=[ChordSegment(0.0, 1.0, "C:maj"), ChordSegment(1.0, 2.0, "N"), ChordSegment(2.0, 3.0, "A:min")],
        drums=[DrumHit(0.5, "kick"), DrumHit(1.0, "snare"), DrumHit(1.5, "hihat"), DrumHit(2.0, "hihat")],
        onsets_s=[0.0, 1.0, 2.5], current_chord="A:min", latest_time_s=latest_time_s)


@pytest.fixture
def make_events():
    """build_events(f0_times_s=, f0_hz=, notes=, chords=, drums=, onsets_s=, current_chord=, latest_time_s=)."""
    return build_events


@pytest.fixture
def sample():
    """sample_events(latest_time_s=4.0): see its docstring."""
    return sample_events


@pytest.fixture
def write_models():
    """write_tiny_models(folder, tasks=(...)) -> {task: onnx path}."""
    return write_tiny_models


@pytest.fixture
def wav(tmp_path) -> Path:
    """3 s of the live tests' melody + triad + clicks, 16 kHz mono WAV."""
    import soundfile as sf

    path = tmp_path / "melody.wav"
    sf.write(path, make_signal(3.0), SR)
    return path


@pytest.fixture
def melody():
    """make_signal(duration_s=3.0, sample_rate_hz=16000, seed=0) -> float32 samples."""
    return make_signal
