"""Training runs on tiny synthetic sets: the run-folder contract, resume == straight, refusals, the CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from models.errors import ConfigError, DatasetError, OverwriteError
from models.training import train as train_module
from models.training.config import TrainConfig
from models.training.nets import NetConfig, TaskNet
from models.training.train import METRIC_BY_TASK, train

CONTRACT = ("config.json", "best.safetensors", "metrics.json", "decoder.json", "last.safetensors",
            "state.json", "log.csv")


def _config(root, task, net, **kwargs):
    values = dict(task=task, train_dir=str(root / "train"), valid_dir=str(root / "valid"), epochs=2,
                  batch_size=4, excerpt_frames=100, device="cpu", net=net.to_dict())
    values.update(kwargs)
    return TrainConfig(**values)


@pytest.mark.parametrize("task", ["pitch", "chords", "drums", "onsets"])
def test_two_epochs_write_the_run_folder_contract(tmp_path, dataset_factory, tiny_net_for, task):
    root = dataset_factory(task, n_train=2, n_valid=1)
    cfg = _config(root, task, tiny_net_for(task))
    run = tmp_path / "run"
    summary = train(cfg, run, progress=False, command=["featherlight", "train", "--task", task])
    for name in CONTRACT:
        assert (run / name).is_file(), name
    assert not list(run.glob("*.next.safetensors"))
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == task and config["seed"] == 0
    assert config["net"] == json.loads(json.dumps(cfg.net_config().to_dict()))
    assert config["data"] == {"train": str(root / "train"), "valid": str(root / "valid")}
    assert config["command"] == ["featherlight", "train", "--task", task]
    net = NetConfig.from_dict(config["net"])
    model = TaskNet(net)
    model.load_state_dict(load_file(str(run / "best.safetensors")))  # loads into the config's net
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["best_epoch"] in (0, 1) and metrics["metric"] == METRIC_BY_TASK[task]
    assert METRIC_BY_TASK[task] in metrics
    decoder = json.loads((run / "decoder.json").read_text())
    expected_keys = {"pitch": {"voicing_on", "voicing_off"}, "chords": {"self_transition_prob"},
                     "drums": {"threshold"}, "onsets": {"threshold"}}[task]
    assert set(decoder) == expected_keys
    if task == "drums":
        assert set(decoder["threshold"]) == {"kick", "snare", "hihat", "tom", "crash", "ride"}
    with open(run / "log.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert set(rows[0]) == {"epoch", "train_loss", "valid_loss", "valid_metric", "lr", "seconds"}
    assert np.isfinite(float(rows[1]["train_loss"]))
    state = json.loads((run / "state.json").read_text())
    assert state["epoch"] == 1 and state["finished"] is True
    assert summary["epochs_run"] == 2 and summary["decoder"] == decoder


def _weights(run, name="last.safetensors"):
    return load_file(str(run / name))


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def _train_killed_while_saving(cfg, run, epoch, monkeypatch):
    """Train ``cfg`` into ``run`` and kill it while it saves ``epoch``: after the *.next checkpoint files,
    before state.json (like kill -9 there)."""
    real_write_json = train_module._write_json

    def crashing_write_json(path, data):
        if path.name == "state.json" and data.get("epoch") == epoch:
            raise KeyboardInterrupt("simulated kill")
        real_write_json(path, data)

    monkeypatch.setattr(train_module, "_write_json", crashing_write_json)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, run, progress=False)
    monkeypatch.setattr(train_module, "_write_json", real_write_json)


def test_resume_after_interruption_equals_a_straight_run(tmp_path, dataset_factory, tiny_net_for, monkeypatch):
    root = dataset_factory("onsets", n_train=2, n_valid=1)
    cfg = _config(root, "onsets", tiny_net_for("onsets"), epochs=4)
    straight = tmp_path / "straight"
    train(cfg, straight, progress=False)

    # crash while saving epoch 2: after the *.next checkpoint files, before state.json (like kill -9)
    broken = tmp_path / "broken"
    _train_killed_while_saving(cfg, broken, 2, monkeypatch)
    assert json.loads((broken / "state.json").read_text())["epoch"] == 1
    assert (broken / "last.next.safetensors").is_file()

    with pytest.raises(OverwriteError, match="--resume"):
        train(cfg, broken, progress=False)
    summary = train(cfg, broken, resume=True, progress=False)
    assert summary["epochs_run"] == 4
    _assert_same(_weights(straight), _weights(broken))
    _assert_same(_weights(straight, "best.safetensors"), _weights(broken, "best.safetensors"))
    assert (straight / "decoder.json").read_text() == (broken / "decoder.json").read_text()
    with open(broken / "log.csv") as fh:
        assert [r["epoch"] for r in csv.DictReader(fh)] == ["0", "1", "2", "3"]


def test_more_epochs_on_resume_continue_the_same_run(tmp_path, dataset_factory, tiny_net_for):
    root = dataset_factory("onsets", n_train=2, n_valid=1)
    net = tiny_net_for("onsets")
    straight, staged = tmp_path / "straight", tmp_path / "staged"
    train(_config(root, "onsets", net, epochs=3), straight, progress=False)
    train(_config(root, "onsets", net, epochs=1), staged, progress=False)
    train(_config(root, "onsets", net, epochs=3), staged, resume=True, progress=False)
    _assert_same(_weights(straight), _weights(staged))


def test_cosine_schedule_decays_to_zero_and_resumes_bit_identically(tmp_path, dataset_factory, tiny_net_for,
                                                                      monkeypatch):
    assert train_module.cosine_lr(0.1, 0, 10) == pytest.approx(0.1)
    assert train_module.cosine_lr(0.1, 5, 10) == pytest.approx(0.05)
    assert train_module.cosine_lr(0.1, 10, 10) == pytest.approx(0.0)
    root = dataset_factory("onsets", n_train=2, n_valid=1)
    net = tiny_net_for("onsets")
    cfg = _config(root, "onsets", net, epochs=3, lr=0.01, lr_schedule="cosine")
    straight = tmp_path / "straight"
    train(cfg, straight, progress=False)
    with open(straight / "log.csv") as fh:
        lrs = [float(r["lr"]) for r in csv.DictReader(fh)]
    assert len(lrs) == 3 and 0.01 > lrs[0] > lrs[1] > lrs[2] >= 0 and lrs[2] < 0.01 * 0.1
    plateau = tmp_path / "plateau"
    train(_config(root, "onsets", net, epochs=3, lr=0.01), plateau, progress=False)
    with open(plateau / "log.csv") as fh:
        assert {float(r["lr"]) for r in csv.DictReader(fh)} == {0.01}

    staged = tmp_path / "staged"
    _train_killed_while_saving(cfg, staged, 1, monkeypatch)
    with pytest.raises(ConfigError, match="epochs"):  # the schedule's length is part of the result
        train(_config(root, "onsets", net, epochs=5, lr=0.01, lr_schedule="cosine"), staged, resume=True,
              progress=False)
    train(cfg, staged, resume=True, progress=False)
    _assert_same(_weights(straight), _weights(staged))
    with pytest.raises(ConfigError, match="lr_schedule"):
        _config(root, "onsets", net, lr_schedule="step")


def test_resume_refuses_a_different_config(tmp_path, dataset_factory, tiny_net_for):
    root = dataset_factory("onsets", n_train=1, n_valid=1)
    run = tmp_path / "run"
    train(_config(root, "onsets", tiny_net_for("onsets"), epochs=1), run, progress=False)
    with pytest.raises(ConfigError, match="lr"):
        train(_config(root, "onsets", tiny_net_for("onsets"), epochs=1, lr=0.1), run, resume=True, progress=False)


def test_init_starts_from_a_trained_run_and_refuses_other_networks(tmp_path, dataset_factory, tiny_net_for):
    import hashlib
    from dataclasses import replace

    root = dataset_factory("onsets", n_train=1, n_valid=1)
    net = tiny_net_for("onsets")
    first = tmp_path / "first"
    train(_config(root, "onsets", net, epochs=1), first, progress=False)
    start = _weights(first, "best.safetensors")
    # a vanishing learning rate: the fine-tuned parameters stay where the first run left them
    tuned = tmp_path / "tuned"
    cfg = _config(root, "onsets", net, epochs=1, lr=1e-12, init_weights=str(first), seed=5)
    train(cfg, tuned, progress=False)
    after = _weights(tuned)
    params = [k for k in start if "running" not in k and "num_batches" not in k]
    for key in params:
        assert torch.allclose(after[key], start[key], atol=1e-6), key
    fresh = tmp_path / "fresh"
    train(_config(root, "onsets", net, epochs=1, lr=1e-12, seed=5), fresh, progress=False)
    assert any(not torch.allclose(_weights(fresh)[k], start[k], atol=1e-3) for k in params)
    init = json.loads((tuned / "config.json").read_text())["init"]
    assert init["path"] == str(first / "best.safetensors")
    assert init["sha256"] == hashlib.sha256((first / "best.safetensors").read_bytes()).hexdigest()
    # the same settings resume; a run folder of another network or a missing file is refused by name
    train(replace(cfg, epochs=2), tuned, resume=True, progress=False)
    wider = NetConfig.from_dict({**net.to_dict(), "temporal_channels": [c * 2 for c in net.temporal_channels]})
    with pytest.raises(ConfigError, match="not for the onsets network"):
        train(_config(root, "onsets", wider, epochs=1, init_weights=str(first)), tmp_path / "wide", progress=False)
    with pytest.raises(ConfigError, match="no such weights file"):
        train(_config(root, "onsets", net, epochs=1, init_weights=str(tmp_path / "nowhere")), tmp_path / "x",
              progress=False)


def test_init_from_an_exported_model(tmp_path, dataset_factory, tiny_net_for):
    import hashlib

    from models.training.export import export_run
    from models.training.onnx_weights import weights_from_onnx

    root = dataset_factory("onsets", n_train=2, n_valid=1)
    net = tiny_net_for("onsets")
    first = tmp_path / "first"
    train(_config(root, "onsets", net, epochs=1), first, progress=False)
    onnx_path, _ = export_run(first)
    expected = weights_from_onnx(onnx_path)[0].state_dict()
    tuned = tmp_path / "tuned"
    train(_config(root, "onsets", net, epochs=1, lr=1e-12, init_weights=str(onnx_path), seed=5), tuned,
          progress=False)
    after = _weights(tuned)
    for key in (k for k in expected if "norm" not in k):  # convolutions: exactly the graph's
        assert torch.allclose(after[key], expected[key], atol=1e-6), key
    init = json.loads((tuned / "config.json").read_text())["init"]
    assert init == {"path": str(onnx_path), "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
                    "format": "onnx"}
    # a model of another network is refused by name
    wider = NetConfig.from_dict({**net.to_dict(), "temporal_channels": [c * 2 for c in net.temporal_channels]})
    with pytest.raises(ConfigError, match="the weights of model.onnx are not for the onsets network"):
        train(_config(root, "onsets", wider, epochs=1, init_weights=str(onnx_path)), tmp_path / "wide",
              progress=False)


def test_dataset_problems_of_both_folders_are_listed(tmp_path, dataset_factory, tiny_net_for):
    root = dataset_factory("onsets", n_train=1, n_valid=1)
    for p in root.glob("*/*.onsets.csv"):
        p.unlink()
    with pytest.raises(DatasetError) as info:
        train(_config(root, "onsets", tiny_net_for("onsets")), tmp_path / "run", progress=False)
    text = " ".join(info.value.problems)
    assert "train:" in text and "valid:" in text and "clicks0" in text
    assert not (tmp_path / "run" / "config.json").exists()


def test_wrong_task_labels_are_named(tmp_path, dataset_factory, tiny_net_for):
    root = dataset_factory("onsets", n_train=1, n_valid=1)  # onset labels, asked for drums
    with pytest.raises(DatasetError) as info:
        train(_config(root, "drums", tiny_net_for("drums")), tmp_path / "run", progress=False)
    assert "drum" in " ".join(info.value.problems)


@pytest.mark.slow
def test_training_on_tones_learns_pitch(tmp_path, dataset_factory):
    """Validation RPA of a small trained network is far above the untrained one's."""
    from dataclasses import replace

    from models.training.config import default_net_config
    from models.training.data import load_task_files
    from models.training.train import default_decoder, evaluate, predict_file

    root = dataset_factory("pitch", n_train=8, n_valid=2, seed=1)
    net = replace(default_net_config("pitch"), conv2d_channels=(8,), conv2d_kernel_time=(3,), conv2d_kernel_freq=(5,),
                  conv2d_pool_freq=(1,), temporal_channels=(64, 64), temporal_kernel=(1, 3), temporal_dilation=(1, 1))
    cfg = _config(root, "pitch", net, epochs=12, patience=12, batch_size=8, excerpt_frames=150, lr=3e-3,
                  excerpts_per_epoch=80, transpose_semitones=6)
    torch.manual_seed(0)
    untrained = TaskNet(net)
    valid = load_task_files(root / "valid", "pitch", tmp_path / "cache")
    before = evaluate("pitch", [predict_file(untrained, f.features, torch.device("cpu")) for f in valid], valid,
                      default_decoder("pitch"))
    summary = train(cfg, tmp_path / "run", progress=False)
    assert before["rpa"] < 0.1
    assert summary["metrics"]["rpa"] > 0.6  # 0.83 when written (validation pitches unseen in training)
    assert summary["metrics"]["oa"] > 0.6


