"""``featherlight train``: argument handling, folder layouts, refusals and --resume/--overwrite."""

from __future__ import annotations

import argparse
import dataclasses
import json

import pytest

from models.errors import ConfigError, DatasetError, OverwriteError
from models.training import train_cli


def _parse(argv):
    parser = argparse.ArgumentParser(prog="featherlight")
    sub = parser.add_subparsers(dest="command")
    train_cli.register(sub)
    return parser.parse_args(["train", *argv])


def test_help_mentions_the_run_folder(capsys):
    with pytest.raises(SystemExit):
        _parse(["--help"])
    out = capsys.readouterr().out
    assert "--resume" in out and "best.safetensors" in out and "--valid" in out


def test_corpus_root_and_explicit_valid(tmp_path, dataset_factory):
    root = dataset_factory("onsets", n_train=1, n_valid=1)
    cfg = train_cli.build_config(_parse(["--task", "onsets", "--data", str(root), "--out", str(tmp_path / "r")]))
    assert cfg.train_dir == str(root / "train") and cfg.valid_dir == str(root / "valid")
    cfg = train_cli.build_config(_parse(["--task", "onsets", "--data", str(root / "train"), "--valid",
                                         str(root / "valid"), "--out", str(tmp_path / "r"), "--epochs", "3",
                                         "--batch-size", "2", "--seed", "7", "--device", "cpu"]))
    assert (cfg.epochs, cfg.batch_size, cfg.seed, cfg.device) == (3, 2, 7, "cpu")


def test_data_without_splits_needs_valid(tmp_path, dataset_factory):
    root = dataset_factory("onsets", n_train=1, n_valid=1)
    with pytest.raises(DatasetError, match="--valid"):
        train_cli.build_config(_parse(["--task", "onsets", "--data", str(root / "train"), "--out", str(tmp_path)]))
    with pytest.raises(DatasetError, match="not a folder"):
        train_cli.build_config(_parse(["--task", "onsets", "--data", str(tmp_path / "nope"), "--out", str(tmp_path)]))


def test_run_refuse_resume_overwrite(tmp_path, dataset_factory, monkeypatch, capsys, tiny_net_for):
    from models.training import config as config_module

    # the default onset net is small but not tiny; use the test net to keep this fast
    tiny = tiny_net_for("onsets")
    monkeypatch.setattr(config_module, "default_net_config", lambda task: tiny)
    root = dataset_factory("onsets", n_train=1, n_valid=1)
    out = tmp_path / "run"
    argv = ["--task", "onsets", "--data", str(root), "--out", str(out), "--epochs", "1", "--batch-size", "2",
            "--excerpt-frames", "100", "--device", "cpu", "--no-progress", "--threads", "1"]
    args = _parse(argv)
    assert args.func(args) == 0
    assert "onsets: best f1_50ms" in capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())
    assert config["command"][:4] == ["featherlight", "train", "--task", "onsets"]
    assert "--epochs" in config["command"]
    args = _parse(argv)
    with pytest.raises(OverwriteError, match="--overwrite"):
        args.func(args)
    args = _parse(argv[:7] + ["2"] + argv[8:] + ["--resume"])
    assert args.func(args) == 0
    assert json.loads((out / "state.json").read_text())["epoch"] == 1
    (out / "notes.txt").write_text("mine")
    args = _parse(argv + ["--overwrite"])
    assert args.func(args) == 0
    assert json.loads((out / "state.json").read_text())["epoch"] == 0
    assert (out / "notes.txt").read_text() == "mine"  # --overwrite removes only run files


def test_a_folder_with_other_files_is_refused(tmp_path, dataset_factory, monkeypatch, tiny_net_for):
    from models.training import config as config_module

    tiny = tiny_net_for("onsets")
    monkeypatch.setattr(config_module, "default_net_config", lambda task: tiny)
    root = dataset_factory("onsets", n_train=1, n_valid=1)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("do not touch")
    argv = ["--task", "onsets", "--data", str(root), "--out", str(out), "--epochs", "1", "--excerpt-frames", "100",
            "--no-progress"]
    args = _parse(argv)
    with pytest.raises(OverwriteError, match="thesis.tex"):
        args.func(args)
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]
    args = _parse(argv + ["--overwrite"])
    assert args.func(args) == 0
    assert (out / "thesis.tex").read_text() == "do not touch" and (out / "best.safetensors").is_file()


def test_lookahead_option_sets_the_network_lookahead(tmp_path, dataset_factory):
    from models.training.config import default_net_config

    root = dataset_factory("drums", n_train=1, n_valid=1)
    args = ["--task", "drums", "--data", str(root), "--out", str(tmp_path / "r")]
    assert train_cli.build_config(_parse(args)).net_config().lookahead_frames == 2  # the task's default
    cfg = train_cli.build_config(_parse([*args, "--lookahead", "0"]))
    net = cfg.net_config()
    assert net.lookahead_frames == 0
    assert net == dataclasses.replace(default_net_config("drums"), lookahead_frames=0)  # nothing else moves
    with pytest.raises(ConfigError, match="lookahead_frames"):
        train_cli.build_config(_parse([*args, "--lookahead", "-9"]))


