import json
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
from safetensors.torch import save_file  # noqa: E402

from desktop_app import cli  # noqa: E402
from models.errors import ConfigError, OverwriteError  # noqa: E402
from models.frontend import FrontEndConfig  # noqa: E402
from models.runtime.card import load_card  # noqa: E402
from models.runtime.onnx_model import OnnxTaskModel  # noqa: E402
from models.training import export_cli  # noqa: E402
from models.training.export import decoder_delay_frames, export_onnx, export_run, make_card  # noqa: E402
from models.training.nets import NetConfig, TaskNet, count_parameters, macs_per_frame  # noqa: E402

N_BINS = 48
FRONTEND = FrontEndConfig(n_bins=N_BINS)


def tiny_config(task="drums", n_outputs=3, **kw) -> NetConfig:
    base = dict(task=task, n_outputs=n_outputs, n_bins=N_BINS, conv2d_channels=(3, 4), conv2d_kernel_time=(3, 2),
                conv2d_kernel_freq=(5, 3), conv2d_pool_freq=(2, 3), temporal_channels=(12, 10),
                temporal_kernel=(3, 3), temporal_dilation=(1, 2), dropout=0.0)
    base.update(kw)
    return NetConfig(**base)


def trained_looking(config: NetConfig, seed: int = 0) -> TaskNet:
    torch.manual_seed(seed)
    model = TaskNet(config)
    g = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.3)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)
                m.num_batches_tracked.fill_(17)
    return model.eval()


def write_run(folder, config: NetConfig, *, metrics=True, decoder=True, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    model = trained_looking(config, seed)
    run_config = {"task": config.task, "train_dir": "corpus/train", "valid_dir": "corpus/valid", "lr": 0.002,
                  "net": config.to_dict(), "frontend": FRONTEND.to_dict(), "data": ["corpus/train", "corpus/valid"],
                  "seed": seed, "command": ["featherlight", "train", "--task", config.task], "epochs": 5}
    (folder / "config.json").write_text(json.dumps(run_config))
    save_file(model.state_dict(), str(folder / "best.safetensors"))
    if metrics:  # the flat form the trainer writes
        (folder / "metrics.json").write_text(json.dumps(
            {"mean_f1_ksh": 0.81, "f1": {"kick": 0.9}, "best_epoch": 4, "metric": "mean_f1_ksh", "decoder_tuned": True}))
    if decoder:
        (folder / "decoder.json").write_text(json.dumps({"threshold": {"kick": 0.3, "snare": 0.4}, "post_max_frames": 3}))
    return model


def test_export_onnx_names_and_dynamic_time_axis(tmp_path):
    model = trained_looking(tiny_config())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the export path is warning-free
        path = export_onnx(model, tmp_path / "m.onnx")
    proto = onnx.load(str(path))
    inputs = [(i.name, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]) for i in proto.graph.input]
    outputs = [(o.name, [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]) for o in proto.graph.output]
    assert inputs == [("features", [1, "frames", 48]), ("state_in_0", [1, 1, 2, 48]), ("state_in_1", [1, 3, 1, 24]),
                      ("state_in_2", [1, 32, 2]), ("state_in_3", [1, 12, 4])]
    assert [name for name, _ in outputs] == ["probs", "state_out_0", "state_out_1", "state_out_2", "state_out_3"]
    assert outputs[0][1] == [1, "frames", 3]
    assert {p.key: p.value for p in proto.metadata_props}["featherlight_task"] == "drums"
    assert model.training is False  # the caller's model is untouched


def test_export_onnx_keeps_the_caller_in_training_mode_and_refuses_overwrite(tmp_path):
    model = trained_looking(tiny_config()).train()
    path = export_onnx(model, tmp_path / "m.onnx")
    assert model.training is True
    with pytest.raises(OverwriteError, match="m.onnx"):
        export_onnx(model, path)
    assert export_onnx(model, path, overwrite=True) == path
    with pytest.raises(ConfigError, match=r"must end in \.onnx"):
        export_onnx(model, tmp_path / "m.bin")


