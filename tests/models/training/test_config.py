"""Training config: defaults, validation, JSON round trip, default networks per task."""

from __future__ import annotations

import pytest

from models.errors import ConfigError
from models.training.config import TrainConfig, default_net_config, output_names
from models.training.nets import TaskNet, count_parameters


@pytest.mark.parametrize("task, n_outputs, activation, lookahead", [
    ("pitch", 361, "sigmoid", 2), ("chords", 133, "softmax", 50), ("drums", 6, "sigmoid", 2),
    ("onsets", 1, "sigmoid", 2),
])
def test_default_nets(task, n_outputs, activation, lookahead):
    net = default_net_config(task)
    assert net.n_outputs == n_outputs == len(output_names(task)) == len(net.output_names)
    assert net.output_activation == activation and net.lookahead_frames == lookahead and net.task == task
    assert 100_000 <= count_parameters(TaskNet(net)) <= 1_000_000


def test_output_names():
    assert output_names("drums") == ("kick", "snare", "hihat", "tom", "crash", "ride")
    assert output_names("pitch")[-1] == "voicing" and output_names("pitch")[0] == "bin_000"
    assert output_names("chords")[-1] == "N"


def test_config_defaults_and_round_trip():
    cfg = TrainConfig(task="onsets", train_dir="a", valid_dir="b")
    assert cfg.net == default_net_config("onsets").to_dict()
    again = TrainConfig.from_dict(cfg.to_dict())
    assert again == cfg
    assert "epochs" not in cfg.result_dict() and "seed" in cfg.result_dict()


def test_transposition_defaults_per_task():
    assert TrainConfig(task="chords", train_dir="a", valid_dir="b").transpose_semitones == 6
    assert TrainConfig(task="pitch", train_dir="a", valid_dir="b").transpose_semitones == 4
    assert TrainConfig(task="drums", train_dir="a", valid_dir="b").transpose_semitones == 0
    assert TrainConfig(task="chords", train_dir="a", valid_dir="b", transpose_semitones=0).transpose_semitones == 0


@pytest.mark.parametrize("kwargs, words", [
    ({"task": "beats"}, "beats"),
    ({"device": "tpu"}, "tpu"),
    ({"batch_size": 0}, "batch_size"),
    ({"gain_db_range": (6.0, -6.0)}, "gain_db_range"),
    ({"transpose_semitones": 2, "task": "drums"}, "pitch and chords tasks only"),
    ({"transpose_semitones": -1, "task": "chords"}, ">= 0"),
    ({"pitch_note_start_weight": 3.0}, "pitch task only"),
    ({"pitch_note_start_weight": 0.0, "task": "pitch", "net": {}}, "must be positive"),
    ({"net": default_net_config("drums").to_dict()}, "needs 1"),
    ({"event_late_frames": 5}, "0..4"),
    ({"event_late_frames": -1}, "0..4"),
    ({"event_late_frames": 2, "task": "chords", "net": {}}, "drums and onsets tasks only"),
])
def test_config_errors(kwargs, words):
    values = {"task": "onsets", "train_dir": "a", "valid_dir": "b", **kwargs}
    with pytest.raises(ConfigError, match=words):
        TrainConfig(**values)


def test_unknown_setting_named():
    with pytest.raises(ConfigError, match="learning_rate"):
        TrainConfig.from_dict({"task": "onsets", "train_dir": "a", "valid_dir": "b", "learning_rate": 1})
