"""Tiny random-weight models (one per task) and test signals for the live-pipeline tests.

torch builds the fixtures only; the code under test runs on onnxruntime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SR = 16000
#: Per task: (outputs, activation, model lookahead). Lookaheads differ so alignment bugs show.
TINY = {"pitch": (361, "sigmoid", 2), "chords": (133, "softmax", 0), "drums": (6, "sigmoid", 1),
        "onsets": (1, "sigmoid", 3)}
#: Decoder settings chosen so random weights still give events in every layer.
DECODER = {
    "pitch": {"f0": {"voicing_on": 0.3, "voicing_off": 0.25}, "notes": {"split_frames": 3, "min_note_frames": 3}},
    "chords": {"min_frames": 3, "self_transition_prob": 0.5},
    "drums": {"threshold": 0.3, "delta": 0.02, "delay_frames": 2},
    "onsets": {"threshold": 0.3, "delta": 0.02},
}


def write_tiny_models(folder: Path, tasks=tuple(TINY)) -> dict[str, Path]:
    """``<task>.onnx`` + card per task in ``folder``; returns {task: onnx path}."""
    torch = pytest.importorskip("torch")
    from models.runtime.card import save_card
    from models.training.export import export_onnx, make_card
    from models.training.nets import NetConfig, TaskNet

    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for seed, task in enumerate(tasks):
        n_outputs, activation, lookahead = TINY[task]
        torch.manual_seed(seed)
        config = NetConfig(task=task, n_outputs=n_outputs, output_activation=activation, conv2d_channels=(2, 3),
                           temporal_channels=(8, 8), temporal_kernel=(3, 3), temporal_dilation=(1, 2),
                           dropout=0.0, lookahead_frames=lookahead)
        net = TaskNet(config).eval()
        with torch.no_grad():  # input statistics and weights that make the outputs move with the input
            net.input_norm.running_mean.fill_(2.0)
            net.input_norm.running_var.fill_(4.0)
            for layer in net.temporal:
                layer.conv.weight.mul_(3.0)
            net.head.weight.mul_(6.0)
        path = export_onnx(net, folder / f"{task}.onnx")
        card = make_card(net, path, training={"data": "random weights (test fixture)"}, metrics={},
                         decoder=DECODER[task])
        save_card(card, path.with_suffix(".json"))
        paths[task] = path
    return paths


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("live_models")
    write_tiny_models(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_models(tiny_model_dir):
    from models.runtime.onnx_model import OnnxTaskModel

    return {task: OnnxTaskModel(tiny_model_dir / f"{task}.onnx") for task in TINY}


@pytest.fixture
def analyzer(tiny_models):
    from models.runtime.analyzer import Analyzer

    return Analyzer(tiny_models)


def make_signal(duration_s: float = 3.0, sample_rate_hz: int = SR, seed: int = 0) -> np.ndarray:
    """A melody stepping every 0.5 s, a C major triad from 1.5 s, clicks every 250 ms, a little noise."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * sample_rate_hz) + 37  # not a whole number of hops
    t = np.arange(n) / sample_rate_hz
    midi = np.array([57, 60, 64, 62, 67, 65, 69, 72])[np.minimum((t * 2).astype(int), 7)]
    phase = 2 * np.pi * np.cumsum(440.0 * 2 ** ((midi - 69) / 12)) / sample_rate_hz
    x = 0.3 * np.sin(phase) * (t % 0.5 < 0.4)
    x += sum(0.1 * np.sin(2 * np.pi * 440.0 * 2 ** ((m - 69) / 12) * t) for m in (48, 52, 55)) * (t > 1.5)
    x += 0.01 * rng.standard_normal(n)
    x[(np.arange(n) % (sample_rate_hz // 4)) < max(1, sample_rate_hz * 24 // SR)] += 0.7
    return x.astype(np.float32)


@pytest.fixture
def signal_maker():
    """make_signal(duration_s=3.0, sample_rate_hz=16000, seed=0) -> float32 samples."""
    return make_signal
