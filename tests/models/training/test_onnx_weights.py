"""Trainable weights rebuilt from an exported model: the same function as the ONNX graph in eval mode,
batch-norm statistics that keep training mode close to it, and clear refusals."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from models.errors import ConfigError
from models.runtime.card import save_card
from models.runtime.onnx_model import OnnxTaskModel
from models.training.config import default_net_config
from models.training.export import export_onnx, make_card
from models.training.nets import TaskNet
from models.training.onnx_weights import net_config_from_card, weights_from_onnx


def features(seed: int, frames: int = 300, n_bins: int = 288) -> np.ndarray:
    """Front-end-like frames: log magnitudes around 2 with a few strong partials."""
    rng = np.random.default_rng(seed)
    x = 2.0 + 0.5 * rng.standard_normal((frames, n_bins))
    x[:, rng.integers(0, n_bins, size=6)] += 3.0
    return np.clip(x, 0.0, None).astype(np.float32)


def trained_like(task: str) -> TaskNet:
    """The task's default network with random weights and batch-norm statistics far from the defaults
    (as after training), so that folding them into the convolutions matters."""
    torch.manual_seed(0)
    net = TaskNet(default_net_config(task))
    with torch.no_grad():
        for norm in [net.input_norm, *net.norm2d, *net.norm1d]:
            norm.running_mean.uniform_(-1.0, 1.0)
            norm.running_var.uniform_(0.2, 3.0)
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
    return net.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exported")
    out = {}
    for task in ("drums", "chords"):
        net = trained_like(task)
        path = export_onnx(net, folder / f"{task}.onnx")
        save_card(make_card(net, path, training={"data": "test"}, metrics={}, decoder={}), path.with_suffix(".json"))
        out[task] = (net, path)
    return out


@pytest.mark.parametrize("task", ["drums", "chords"])
def test_rebuilt_weights_compute_what_the_graph_computes(exported, task):
    original, path = exported[task]
    rebuilt, info = weights_from_onnx(path, [features(1), features(2)])
    assert rebuilt.config == original.config
    assert info["format"] == "onnx" and len(info["sha256"]) == 64 and info["path"] == str(path)
    x = features(3)
    expected = OnnxTaskModel(path).run(x, OnnxTaskModel(path).initial_state())[0]
    with torch.no_grad():
        got = rebuilt.eval()(torch.from_numpy(x).unsqueeze(0))[0].numpy()
        want = original(torch.from_numpy(x).unsqueeze(0))[0].numpy()
    np.testing.assert_allclose(got, expected, atol=2e-5, rtol=0)
    np.testing.assert_allclose(got, want, atol=2e-5, rtol=0)
    # the norms carry the measured statistics, not the defaults
    assert not torch.allclose(rebuilt.norm1d[0].running_var, torch.ones_like(rebuilt.norm1d[0].running_var))


def test_calibrated_norms_keep_training_mode_close_to_the_model(exported):
    _, path = exported["drums"]
    batch = torch.from_numpy(np.stack([features(s) for s in range(10, 18)]))
    with torch.no_grad():
        reference = OnnxTaskModel(path)
        target = np.stack([reference.run(x.numpy(), reference.initial_state())[0] for x in batch])
        errors = {}
        for name, calibration in (("calibrated", [features(s) for s in range(20, 28)]), ("plain", [])):
            net, _ = weights_from_onnx(path, calibration)
            net.train()
            net.dropout.p = 0.0
            errors[name] = float(np.abs(net(batch).numpy() - target).mean())
    assert errors["calibrated"] < 0.25 * errors["plain"], errors


def test_another_lookahead_keeps_the_weights(exported):
    _, path = exported["drums"]
    net, _ = weights_from_onnx(path, lookahead_frames=0)
    assert net.config.lookahead_frames == 0 and net_config_from_card(path).lookahead_frames == 2


def test_refusals_name_the_problem(exported, tmp_path):
    _, path = exported["drums"]
    with pytest.raises(ConfigError, match="no such model file"):
        weights_from_onnx(tmp_path / "missing.onnx")
    lonely = tmp_path / "lonely.onnx"
    shutil.copy(path, lonely)
    with pytest.raises(ConfigError, match="no model card lonely.json"):
        weights_from_onnx(lonely)
    other = tmp_path / "other.onnx"  # the chords card beside the drums graph
    shutil.copy(path, other)
    shutil.copy(exported["chords"][1].with_suffix(".json"), other.with_suffix(".json"))
    with pytest.raises(ConfigError, match="do not match the card's network"):
        weights_from_onnx(other)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a graph")
    shutil.copy(path.with_suffix(".json"), broken.with_suffix(".json"))
    with pytest.raises(ConfigError, match="not a readable ONNX file"):
        weights_from_onnx(broken)
    card = json.loads(path.with_suffix(".json").read_text())
    del card["net"]
    nonet = tmp_path / "nonet.onnx"
    shutil.copy(path, nonet)
    nonet.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ConfigError, match="no usable 'net' settings"):
        weights_from_onnx(nonet)