def test_training_on_clicks_learns_onsets(tmp_path, dataset_factory, tiny_net_for):
    """A fast quality floor: a few epochs on click trains find the clicks in unseen files."""
    from models.training.data import load_task_files
    from models.training.train import default_decoder, evaluate, predict_file

    root = dataset_factory("onsets", n_train=3, n_valid=2, seed=2)
    net = tiny_net_for("onsets")
    torch.manual_seed(0)
    valid = load_task_files(root / "valid", "onsets", tmp_path / "cache")
    before = evaluate("onsets", [predict_file(TaskNet(net), f.features, torch.device("cpu")) for f in valid], valid,
                      default_decoder("onsets"))
    summary = train(_config(root, "onsets", net, epochs=10), tmp_path / "run", progress=False)
    assert before["f1_50ms"] < 0.3
    assert summary["metrics"]["f1_50ms"] >= 0.9


def _event_rows(frames_by_class, n_frames=40):
    """(1, T, C) drum/onset targets as the dataset builds them: 1 at each event, 0.5 beside."""
    from models.training.targets import _event_targets

    times = np.array([f * 0.01 for frames in frames_by_class for f in frames])
    cols = np.array([c for c, frames in enumerate(frames_by_class) for _ in frames], dtype=np.int64)
    return torch.from_numpy(_event_targets(times, cols, n_frames, len(frames_by_class), 0.01, 0.5)).unsqueeze(0)