def test_network_without_states_exports(tmp_path):
    config = tiny_config(task="onsets", n_outputs=1, conv2d_kernel_time=(1, 1), temporal_kernel=(1, 1))
    model = trained_looking(config)
    assert model.state_shapes() == []
    path = export_onnx(model, tmp_path / "flat.onnx")
    card = make_card(model, path, training={}, metrics={}, decoder={}, frontend=FRONTEND)
    runtime = OnnxTaskModel(path, card=card)
    x = np.random.default_rng(0).random((20, N_BINS), dtype=np.float32)
    with torch.no_grad():
        reference = model(torch.from_numpy(x)[None])[0].numpy()
    assert runtime.initial_state() == []
    assert np.max(np.abs(runtime.run_offline(x) - reference)) < 1e-5


def test_anticipating_model_card_and_alignment(tmp_path):
    """lookahead -2: the card states 32 - 20 + 0 ms; offline rows are shifted by two frames."""
    config = tiny_config(lookahead_frames=-2, n_outputs=6)
    model = trained_looking(config)
    path = export_onnx(model, tmp_path / "drums-early.onnx")
    card = make_card(model, path, training={}, metrics={}, decoder={}, frontend=FRONTEND)
    assert card.lookahead_frames == -2 and card.latency_ms == pytest.approx(12.0)
    runtime = OnnxTaskModel(path, card=card)
    x = np.random.default_rng(1).random((30, N_BINS), dtype=np.float32)
    with torch.no_grad():
        raw = model(torch.from_numpy(x)[None])[0].numpy()  # row j describes frame j + 2
    aligned = runtime.run_offline(x)
    assert aligned.shape == raw.shape
    assert np.all(aligned[:2] == 0)
    np.testing.assert_allclose(aligned[2:], raw[:-2], atol=1e-5)
    with pytest.raises(ConfigError, match=">= -3"):
        tiny_config(lookahead_frames=-4, n_outputs=6)


def test_make_card_figures(tmp_path):
    config = tiny_config(lookahead_frames=3, n_outputs=6)
    model = trained_looking(config)
    path = export_onnx(model, tmp_path / "drums-small.onnx")
    card = make_card(model, path, training={"seed": np.int64(3)}, metrics={"f1": np.float32(0.5)},
                     decoder={"threshold": 0.3}, pruning_history=[{"round": 1, "fraction_kept": 0.8}],
                     frontend=FRONTEND)
    assert card.name == "drums-small" and card.task == "drums"
    assert card.labels == ("kick", "snare", "hihat", "tom", "crash", "ride")
    assert card.n_parameters == count_parameters(model)
    assert card.macs_per_second == macs_per_frame(config) * 100
    assert card.file_bytes == path.stat().st_size
    assert card.state_shapes == tuple(model.state_shapes(1))
    assert card.receptive_field_frames == config.receptive_field_frames == 1 + (2 + 1) + (2 * 1 + 2 * 2)
    # 32 ms front-end + 3 frames lookahead + no peak-picking delay (the default picker), 10 ms each
    assert card.latency_ms == pytest.approx(62.0)
    assert card.decoder == {"threshold": 0.3, "delay_frames": 0}
    assert card.training == {"seed": 3} and card.metrics == {"f1": 0.5}
    assert card.pruning_history == ({"round": 1, "fraction_kept": 0.8},)
    assert card.net["conv2d_channels"] == [3, 4]
    with pytest.raises(ConfigError, match="takes 48 bins but the front-end makes 288"):
        make_card(model, path, training={}, metrics={}, decoder={})
    with pytest.raises(ConfigError, match="cannot be written as JSON"):
        make_card(model, path, training={"when": object()}, metrics={}, decoder={}, frontend=FRONTEND)


def test_decoder_delay_follows_the_decoder_settings():
    assert decoder_delay_frames("drums", {}) == 0
    assert decoder_delay_frames("drums", {"post_max_frames": 1, "refine": True}) == 1
    assert decoder_delay_frames("onsets", {"post_avg_frames": 5}) == 5
    assert decoder_delay_frames("chords", {"self_transition_prob": 0.9}) == 10
    assert decoder_delay_frames("chords", {"min_frames": 4}) == 4
    assert decoder_delay_frames("pitch", {}) == 0 + 7
    assert decoder_delay_frames("pitch", {"f0": {"min_voiced_frames": 5}, "split_frames": 3}) == 4 + 3
    assert decoder_delay_frames("drums", {"delay_frames": 0}) == 0
    with pytest.raises(ConfigError, match="delay_frames"):
        decoder_delay_frames("drums", {"delay_frames": -1})


