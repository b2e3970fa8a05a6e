"""Smoke tests of the model scripts (scripts/bench_models.py, models_report.py, build_models.py) on tiny
random-weight models exported into tmp_path and a tiny procedural test split written here.

The scripts are loaded from their files (scripts/ is not a package). Nothing here times anything: the
benchmark numbers are only checked for shape and consistency.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from models.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
SR = 16000
N_OUTPUTS = {"pitch": 361, "chords": 133, "drums": 6, "onsets": 1}
DECODER = {
    "pitch": {"f0": {"voicing_on": 0.3, "voicing_off": 0.25}, "notes": {"split_frames": 3, "min_note_frames": 3}},
    "chords": {"min_frames": 3, "self_transition_prob": 0.5},
    "drums": {"threshold": 0.3, "delta": 0.02},
    "onsets": {"threshold": 0.3, "delta": 0.02},
}


def load_script(name: str):
    """Import scripts/<name>.py as a module (its folder first on sys.path, as when it runs)."""
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def export_tiny_models(folder: Path, *, seed: int = 0, widths: tuple[int, int] = (8, 8), name_suffix: str = "") -> dict[str, Path]:
    """One tiny random-weight model per task (<task><suffix>.onnx + card) in ``folder``."""
    torch = pytest.importorskip("torch")
    from models.runtime.card import save_card
    from models.training.export import export_onnx, make_card
    from models.training.nets import NetConfig, TaskNet

    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for k, task in enumerate(N_OUTPUTS):
        torch.manual_seed(seed + k)
        config = NetConfig(task=task, n_outputs=N_OUTPUTS[task],
                           output_activation="softmax" if task == "chords" else "sigmoid",
                           conv2d_channels=(2, 3), temporal_channels=widths, temporal_kernel=(3, 3),
                           temporal_dilation=(1, 2), lookahead_frames=1 if task == "drums" else 0)
        net = TaskNet(config).eval()
        with torch.no_grad():
            net.input_norm.running_mean.fill_(2.0)
            net.input_norm.running_var.fill_(4.0)
            net.head.weight.mul_(6.0)
        path = export_onnx(net, folder / f"{task}{name_suffix}.onnx")
        card = make_card(net, path, training={"data": "random weights (test fixture)", "seed": 7,
                                              "command": ["featherlight", "train", "--task", task]},
                         metrics={}, decoder=DECODER[task])
        save_card(card, path.with_suffix(".json"))
        paths[task] = path
    return paths


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    return export_tiny_models(tmp_path_factory.mktemp("tiny_models"))


# --- bench_models ----------------------------------------------------------------------------------------
def test_bench_signal_is_deterministic_and_bounded():
    bench = load_script("bench_models")
    a = bench.test_signal(3.0)
    b = bench.test_signal(3.0)
    assert a.dtype == np.float32 and a.shape == (48000,)
    assert np.array_equal(a, b)
    assert 0.1 < np.abs(a).max() <= 1.0


def test_bench_runs_offline_and_streaming(tiny_models):
    bench = load_script("bench_models")
    audio = bench.test_signal(3.0)
    (result,) = bench.run_benchmark({"tiny": tiny_models}, audio, repeats=2, stream_s=0.5)
    off = result.offline
    assert off.audio_s == 3.0 and off.repeats == 2
    assert off.cpu_s > 0 and off.wall_s > 0
    assert off.real_time_ratio == pytest.approx(3.0 / off.cpu_s)
    assert set(off.model_cpu_s) == set(N_OUTPUTS)
    shares = off.shares
    assert list(shares) == ["pitch", "chords", "drums", "onsets", "front-end", "decoders + rest"]
    assert all(v >= 0 for v in shares.values())
    assert result.hop["n_hops"] == 50 and result.hop["tasks"] == list(N_OUTPUTS)
    assert result.hop["real_time_factor"] == pytest.approx(result.hop["mean_ms"] / 10.0)
    lines = bench.format_tables([result])
    assert lines[0] == "| offline | tiny |"
    assert any(line.startswith("| real-time ratio (audio s / CPU s) |") for line in lines)
    assert any(line.startswith("| p95 CPU per hop (ms) |") for line in lines)
    assert not any(line.startswith("ratio ") for line in lines)


def test_bench_compare_cli_writes_json(tiny_models, tmp_path, capsys):
    bench = load_script("bench_models")
    wide = export_tiny_models(tmp_path / "wide", seed=3, widths=(24, 24), name_suffix="_wide")
    out = tmp_path / "bench.json"
    args = ["--tasks", "drums,onsets", "--signal-s", "2", "--repeats", "1", "--stream-s", "0.3", "--json", str(out)]
    args += [f"--model={t}={tiny_models[t]}" for t in ("drums", "onsets")]
    rc = bench.main(args + [f"--compare=drums={wide['drums']}"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "| offline | base | compare |" in text
    assert "ratio base / compare: offline CPU time" in text
    assert "drums model CPU time:" in text
    data = json.loads(out.read_text())
    assert [s["label"] for s in data["sets"]] == ["base", "compare"]
    assert data["sets"][1]["models"]["drums"] == str(wide["drums"])
    assert data["sets"][1]["models"]["onsets"] == str(tiny_models["onsets"])
    assert data["sets"][0]["offline"]["audio_s"] == 2.0
    # the JSON is never replaced silently
    assert bench.main(args) == 2
    assert "already exists" in capsys.readouterr().err


def test_bench_refuses_bad_arguments(tiny_models, capsys):
    bench = load_script("bench_models")
    assert bench.main(["--tasks", "onsets", f"--model=onsets={tiny_models['onsets']}", "--compare", "drums"]) == 2
    assert "--compare expects TASK=PATH" in capsys.readouterr().err
    assert bench.main(["--tasks", "onsets", f"--model=onsets={tiny_models['onsets']}",
                       f"--compare=drums={tiny_models['drums']}"]) == 2
    assert "not in --tasks onsets" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="repeats must be at least 1"):
        bench.run_benchmark({"x": {"onsets": tiny_models["onsets"]}}, bench.test_signal(1.0), repeats=0)
