"""scripts/screenshot.py and scripts/bench_gui.py run end to end with the tiny random-weight models:
the screenshot is a real, non-blank picture and is never overwritten silently; the GUI-cost benchmark
prints its table (no timing assertions)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
_LIVE_CONFTEST = REPO / "tests" / "desktop_app" / "live" / "conftest.py"
_spec = importlib.util.spec_from_file_location("_featherlight_live_fixtures_scripts", _LIVE_CONFTEST)
live_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(live_fixtures)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("script_models")
    live_fixtures.write_tiny_models(folder)
    return folder


@pytest.fixture(scope="module")
def wav(tmp_path_factory) -> Path:
    import soundfile as sf

    path = tmp_path_factory.mktemp("script_audio") / "melody.wav"
    sf.write(path, live_fixtures.make_signal(3.0), live_fixtures.SR)
    return path


def run_script(name: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", FEATHERLIGHT_MODEL_DIR="/nonexistent-user-models")
    return subprocess.run([sys.executable, str(REPO / "scripts" / name), *args], capture_output=True, text=True,
                          env=env, timeout=300, cwd=REPO)


def image_pixels(path: Path) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    assert not image.isNull(), f"{path} is not a readable image"
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    data = np.frombuffer(bytes(rgba.constBits())[:rgba.bytesPerLine() * rgba.height()], dtype=np.uint8)
    return data.reshape(rgba.height(), rgba.bytesPerLine())[:, :4 * rgba.width()].reshape(rgba.height(),
                                                                                          rgba.width(), 4)


def test_screenshot_renders_a_real_analysis_and_refuses_to_overwrite(qapp, tmp_path, tiny_models, wav):
    out = tmp_path / "shots" / "main.png"
    done = run_script("screenshot.py", "--audio", str(wav), "--models", str(tiny_models), "--out", str(out),
                      "--size", "900x600")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote {out}"
    pixels = image_pixels(out)
    assert pixels.shape[:2] == (600, 900)
    rgb = pixels[..., :3].reshape(-1, 3).astype(np.float64)
    assert rgb.var(axis=0).sum() > 100.0  # not one flat colour
    colours = np.unique(pixels[..., :3].reshape(-1, 3), axis=0)
    assert len(colours) >= 8, len(colours)
    # the analysis is in the picture: the chord lane's green blocks and the red drum markers
    assert np.any(np.abs(rgb - (164, 208, 152)).max(axis=1) < 30)
    assert np.any((rgb[:, 0] > 180) & (rgb[:, 1] < 90) & (rgb[:, 2] < 90))

    before = out.read_bytes()
    again = run_script("screenshot.py", "--audio", str(wav), "--models", str(tiny_models), "--out", str(out))
    assert again.returncode == 2
    assert "already exists" in again.stderr and "--overwrite" in again.stderr
    assert out.read_bytes() == before


def test_screenshot_errors_name_the_problem(tmp_path, tiny_models, wav):
    done = run_script("screenshot.py", "--audio", str(wav), "--models", str(tmp_path / "nowhere"),
                      "--out", str(tmp_path / "x.png"))
    assert done.returncode == 2 and "--models" in done.stderr and "nowhere" in done.stderr
    done = run_script("screenshot.py", "--audio", str(wav), "--models", str(tiny_models),
                      "--out", str(tmp_path / "x.jpg"))
    assert done.returncode == 2 and "must end in .png" in done.stderr
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "x.jpg").exists()


def test_bench_gui_cost_part_prints_its_table(tiny_models, tmp_path):
    runs = tmp_path / "runs"  # the run-folder layout (<run>/model.onnx + model.json) is accepted too
    for task in ("pitch", "onsets"):
        (runs / task).mkdir(parents=True)
        (runs / task / "model.onnx").write_bytes((tiny_models / f"{task}.onnx").read_bytes())
        (runs / task / "model.json").write_bytes((tiny_models / f"{task}.json").read_bytes())
    done = run_script("bench_gui.py", "--part", "gui", "--models", str(runs), "--duration-s", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("GUI update cost per frame: 121 frames of 16.7 ms, generated 2 s signal")
    assert lines[1] == "  models: pitch=bundled:pitch, onsets=bundled:onsets"
    assert lines[2].startswith("  events drawn: f0 200, notes ")
    for line, name in zip(lines[3:7], ("MainWindow.redraw", "TimelineView.refresh", "Qt paint after redraw",
                                       "total per frame")):
        assert line.split()[0:len(name.split())] == name.split()
        assert "median" in line and "p95" in line and "max" in line and "of a 16.7 ms frame" in line
    assert lines[7].split()[:4] == ["whole", "session", "in", "view"] and "20 full repaints" in lines[7]
    assert len(lines) == 8