def test_export_run_writes_model_and_card(tmp_path):
    run = tmp_path / "run"
    model = write_run(run, tiny_config(lookahead_frames=1))
    onnx_path, card_path = export_run(run)
    assert (onnx_path, card_path) == (run / "model.onnx", run / "model.json")
    card = load_card(card_path)
    assert card.name == "model" and card.task == "drums"
    assert card.metrics == {"mean_f1_ksh": 0.81, "f1": {"kick": 0.9}}
    assert card.training["best_epoch"] == 4 and card.training["selection_metric"] == "mean_f1_ksh"
    assert card.training["decoder_tuned"] is True
    assert card.training["seed"] == 0 and card.training["epochs"] == 5
    assert card.training["command"] == ["featherlight", "train", "--task", "drums"]
    assert card.training["data"] == ["corpus/train", "corpus/valid"]
    assert card.training["config"]["lr"] == 0.002
    assert card.training["export_max_abs_diff"] < 1e-5
    assert card.decoder == {"threshold": {"kick": 0.3, "snare": 0.4}, "post_max_frames": 3, "delay_frames": 3}
    assert card.latency_ms == pytest.approx(32.0 + 10.0 * (1 + 3))
    assert card.pruning_history == ()
    runtime = OnnxTaskModel(onnx_path)
    x = np.random.default_rng(1).random((40, N_BINS), dtype=np.float32)
    with torch.no_grad():
        reference = model(torch.from_numpy(np.concatenate([x, np.zeros((1, N_BINS), np.float32)]))[None])[0, 1:]
    assert np.max(np.abs(runtime.run_offline(x) - reference.numpy())) < 1e-4
    assert sorted(p.name for p in run.iterdir()) == ["best.safetensors", "config.json", "decoder.json",
                                                     "metrics.json", "model.json", "model.onnx"]


def test_export_run_to_another_folder_with_a_name_and_overwrite(tmp_path):
    run = tmp_path / "run"
    write_run(run, tiny_config(), metrics=False, decoder=False)
    (run / "pruning_history.json").write_text(json.dumps([{"round": 1, "fraction_kept": 0.8}]))
    out = tmp_path / "models"
    onnx_path, card_path = export_run(run, out, name="drums-tiny")
    assert (onnx_path, card_path) == (out / "drums-tiny.onnx", out / "drums-tiny.json")
    card = load_card(card_path)
    assert card.metrics == {} and card.training["best_epoch"] is None
    assert card.pruning_history == ({"round": 1, "fraction_kept": 0.8},)
    before = card_path.read_bytes()
    with pytest.raises(OverwriteError, match="drums-tiny.json"):
        export_run(run, out, name="drums-tiny")
    assert card_path.read_bytes() == before
    export_run(run, out, name="drums-tiny", overwrite=True)
    assert load_card(card_path).created_utc >= card.created_utc