def test_lr_schedule_option(tmp_path, dataset_factory):
    root = dataset_factory("onsets", n_train=1, n_valid=1)
    args = ["--task", "onsets", "--data", str(root), "--out", str(tmp_path / "r")]
    assert train_cli.build_config(_parse(args)).lr_schedule == "plateau"
    cfg = train_cli.build_config(_parse([*args, "--lr-schedule", "cosine", "--epochs", "3"]))
    assert cfg.lr_schedule == "cosine" and cfg.result_dict()["epochs"] == 3
    assert "epochs" not in train_cli.build_config(_parse(args)).result_dict()
    with pytest.raises(SystemExit):
        _parse([*args, "--lr-schedule", "linear"])


@pytest.mark.parametrize("task, flag, field, default, value, bad, words", [
    ("pitch", "--note-start-weight", "pitch_note_start_weight", 1.0, 3.0, "0", "must be positive"),
    ("onsets", "--late-frames", "event_late_frames", 0, 3, "9", "0..4"),
])
def test_loss_shaping_options(tmp_path, dataset_factory, task, flag, field, default, value, bad, words):
    root = dataset_factory(task, n_train=1, n_valid=1)
    args = ["--task", task, "--data", str(root), "--out", str(tmp_path / "r")]
    assert getattr(train_cli.build_config(_parse(args)), field) == default
    cfg = train_cli.build_config(_parse([*args, flag, str(value)]))
    assert getattr(cfg, field) == value and cfg.result_dict()[field] == value
    with pytest.raises(ConfigError, match=words):
        train_cli.build_config(_parse([*args, flag, bad]))


def test_ignore_hidden_onsets_option(tmp_path, dataset_factory):
    root = dataset_factory("onsets", n_train=1, n_valid=1)
    args = ["--task", "onsets", "--data", str(root), "--out", str(tmp_path / "r")]
    assert train_cli.build_config(_parse(args)).ignore_hidden_onsets is False
    cfg = train_cli.build_config(_parse([*args, "--ignore-hidden-onsets"]))
    assert cfg.ignore_hidden_onsets is True and cfg.result_dict()["ignore_hidden_onsets"] is True
    drums = dataset_factory("drums", n_train=1, n_valid=1)
    with pytest.raises(ConfigError, match="onsets task only"):
        train_cli.build_config(_parse(["--task", "drums", "--data", str(drums), "--out", str(tmp_path / "d"),
                                       "--ignore-hidden-onsets"]))


def test_net_option_changes_the_network_shape(tmp_path, dataset_factory):
    from models.training.config import default_net_config

    root = dataset_factory("onsets", n_train=1, n_valid=1)
    args = ["--task", "onsets", "--data", str(root), "--out", str(tmp_path / "r")]
    deeper = {"temporal_channels": [64, 64, 64, 64], "temporal_kernel": [1, 3, 3, 3],
              "temporal_dilation": [1, 1, 2, 4]}
    net = train_cli.build_config(_parse([*args, "--net", json.dumps(deeper)])).net_config()
    default = default_net_config("onsets")
    assert net == dataclasses.replace(default, temporal_channels=(64,) * 4, temporal_kernel=(1, 3, 3, 3),
                                      temporal_dilation=(1, 1, 2, 4))
    assert net.receptive_field_frames == default.receptive_field_frames + 2 * 4
    # from a file, with --lookahead applied on top
    path = tmp_path / "net.json"
    path.write_text(json.dumps({"dropout": 0.3}), encoding="utf-8")
    net = train_cli.build_config(_parse([*args, "--net", str(path), "--lookahead", "1"])).net_config()
    assert (net.dropout, net.lookahead_frames, net.temporal_channels) == (0.3, 1, default.temporal_channels)


@pytest.mark.parametrize("value, message", [
    ('{"temporal_chanels": [8]}', "unknown or fixed network setting.*temporal_chanels.*known settings"),
    ('{"n_outputs": 3}', "n_outputs follow from the task"),
    ('{"temporal_channels": [8, 8]}', "same length"),
    ('{"temporal_channels": 8}', "--net"),
    ('{temporal_channels: [8]}', "not valid JSON"),
    ('[1, 2]', "not valid JSON|must be a JSON object"),
    ("no/such/net.json", "neither a JSON object nor an existing .json file"),
])
def test_net_option_refuses_bad_settings(tmp_path, dataset_factory, value, message):
    root = dataset_factory("onsets", n_train=1, n_valid=1)
    args = ["--task", "onsets", "--data", str(root), "--out", str(tmp_path / "r"), "--net", value]
    with pytest.raises(ConfigError, match=message):
        train_cli.build_config(_parse(args))