def test_late_event_targets_move_each_event_to_its_best_frame_within_reach():
    from models.training.train import late_event_targets

    targets = _event_rows([[5, 10, 20], [5]])
    logits = torch.full(targets.shape, -5.0)
    logits[0, 9, 0], logits[0, 12, 0], logits[0, 7, 0] = 4.0, 2.0, 1.0  # 9: the next event (10) is not reachable
    logits[0, 23, 0] = 0.0
    logits[0, 3, 1] = 6.0  # earlier than the event: never chosen
    logits[0, 8, 1] = logits[0, 6, 1] = 1.0  # a tie: the earlier frame
    moved = late_event_targets(logits, targets, 4)
    expect = _event_rows([[9, 12, 23], [6]])
    assert torch.equal(moved, expect)
    assert torch.equal(late_event_targets(logits, targets, 2), _event_rows([[7, 12, 20], [6]]))
    assert torch.equal(late_event_targets(logits, targets, 0), targets)


def test_late_event_targets_leave_events_where_the_network_already_places_them():
    from models.training.train import _loss, late_event_targets

    targets = _event_rows([[0, 3, 6, 30], [39]])
    targets[0, 15, 0] = 0.5  # the widened frame of an event just outside the excerpt (none beside it here)
    noise = 0.1 * torch.randn(targets.shape, generator=torch.Generator().manual_seed(0))
    logits = torch.where(targets == 1.0, 3.0, -3.0) + noise
    logits.requires_grad_(True)
    assert torch.equal(late_event_targets(logits, targets, 4), targets)
    mask = torch.ones_like(targets)
    plain = _loss("onsets", logits, targets, mask, 0, 5.0)
    assert torch.equal(_loss("onsets", logits, targets, mask, 0, 5.0, late_frames=4), plain)
    assert not late_event_targets(logits, targets, 4).requires_grad


def test_training_with_late_frames_still_finds_the_clicks(tmp_path, dataset_factory, tiny_net_for):
    root = dataset_factory("onsets", n_train=3, n_valid=2, seed=2)
    torch.manual_seed(0)
    summary = train(_config(root, "onsets", tiny_net_for("onsets"), epochs=10, event_late_frames=3),
                    tmp_path / "run", progress=False)
    assert summary["metrics"]["f1_50ms"] >= 0.9