def test_export_run_errors_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="nowhere not found"):
        export_run(tmp_path / "nowhere")
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(ConfigError, match="config.json not found"):
        export_run(run)
    config = tiny_config()
    write_run(run, config)
    (run / "best.safetensors").unlink()
    with pytest.raises(ConfigError, match="best.safetensors not found.*save_file"):
        export_run(run)
    wider = trained_looking(tiny_config(temporal_channels=(16, 10)))
    save_file(wider.state_dict(), str(run / "best.safetensors"))
    with pytest.raises(ConfigError, match=r"shape mismatch norm1d\.0\.bias \(16,\) vs \(12,\).*NetConfig"):
        export_run(run)
    (run / "best.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(ConfigError, match="not a readable safetensors file"):
        export_run(run)
    write_run(run, config)
    data = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**data, "task": "pitch"}))
    with pytest.raises(ConfigError, match="'net' is for task 'drums' but 'task' is 'pitch'"):
        export_run(run)
    (run / "config.json").write_text(json.dumps({**data, "net": {**data["net"], "widths": 3}}))
    with pytest.raises(ConfigError, match="'net' is not a NetConfig.*widths"):
        export_run(run)
    (run / "config.json").write_text("{oops")
    with pytest.raises(ConfigError, match="config.json is not valid JSON"):
        export_run(run)
    (run / "config.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="plain file stem"):
        export_run(run, name="../elsewhere")
    assert not (run / "model.onnx").exists() and not (run / "model.json").exists()
    assert not [p for p in run.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_cli_export(tmp_path, capsys):
    run = tmp_path / "run"
    write_run(run, tiny_config())
    parser = cli.build_parser()
    if "export" not in parser.format_help():  # until desktop_app/cli.py lists the module
        sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        export_cli.register(sub)
    args = parser.parse_args(["export", str(run), "--out", str(tmp_path / "out"), "--name", "d"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'out' / 'd.onnx'}" in out and "task drums: 3 outputs" in out
    args = parser.parse_args(["export", str(run), "--out", str(tmp_path / "out"), "--name", "d"])
    with pytest.raises(OverwriteError, match="--overwrite"):
        args.func(args)


def test_cli_export_help(capsys):
    parser = cli.build_parser()
    if "export" not in parser.format_help():
        sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        export_cli.register(sub)
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["export", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for word in ("RUN_DIR", "--out", "--name", "--overwrite", "best.safetensors", "config.json", "model card"):
        assert word in text


@pytest.mark.parametrize("task, n_outputs, activation, shifts", [
    ("pitch", 361, "sigmoid", ()), ("chords", 133, "softmax", ()), ("pitch", 361, "sigmoid", (-36, 0, 36, 57, 72))])
def test_default_size_network_parity(tmp_path, task, n_outputs, activation, shifts):
    """The full-size default network (288 bins), offline and streaming, within 1e-4 of torch; also with a
    harmonic stack at the input."""
    from models.training.export import check_parity

    model = trained_looking(NetConfig(task=task, n_outputs=n_outputs, output_activation=activation, lookahead_frames=2,
                                      harmonic_shifts=shifts))
    path = export_onnx(model, tmp_path / f"{task}.onnx")
    card = make_card(model, path, training={}, metrics={}, decoder={})
    assert card.n_bins == 288 and card.latency_ms == pytest.approx(32.0 + 10.0 * (2 + decoder_delay_frames(task, {})))
    assert check_parity(model, OnnxTaskModel(path, card=card), n_frames=80) < 1e-4


def test_cli_main_turns_errors_into_exit_status_2(tmp_path, capsys):
    if "models.training.export_cli" not in cli._SUBCOMMAND_MODULES:
        pytest.skip("desktop_app/cli.py does not list models.training.export_cli yet")
    assert cli.main(["export", str(tmp_path / "missing-run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing-run not found" in err[0]
    run = tmp_path / "run"
    write_run(run, tiny_config())
    assert cli.main(["export", str(run)]) == 0
    assert (run / "model.onnx").is_file() and (run / "model.json").is_file()


@pytest.mark.parametrize("task", ["drums", "chords"])
def test_export_run_reads_a_folder_written_by_train(tmp_path, dataset_factory, tiny_net_for, task):
    """The run-folder contract, end to end: the trainer's folder exports and runs without torch code."""
    from models.training.config import TrainConfig, output_names
    from models.training.train import train

    data = dataset_factory(task, n_train=2, n_valid=1)
    config = TrainConfig(task=task, train_dir=str(data / "train"), valid_dir=str(data / "valid"),
                         net=tiny_net_for(task).to_dict(), epochs=1, batch_size=4, excerpt_frames=100,
                         excerpts_per_epoch=8, device="cpu")
    run = tmp_path / "run"
    summary = train(config, run, progress=False, command=["featherlight", "train"])
    onnx_path, card_path = export_run(run)
    card = load_card(card_path)
    assert card.labels == output_names(task)
    assert card.training["best_epoch"] == summary["best_epoch"]
    assert card.training["decoder_tuned"] is True
    assert card.metrics == {k: v for k, v in summary["metrics"].items()
                            if k not in ("best_epoch", "metric", "decoder_tuned")}
    assert {k: v for k, v in card.decoder.items() if k != "delay_frames"} == summary["decoder"]
    assert card.training["export_max_abs_diff"] < 1e-4
    assert OnnxTaskModel(onnx_path).run_offline(np.zeros((30, 288), np.float32)).shape == (30, len(card.labels))
