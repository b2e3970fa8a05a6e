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


# --- models_report ---------------------------------------------------------------------------------------
def click_track(onsets_s, duration_s: float) -> np.ndarray:
    x = np.zeros(int(duration_s * SR), dtype=np.float32)
    decay = np.exp(-np.arange(400) / 60.0)
    noise = np.random.default_rng(1).standard_normal(400)
    for t in onsets_s:
        i = int(t * SR)
        x[i:i + 400] += (0.8 * noise * decay)[: x.size - i]
    return x


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory) -> Path:
    """corpus/onsets/test with two labelled click tracks, and a real_dev-like single-note folder."""
    import soundfile as sf

    from models.annotations.csv_io import write_onsets_csv

    root = tmp_path_factory.mktemp("corpus")
    test = root / "onsets" / "test"
    test.mkdir(parents=True)
    for stem, onsets in (("a", [0.3, 0.8, 1.4]), ("b", [0.25, 0.5, 1.1, 1.7])):
        sf.write(test / f"{stem}.flac", click_track(onsets, 2.0), SR)
        write_onsets_csv(test / f"{stem}.onsets.csv", np.array(onsets))
    notes = root / "real_dev"
    notes.mkdir()
    t = np.arange(SR) / SR
    for name, midi in (("tone_a4.wav", 69), ("tone_c4.wav", 60)):
        f_hz = 440.0 * 2 ** ((midi - 69) / 12)
        sf.write(notes / name, (0.3 * np.sin(2 * np.pi * f_hz * t)).astype(np.float32), SR)
    (notes / "labels.csv").write_text("file,midi_pitch\ntone_a4.wav,69\ntone_c4.wav,60\n")
    return root


def test_target_verdict_needs_target_and_baseline():
    report = load_script("models_report")
    model = {"totals": {"f1_50ms": 0.93}}
    met, line = report.target_verdict("onsets", model, {"librosa-onset": {"totals": {"f1_50ms": 0.77}}})
    assert met and line == "F1 (50 ms): model 0.930, target >= 0.90, best baseline librosa-onset 0.770: **met**"
    met, line = report.target_verdict("onsets", model, {"librosa-onset": {"totals": {"f1_50ms": 0.95}}})
    assert not met and line.endswith("**not met** (not above librosa-onset)")
    met, line = report.target_verdict("pitch", {"totals": {"rpa": 0.9}}, {"pyin": None})
    assert not met and "no baseline scored" in line and line.endswith("(below 0.95)")


def test_target_verdict_gives_the_bootstrap_interval_over_the_files():
    report = load_script("models_report")
    rows = [{"tp_50ms": tp, "n_ref_50ms": 10.0, "n_est_50ms": 10.0, "f1_50ms": tp / 10} for tp in (9.0, 8.0, 10.0, 9.0)]
    from models.evaluation.aggregate import bootstrap_intervals

    model = {"totals": {"f1_50ms": 0.9}, "files": [{"stem": str(i), "metrics": m} for i, m in enumerate(rows)]
             + [{"stem": "failed", "status": "failed", "metrics": None}],
             "intervals": {k: list(v) for k, v in bootstrap_intervals("onsets", rows, ["f1_50ms"]).items()}}
    met, line = report.target_verdict("onsets", model, {"librosa-onset": {"totals": {"f1_50ms": 0.77}}})
    low, high = report.file_interval("onsets", model)
    assert 0.8 <= low < 0.9 < high <= 1.0
    assert met and line == (f"F1 (50 ms): model 0.900 (95% interval over its 4 files: {low:.3f}-{high:.3f}), "
                            "target >= 0.90, best baseline librosa-onset 0.770: **met**")


def test_models_report_names_the_run_a_model_was_fine_tuned_from():
    from types import SimpleNamespace

    report = load_script("models_report")
    training = {"train_command": ["featherlight", "train", "--task", "pitch", "--epochs", "14", "--init", "w0/runs/pitch"],
                "best_epoch": 12, "seed": 0,
                "init_weights": {"path": "w0/runs/pitch/best.safetensors", "sha256": "e9fdbbbbf9315da2",
                                 "source_command": ["featherlight", "train", "--task", "pitch", "--epochs", "24"],
                                 "source_epochs_run": 30, "source_best_epoch": 27}}
    card = SimpleNamespace(task="pitch", training=training, n_parameters=10, macs_per_second=1e6, file_bytes=2048,
                           latency_ms=142.0, lookahead_frames=2, receptive_field_frames=11)
    row = report.card_table({"pitch": card}, {"pitch": Path("pitch.onnx")})[-1]
    assert row.endswith("| 14 (12), fine-tuned from `w0/runs/pitch/best.safetensors` (30 epochs, best 27) |")
    lines = report.command_lines({"pitch": card})
    assert lines[-1] == ("- pitch (the run it was fine-tuned from, sha256 e9fdbbbbf931, was started as): "
                         "`featherlight train --task pitch --epochs 24`")


def test_baseline_scores_are_cached(tiny_corpus, tmp_path, monkeypatch):
    report = load_script("models_report")
    test = tiny_corpus / "onsets" / "test"
    cache = tmp_path / "cache"
    assert report.baseline_scores("onsets", "librosa-onset", test, cache=cache, cache_only=True) is None
    first = report.baseline_scores("onsets", "librosa-onset", test, cache=cache)
    assert first["baseline"] == "librosa-onset" and first["totals"]["n_files"] == 2
    assert len(list(cache.glob("onsets-librosa-onset-*.json"))) == 1

    def no_eval(*args, **kwargs):
        raise AssertionError("the cached score should have been used")

    monkeypatch.setattr(report, "evaluate", no_eval)
    assert report.baseline_scores("onsets", "librosa-onset", test, cache=cache) == first
    (test / "a.onsets.csv").write_text("time_s\n0.3\n0.8\n")  # the data changed: the cache no longer applies
    assert report.baseline_scores("onsets", "librosa-onset", test, cache=cache, cache_only=True) is None


def test_models_report_writes_document(tiny_models, tiny_corpus, tmp_path, capsys):
    report = load_script("models_report")
    out = tmp_path / "docs" / "MODELS.md"
    summary_path = tmp_path / "summary.json"
    args = ["--corpus", str(tiny_corpus), "--real-dev", str(tiny_corpus / "real_dev"), "--tasks", "pitch,onsets",
            f"--model=pitch={tiny_models['pitch']}", f"--model=onsets={tiny_models['onsets']}",
            "--out", str(out), "--cache", str(tmp_path / "cache"), "--skip-baselines",
            "--bench-signal-s", "1", "--bench-repeats", "1", "--summary-json", str(summary_path),
            "--extra", f"onsets={tiny_corpus / 'onsets' / 'test'}::the test split, again", "--extra", f"drums={tiny_corpus}"]
    assert report.main(args) == 0
    captured = capsys.readouterr()
    assert "skipping pitch scores: no test split" in captured.err
    text = out.read_text()
    assert text.startswith(report.HEADER + "\n")
    assert "## Targets" in text and "- onsets: F1 (50 ms): model " in text
    assert "## onsets: rendered test split" in text and "## pitch: rendered test split" not in text
    assert "| baseline librosa-onset | - | not run | not run | not run | not run |" in text
    assert "## pitch: real single-note recordings" in text
    assert "## onsets: held-out set `onsets/test`" in text and "skipping the held-out set" in captured.err  # no drums
    assert "audio the model was not trained on (the test split, again)" in text
    hidden = [line for line in text.splitlines() if line.startswith("- **model** `onsets.onnx`: recall ")]
    assert len(hidden) == 2 and "of the hidden ones; F1 with the hidden ones left out" in hidden[0]  # both onsets sets
    assert text.count("Hidden onsets (`scripts/onset_visibility.py`") == 2
    single = next(line for line in text.splitlines() if line.startswith("| **model** `pitch.onnx` |"))
    assert single.split(" | ")[1] == "2"  # both single-note files scored
    assert "| onsets | `onsets.onnx` |" in text and "random weights (test fixture)" in text
    assert "- pitch (train): `featherlight train --task pitch`" in text
    assert "## Speed on one CPU core" in text and "real-time ratio (audio s / CPU s)" in text
    speed = next(line for line in text.splitlines() if line.startswith("- speed: offline real-time ratio "))
    assert "with 2 model(s), target >= 50x with all 4 on one core: **not met**" in speed  # two models only
    summary = json.loads(summary_path.read_text())
    assert summary["onsets"]["metric"] == "f1_50ms" and summary["onsets"]["target"] == 0.9
    assert summary["onsets"]["met"] is (summary["onsets"]["value"] >= 0.9)  # no baseline scored: the target alone
    assert summary["benchmark"]["real_time_ratio"] > 0 and summary["benchmark"]["met"] is False
    # a generated file is replaced freely; a user's file is not
    assert report.main(args + ["--no-bench"]) == 0
    user = tmp_path / "mine.md"
    user.write_text("my notes\n")
    args[args.index("--out") + 1] = str(user)
    assert report.main(args + ["--no-bench"]) == 2
    assert "was not written by this script; pass --overwrite" in capsys.readouterr().err
    assert user.read_text() == "my notes\n"


def test_models_report_scores_alternative_models_beside_the_default(tiny_models, tiny_corpus, tmp_path):
    import shutil

    report = load_script("models_report")
    live = tmp_path / "onsets-live.onnx"
    shutil.copy(tiny_models["onsets"], live)
    shutil.copy(Path(tiny_models["onsets"]).with_suffix(".json"), live.with_suffix(".json"))
    test = tiny_corpus / "onsets" / "test"
    lines, summary = report.build_report({"onsets": Path(tiny_models["onsets"])}, corpus=tiny_corpus, real_dev=None,
                                         cache=tmp_path / "cache", extra=[("onsets", test, "again")],
                                         skip_baselines=True, bench=False, alternatives={"onsets": [live]},
                                         log=lambda line: None)
    text = "\n".join(lines)
    rows = [line for line in lines if line.startswith("| alternative `onsets-live.onnx` |")]
    assert len(rows) == 2  # the test split and the held-out set
    default_row = next(line for line in lines if line.startswith("| **model** `onsets.onnx` |"))
    assert rows[0].split(" | ")[1:] == default_row.split(" | ")[1:]  # the same weights score the same
    assert "| onsets | `onsets-live.onnx` |" in text and "| onsets | `onsets.onnx` |" in text
    assert list(summary) == ["onsets"]  # the target judges the default model only


def test_models_report_shows_the_online_decoding_beside_the_whole_file_one(tiny_models, tmp_path):
    import soundfile as sf

    from models.annotations.lab import write_lab
    from models.annotations.types import ChordSegment

    report = load_script("models_report")
    test = tmp_path / "corpus" / "chords" / "test"
    test.mkdir(parents=True)
    t = np.arange(3 * SR) / SR
    triads = ((60, 64, 67), (57, 60, 64), (65, 69, 72))
    x = sum(0.1 * np.sin(2 * np.pi * 440.0 * 2 ** ((m - 69) / 12) * t) * (t // 1 == i)
            for i, chord in enumerate(triads) for m in chord)
    sf.write(test / "triads.flac", x.astype(np.float32), SR)
    write_lab(test / "triads.chords.lab", [ChordSegment(0.0, 1.0, "C:maj"), ChordSegment(1.0, 2.0, "A:min"),
                                           ChordSegment(2.0, 3.0, "F:maj")])
    lines, summary = report.build_report({"chords": Path(tiny_models["chords"])}, corpus=tmp_path / "corpus",
                                         real_dev=None, cache=tmp_path / "cache", extra=[], skip_baselines=True,
                                         bench=False, log=lambda line: None)
    rows = [line for line in lines if line.startswith(("| **model** `chords", "| model `chords"))]
    assert [row.split(" | ")[0] for row in rows] == ["| **model** `chords.onnx`",
                                                     "| model `chords.onnx`, online decoding (live; `--online`)"]
    online, _ = report.score_model("chords", Path(tiny_models["chords"]), test, online=True)
    whole, _ = report.score_model("chords", Path(tiny_models["chords"]), test)
    assert summary["chords"]["value"] == whole["totals"]["majmin"]
    assert f"{online['totals']['majmin']:.3f}" == rows[1].split(" | ")[3]
    assert "decodes chords and pitch over the whole file" in "\n".join(lines)


def test_models_report_refuses_missing_inputs(tiny_models, tmp_path, capsys):
    report = load_script("models_report")
    assert report.main(["--corpus", str(tmp_path / "nope"), f"--model=onsets={tiny_models['onsets']}"]) == 2
    assert "is not a folder; give the folder holding <task>/test" in capsys.readouterr().err
    assert report.main(["--corpus", str(tmp_path), "--tasks", "onsets", f"--model=onsets={tmp_path / 'x.onnx'}"]) == 2
    assert "x.onnx" in capsys.readouterr().err


# --- build_models -----------------------------------------------------------------------------------------
class FakePipeline:
    """Stands in for `featherlight corpus render` and `featherlight train` (a tiny random-weight run folder);
    `featherlight export` runs for real, in-process."""

    def __init__(self, sources):
        self.calls: list[list[str]] = []
        self.sources = [str(Path(p).resolve()) for p in sources]

    def __call__(self, argv):
        argv = list(map(str, argv))
        self.calls.append(argv)
        if argv[:2] == ["corpus", "render"]:
            out = Path(argv[argv.index("--out") + 1])
            out.mkdir(parents=True, exist_ok=True)
            manifest = {"config": {"minutes": float(argv[argv.index("--minutes") + 1]),
                                   "seed": int(argv[argv.index("--seed") + 1]), "sources": self.sources,
                                   "procedural_fraction": 0.3},
                        "sources": [{"kind": "pop909", "path": p, "pieces": 3} for p in self.sources],
                        "soundfonts": ["/x/TimGM6mb.sf2"], "complete": True, "summary": {"train": {"items": 2}}}
            if "--melody-accompaniment-probability" in argv:  # recorded as a real render records it
                manifest["config"]["melody_accompaniment_probability"] = float(
                    argv[argv.index("--melody-accompaniment-probability") + 1])
            (out / "corpus.json").write_text(json.dumps(manifest))
        elif argv[0] == "train":
            self._fake_run(Path(argv[argv.index("--out") + 1]), argv[argv.index("--task") + 1], argv)
        elif argv[0] == "export":
            from desktop_app.cli import main

            assert main(argv) == 0
        else:
            raise AssertionError(f"unexpected command {argv}")

    @staticmethod
    def _fake_run(run_dir: Path, task: str, argv):
        torch = pytest.importorskip("torch")
        from safetensors.torch import save_file

        from models.frontend import FrontEndConfig
        from models.training.nets import NetConfig, TaskNet

        if (run_dir / "best.safetensors").is_file():
            return
        run_dir.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        config = NetConfig(task=task, n_outputs=N_OUTPUTS[task], conv2d_channels=(2, 3), temporal_channels=(8, 8),
                           temporal_kernel=(3, 3), temporal_dilation=(1, 2))
        net = TaskNet(config).eval()
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(run_dir / "best.safetensors"))
        (run_dir / "config.json").write_text(json.dumps({
            "task": task, "net": config.to_dict(), "frontend": FrontEndConfig().to_dict(), "seed": 5,
            "data": {"train": "corpus/train", "valid": "corpus/valid"}, "command": ["featherlight", *argv],
            "epochs": 1}))
        (run_dir / "metrics.json").write_text(json.dumps({"f1_50ms": 0.5, "best_epoch": 0, "metric": "f1_50ms"}))


def test_build_models_pipeline(tmp_path, capsys):
    build = load_script("build_models")
    from models.runtime.card import load_card
    from models.runtime.onnx_model import OnnxTaskModel

    sources = tmp_path / "pop909"
    sources.mkdir()
    work, out = tmp_path / "work", tmp_path / "bundled"
    fake = FakePipeline([sources])
    argv = ["--tasks", "onsets", "--sources", str(sources), "--work", str(work), "--minutes", "0.3",
            "--epochs", "1", "--seed", "5", "--device", "cpu", "--jobs", "1", "--out", str(out)]
    assert build.main(argv, run=fake, ask=lambda q: False) == 0
    assert [c[:2] for c in fake.calls] == [["corpus", "render"], ["train", "--task"], ["export", str(work / "runs" / "onsets")]]
    assert fake.calls[0] == ["corpus", "render", "--task", "onsets", "--out", str(work / "corpus" / "onsets"),
                             "--minutes", "0.3", "--seed", "5", "--sources", str(sources), "--jobs", "1", "--no-progress"]
    assert fake.calls[1] == ["train", "--task", "onsets", "--data", str(work / "corpus" / "onsets"), "--out",
                             str(work / "runs" / "onsets"), "--seed", "5", "--device", "cpu", "--epochs", "1"]
    card = load_card(out / "onsets.json")
    assert card.name == "onsets" and card.task == "onsets"
    tr = card.training
    assert tr["render_command"] == ["featherlight", *fake.calls[0]]
    assert tr["train_command"] == ["featherlight", *fake.calls[1]]
    assert tr["build_command"] == ["scripts/build_models.py", *argv]
    assert tr["data_sources"] == [{"kind": "pop909", "path": str(sources.resolve()), "pieces": 3}]
    assert tr["corpus"]["soundfonts"] == ["TimGM6mb.sf2"] and tr["corpus_seed"] == 5 and tr["train_seed"] == 5
    assert tr["seed"] == 5 and tr["best_epoch"] == 0
    assert OnnxTaskModel(out / "onsets.onnx").n_outputs == 1
    assert "onsets: installed" in capsys.readouterr().out

    # again: the corpus is complete (not rendered), an interrupted run resumes, the installed model is kept
    (work / "runs" / "onsets" / "state.json").write_text("{}")
    before = (out / "onsets.json").read_bytes()
    fake.calls.clear()
    assert build.main(argv, run=fake, ask=lambda q: False) == 2
    assert "already exist(s); pass --overwrite" in capsys.readouterr().err
    assert [c[0] for c in fake.calls] == ["train", "export"] and fake.calls[0][-1] == "--resume"
    assert (out / "onsets.json").read_bytes() == before
    asked = []
    assert build.main(argv, run=fake, ask=lambda q: asked.append(q) or True) == 0
    assert asked and "onsets.onnx" in asked[0]
    assert build.main(argv + ["--overwrite"], run=fake, ask=lambda q: False) == 0

    # --name-suffix: the same run installed as an alternative beside the default, named in its card
    fake.calls.clear()
    assert build.main(argv + ["--name-suffix=-live"], run=fake, ask=lambda q: False) == 0
    assert fake.calls[-1] == ["export", str(work / "runs" / "onsets"), "--out", str(work / "export"), "--name",
                              "onsets-live", "--overwrite"]
    live = load_card(out / "onsets-live.json")
    assert live.name == "onsets-live" and live.task == "onsets" and (out / "onsets-live.onnx").is_file()
    assert live.training["build_command"][-1] == "--name-suffix=-live"
    assert (out / "onsets.json").is_file()
    assert build.main(argv + ["--name-suffix=live/../x"], run=fake) == 2
    assert "--name-suffix 'live/../x'" in capsys.readouterr().err


def test_build_models_refuses_other_corpus_settings(tmp_path, capsys):
    build = load_script("build_models")
    work = tmp_path / "work"
    fake = FakePipeline([])
    base = ["--tasks", "onsets", "--work", str(work), "--out", str(tmp_path / "m"), "--jobs", "1"]
    fake(build.render_command(build.BuildSettings(work=work, minutes=0.3), "onsets"))
    assert build.main(base + ["--minutes", "0.5"], run=fake) == 2
    err = capsys.readouterr().err
    assert "rendered with other settings: minutes 0.3 (wanted 0.5)" in err and "another --work" in err
    assert build.main(base + ["--sources", str(tmp_path / "missing")], run=fake) == 2
    assert "--sources folder(s) not found" in capsys.readouterr().err
    # render options are part of the corpus settings: a corpus rendered without them is not reused
    assert build.main(base + ["--minutes", "0.3", "--render-options", "--music-bed-probability 0.7"], run=fake) == 2
    assert "music_bed_probability 0.3 (wanted 0.7)" in capsys.readouterr().err
    assert build.main(base + ["--render-options", "--no-such-option 1"], run=fake) == 2
    assert "not valid `corpus render` options" in capsys.readouterr().err


def test_build_models_passes_render_options(tmp_path):
    build = load_script("build_models")
    settings = build.BuildSettings(work=tmp_path, minutes=1, render_options=("--music-bed-probability", "0.7",
                                                                               "--music-bed-on-procedural"))
    cmd = build.render_command(settings, "drums")
    assert cmd[cmd.index("--seed") + 2:] == ["--music-bed-probability", "0.7", "--music-bed-on-procedural", "--jobs",
                                              "1", "--no-progress"]
    assert build._render_option_values(settings.render_options) == {"music_bed_probability": 0.7,
                                                                   "music_bed_on_procedural": True}


def test_build_models_passes_train_options(tmp_path):
    build = load_script("build_models")
    settings = build.BuildSettings(work=tmp_path, minutes=1, epochs=3, train_options=("--init", "w/runs/pitch",
                                                                                       "--lr", "0.0005"))
    cmd = build.train_command(settings, "pitch")
    assert cmd[-6:] == ["--epochs", "3", "--init", "w/runs/pitch", "--lr", "0.0005"]
    build.check_train_options(settings.train_options)
    with pytest.raises(build.ConfigError, match="not valid `train` options"):
        build.check_train_options(["--no-such-option", "1"])
    with pytest.raises(build.ConfigError, match="--epochs set by this script"):
        build.check_train_options(["--epochs", "4"])


def test_build_models_records_an_exported_starting_model_from_its_card(tmp_path):
    build = load_script("build_models")
    model = tmp_path / "bundle" / "drums.onnx"
    model.parent.mkdir()
    model.write_bytes(b"graph")
    card = {"name": "drums", "training": {"train_command": ["featherlight", "train", "--task", "drums"],
                                          "epochs": 12, "best_epoch": 8, "data": {"train": "t"},
                                          "build_command": ["scripts/build_models.py"],
                                          "init_weights": {"path": "older/best.safetensors", "sha256": "ab"}}}
    model.with_suffix(".json").write_text(json.dumps(card))
    run = tmp_path / "runs" / "drums"
    run.mkdir(parents=True)
    init = {"path": str(model), "sha256": "cd", "format": "onnx"}
    (run / "config.json").write_text(json.dumps({"init": init}))
    record = build._init_record(run)
    assert record["source_command"] == ["featherlight", "train", "--task", "drums"]
    assert (record["source_epochs_run"], record["source_best_epoch"], record["source_name"]) == (12, 8, "drums")
    assert record["source_init_weights"] == {"path": "older/best.safetensors", "sha256": "ab"}
    assert record["sha256"] == "cd" and record["format"] == "onnx"


# --- kit_testset -------------------------------------------------------------------------------------------
@pytest.mark.needs_fluidsynth
def test_kit_testset_replays_the_labelled_hits_on_another_font(tmp_path, capsys):
    import soundfile as sf

    from models.annotations.csv_io import write_drums_csv
    from models.annotations.midi_io import write_drums_midi
    from models.annotations.types import DrumHit
    from models.audio import write_audio
    from models.corpus.soundfonts import DEFAULT_SOUNDFONTS
    from models.errors import OverwriteError

    kit = next((p for p in DEFAULT_SOUNDFONTS if Path(p).is_file() and p.endswith(".sf2")), None)
    if kit is None:
        pytest.skip("no .sf2 soundfont installed")
    script = load_script("kit_testset")
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    hits = [DrumHit(0.5, "kick", 40), DrumHit(1.25, "snare", 120), DrumHit(2.0, "hihat", 90)]
    write_drums_csv(data / "a.drums.csv", hits)
    write_drums_midi(data / "a.drums.mid", hits)
    write_audio(data / "a.flac", np.zeros(3 * SR, dtype=np.float32), SR)
    # velocities come from the MIDI file (the CSV has none)
    stem = script.kit_stem(hits, script.hit_notes(data / "a.drums.mid"))
    assert [(n.pitch, n.velocity) for n in stem.parts[0].notes] == [(36, 40), (38, 120), (42, 90)]
    # and the keys: an open hi-hat stays open, a second crash plays the crash key, no MIDI: class key, vel 100
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    drums.notes += [pretty_midi.Note(70, 46, 1.0, 1.1), pretty_midi.Note(80, 57, 2.0, 2.1)]
    pm.instruments.append(drums)
    pm.write(str(tmp_path / "b.mid"))
    other = [DrumHit(1.0, "hihat"), DrumHit(2.0, "crash"), DrumHit(3.0, "snare")]
    stem = script.kit_stem(other, script.hit_notes(tmp_path / "b.mid"))
    assert [(n.pitch, n.velocity) for n in stem.parts[0].notes] == [(46, 70), (49, 80), (38, 100)]
    assert stem.parts[0].is_drum is False and stem.parts[0].program == 0  # bank 0 preset 0: the kit
    assert script.main(["--data", str(data), "--out", str(out), "--kits", kit]) == 0
    audio, sr = sf.read(str(out / "a.flac"), dtype="float32")
    assert sr == SR and audio.size == 3 * SR
    assert (out / "a.drums.csv").read_text() == (data / "a.drums.csv").read_text()
    rms_db = 20 * np.log10(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    assert -30.5 <= rms_db <= -15.5
    for hit in hits:  # sound starts at each hit: silence before the first, a rise at each
        i = int(hit.time_s * SR)
        before = np.abs(audio[i - 800:i - 80]).max() if hit.time_s == 0.5 else None
        after = np.abs(audio[i:i + 1600]).max()
        assert after > 0.01 and (before is None or before < 1e-4)
    # nothing is replaced without --overwrite; bad input is named
    with pytest.raises(OverwriteError, match="a.flac exists"):
        script.build(data, out, [Path(kit)])
    assert script.main(["--data", str(data), "--out", str(out), "--kits", str(tmp_path / "nokit.sf2"),
                        "--overwrite"]) == 2
    assert "nokit.sf2 not found" in capsys.readouterr().err
    assert script.main(["--data", str(tmp_path), "--out", str(out)]) == 2
    assert "holds no <stem>.drums.csv" in capsys.readouterr().err


def test_models_report_refuses_a_bad_extra(tiny_models, tmp_path, capsys):
    report = load_script("models_report")
    assert report.main(["--real-dev", str(tmp_path), "--extra", "drums", f"--model=onsets={tiny_models['onsets']}"]) == 2
    assert "write TASK=DIR" in capsys.readouterr().err


def test_build_models_more_renders_join_the_training_data(tmp_path):
    """--more-renders: one render per extra seed, training on links to every train split (seed-prefixed
    names), validation from the main render only, each extra render's command in the card."""
    build = load_script("build_models")
    from models.runtime.card import load_card

    work, out = tmp_path / "work", tmp_path / "bundled"

    class WithFiles(FakePipeline):
        def __call__(self, argv):
            super().__call__(argv)
            argv = list(map(str, argv))
            if argv[:2] == ["corpus", "render"]:
                root = Path(argv[argv.index("--out") + 1])
                seed = argv[argv.index("--seed") + 1]
                for split in ("train", "valid", "test"):
                    (root / split).mkdir(exist_ok=True)
                    (root / split / "onsets_00001.flac").write_text(f"{split} of seed {seed}")

    fake = WithFiles([])
    argv = ["--tasks", "onsets", "--work", str(work), "--minutes", "0.3", "--epochs", "1", "--seed", "5",
            "--device", "cpu", "--jobs", "1", "--out", str(out), "--more-renders", "7:0.5", "8:0.2"]
    assert build.main(argv, run=fake, ask=lambda q: False) == 0
    renders = [c for c in fake.calls if c[:2] == ["corpus", "render"]]
    assert [(c[c.index("--out") + 1], c[c.index("--seed") + 1], c[c.index("--minutes") + 1]) for c in renders] == [
        (str(work / "corpus" / "onsets"), "5", "0.3"), (str(work / "corpus" / "onsets-seed7"), "7", "0.5"),
        (str(work / "corpus" / "onsets-seed8"), "8", "0.2")]
    train = next(c for c in fake.calls if c[0] == "train")
    assert train[train.index("--data") + 1] == str(work / "combined" / "onsets")
    combined = work / "combined" / "onsets"
    assert sorted(p.name for p in (combined / "train").iterdir()) == [
        "s5_onsets_00001.flac", "s7_onsets_00001.flac", "s8_onsets_00001.flac"]
    assert (combined / "train" / "s7_onsets_00001.flac").read_text() == "train of seed 7"
    assert (combined / "valid" / "onsets_00001.flac").read_text() == "valid of seed 5"
    tr = load_card(out / "onsets.json").training
    assert [m["seed"] for m in tr["more_renders"]] == [7, 8]
    assert tr["more_renders"][0]["render_command"] == ["featherlight", *renders[1]]
    assert tr["train_command"] == ["featherlight", *train]
    # again: nothing re-rendered, the links rebuilt the same
    fake.calls.clear()
    assert build.main(argv + ["--overwrite"], run=fake, ask=lambda q: False) == 0
    assert not [c for c in fake.calls if c[:2] == ["corpus", "render"]]
    assert len(list((combined / "train").iterdir())) == 3
    for bad in (["--more-renders", "5:1"], ["--more-renders", "x"], ["--more-renders", "7:1", "7:2"]):
        assert build.main(argv[:-3] + bad, run=fake, ask=lambda q: False) == 2


def test_build_models_more_render_options_apply_to_the_extra_renders_only(tmp_path, capsys):
    """--more-render-options: the extra renders take these options in place of --render-options (say, every
    melody accompanied), the main corpus keeps its own; each is checked against its own options on a re-run."""
    build = load_script("build_models")
    from models.runtime.card import load_card

    work, out = tmp_path / "work", tmp_path / "bundled"
    fake = FakePipeline([])
    argv = ["--tasks", "onsets", "--work", str(work), "--minutes", "0.3", "--epochs", "1", "--device", "cpu",
            "--jobs", "1", "--out", str(out), "--render-options", "--melody-accompaniment-probability 0.6",
            "--more-renders", "7:0.5", "--more-render-options", "--melody-accompaniment-probability 1.0"]
    for split in ("train", "valid"):  # the links need files to point at
        for folder in ("onsets", "onsets-seed7"):
            (work / "corpus" / folder / split).mkdir(parents=True)
    assert build.main(argv, run=fake, ask=lambda q: False) == 0
    renders = {c[c.index("--seed") + 1]: c for c in fake.calls if c[:2] == ["corpus", "render"]}
    assert renders["0"][renders["0"].index("--melody-accompaniment-probability") + 1] == "0.6"
    assert renders["7"][renders["7"].index("--melody-accompaniment-probability") + 1] == "1.0"
    tr = load_card(out / "onsets.json").training
    assert tr["more_renders"][0]["render_command"] == ["featherlight", *renders["7"]]
    assert tr["corpus"]["melody_accompaniment_probability"] == 0.6
    fake.calls.clear()  # both corpora are complete with their own options: nothing is rendered again
    assert build.main(argv + ["--overwrite"], run=fake, ask=lambda q: False) == 0
    assert not [c for c in fake.calls if c[:2] == ["corpus", "render"]]
    # the extra render with other options than it was made with is refused, not rendered over
    changed = argv[:-1] + ["--melody-accompaniment-probability 0.9", "--overwrite"]
    assert build.main(changed, run=fake, ask=lambda q: False) == 2
    assert "melody_accompaniment_probability 1.0 (wanted 0.9)" in capsys.readouterr().err
    assert build.main(argv[:-1] + ["--no-such-option 1"], run=fake) == 2
    assert "--more-render-options" in capsys.readouterr().err
    without_more = argv[:argv.index("--more-renders")] + argv[argv.index("--more-render-options"):]
    assert build.main(without_more, run=fake) == 2
    assert "--more-render-options needs --more-renders" in capsys.readouterr().err


def test_deepen_model_keeps_the_function_and_grows_the_context(tmp_path, capsys):
    """scripts/deepen_model.py: the deepened network computes what the exported model computes (ONNX
    model vs the new torch network on other audio), with the new layers' context; build_models records
    the script's side file when a run starts from its weights."""
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file, save_file

    from desktop_app.cli import main as cli
    from models.audio import write_audio
    from models.frontend import FrontEnd
    from models.runtime.onnx_model import OnnxTaskModel
    from models.training.nets import NetConfig, TaskNet

    run = tmp_path / "run"
    FakePipeline._fake_run(run, "pitch", ["train"])
    weights = load_file(str(run / "best.safetensors"))
    g = torch.Generator().manual_seed(1)
    for key in weights:  # non-trivial batch norms (the export keeps them as named tensors)
        if "norm" in key and key.endswith(("running_mean", "bias")):
            weights[key] = torch.randn(weights[key].shape, generator=g) * 0.3
        elif "norm" in key and key.endswith(("running_var", "weight")):
            weights[key] = torch.rand(weights[key].shape, generator=g) + 0.5
    save_file(weights, str(run / "best.safetensors"))
    assert cli(["export", str(run), "--out", str(tmp_path / "m"), "--name", "pitch"]) == 0
    data = tmp_path / "data"
    data.mkdir()
    t = np.arange(16000 * 2) / 16000
    for i, f0 in enumerate((220.0, 330.0, 440.0)):
        write_audio(data / f"tone{i}.wav", (0.3 * np.sin(2 * np.pi * f0 * t)).astype(np.float32), 16000)
    deepen = load_script("deepen_model")
    out = tmp_path / "init" / "pitch-deep.safetensors"
    args = [str(tmp_path / "m" / "pitch.onnx"), "--data", str(data), "--kernel", "2", "3", "--dilation", "4", "2",
            "--out", str(out)]
    assert deepen.main(args) == 0
    assert "receptive field" in capsys.readouterr().out
    net_json = json.loads(out.with_suffix(".net.json").read_text())
    assert net_json["temporal_kernel"] == [3, 3, 2, 3] and net_json["temporal_dilation"] == [1, 2, 4, 2]
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["command"] == ["scripts/deepen_model.py", *args] and record["max_abs_diff"] < 1e-4
    base = OnnxTaskModel(tmp_path / "m" / "pitch.onnx")
    config = NetConfig.from_dict({**json.loads((run / "config.json").read_text())["net"], **net_json})
    net = TaskNet(config).eval()
    net.load_state_dict(load_file(str(out)))
    assert config.receptive_field_frames == 1 + 4 + 6 + 8  # conv2d (3, 3), old (3, 3) x (1, 2), new (2, 3) x (4, 2)
    rng = np.random.default_rng(0)
    features = FrontEnd().compute(rng.normal(0, 0.1, 16000).astype(np.float32)).astype(np.float32)
    with torch.no_grad():
        ours = net(torch.from_numpy(features).unsqueeze(0))[0].numpy()
    theirs = base.run_offline(features)
    assert theirs.shape == ours.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    assert deepen.main(args) == 2  # never overwrites
    assert "already exist" in capsys.readouterr().err
    assert deepen.main(args[:-1] + [str(tmp_path / "x.pt")]) == 2
    assert "name the weights file" in capsys.readouterr().err
    # --delay: the new layers pass the model's output on later (4 + 2 * 2 frames), for a larger lookahead
    late = tmp_path / "init" / "pitch-late.safetensors"
    assert deepen.main(args[:-1] + [str(late), "--delay", "7"]) == 2  # 7 is no sum of taps 0/4 and 0/2/4
    assert "cannot delay by 7" in capsys.readouterr().err and not late.exists()
    assert deepen.main(args[:-1] + [str(late), "--delay", "8"]) == 0
    record = json.loads(late.with_suffix(".json").read_text())
    assert record["delay_frames"] == 8 and record["lookahead_frames"] == config.lookahead_frames + 8
    net.load_state_dict(load_file(str(late)))
    with torch.no_grad():
        delayed = net(torch.from_numpy(features).unsqueeze(0))[0].numpy()
    np.testing.assert_allclose(delayed[8:], theirs[:-8], atol=1e-4)
    assert np.abs(delayed[:8] - theirs[:8]).max() > 1e-3  # not the identity
    # build_models records where the starting weights came from
    build = load_script("build_models")
    (run / "config.json").write_text(json.dumps({"init": {"path": str(out), "sha256": "x"}}))
    assert build._init_record(run)["made_by"]["command"][0] == "scripts/deepen_model.py"
    # --harmonics: a harmonic stack at the input; the h = 1 channel keeps the model's weights, the others
    # start at zero, so the grown network still computes the model's outputs
    stacked = tmp_path / "init" / "pitch-hcqt.safetensors"
    grow = [str(tmp_path / "m" / "pitch.onnx"), "--data", str(data), "--out", str(stacked), "--harmonics"]
    assert deepen.main(grow + ["2", "3"]) == 2
    assert "including 1" in capsys.readouterr().err and not stacked.exists()
    assert deepen.main(grow + ["0.5", "1", "2", "3"]) == 0
    net_json = json.loads(stacked.with_suffix(".net.json").read_text())
    assert net_json["harmonic_shifts"] == [-36, 0, 36, 57] and net_json["temporal_kernel"] == [3, 3]
    config = NetConfig.from_dict({**base.card.net, **net_json})
    net = TaskNet(config).eval()
    net.load_state_dict(load_file(str(stacked)))
    assert net.conv2d[0].conv.in_channels == 4
    with torch.no_grad():
        ours = net(torch.from_numpy(features).unsqueeze(0))[0].numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    # --conv2d-channels: wider 2-D layers (alone, and with a harmonic stack); the new units compute features
    # from the start (random weights, normalised on --data) but reach the next layer through zero weights
    grow = [str(tmp_path / "m" / "pitch.onnx"), "--data", str(data), "--conv2d-channels"]
    assert deepen.main(grow + ["1", "3", "--out", str(tmp_path / "init" / "narrow.safetensors")]) == 2
    assert "none below the model's [2, 3]" in capsys.readouterr().err
    for name, extra in (("wide", []), ("wide-hcqt", ["--harmonics", "1", "2"])):
        wide = tmp_path / "init" / f"pitch-{name}.safetensors"
        assert deepen.main(grow + ["4", "5", "--out", str(wide), *extra]) == 0
        net_json = json.loads(wide.with_suffix(".net.json").read_text())
        assert net_json["conv2d_channels"] == [4, 5]
        net = TaskNet(NetConfig.from_dict({**base.card.net, **net_json})).eval()
        net.load_state_dict(load_file(str(wide)))
        assert net.conv2d[1].conv.out_channels == 5 and net.conv2d[0].conv.in_channels == (2 if extra else 1)
        seen = {}
        net.norm2d[1].register_forward_hook(lambda module, inputs, output: seen.update(out=output))
        with torch.no_grad():
            ours = net(torch.from_numpy(features).unsqueeze(0))[0].numpy()
        np.testing.assert_allclose(ours, theirs, atol=1e-4)
        new_units = seen["out"][0, 3:]  # normalised on --data: they vary, they are not dead
        assert float(new_units.std()) > 0.1 and float(new_units.mean().abs()) < 2.0
        # (the first temporal layer reads the new channels through zero rows)
        assert float(net.temporal[0].conv.weight.detach()[:, 3 * config.flat_frequency_bins:].abs().max()) == 0.0
    # --temporal-channels: wider temporal layers (with a new layer, which takes the widened width); the head
    # and each next layer hear the new units through zero weights, so the output is still the model's
    wide = tmp_path / "init" / "pitch-wide-temporal.safetensors"
    grow = [str(tmp_path / "m" / "pitch.onnx"), "--data", str(data), "--out", str(wide), "--temporal-channels"]
    widths = list(base.card.net["temporal_channels"])
    assert deepen.main(grow + [str(w + 3) for w in widths[:-1]]) == 2
    assert "one width per temporal layer" in capsys.readouterr().err and not wide.exists()
    assert deepen.main(grow + [str(w + 3) for w in widths] + ["--kernel", "2", "--dilation", "4"]) == 0
    net_json = json.loads(wide.with_suffix(".net.json").read_text())
    assert net_json["temporal_channels"] == [w + 3 for w in widths] + [widths[-1] + 3]
    net = TaskNet(NetConfig.from_dict({**base.card.net, **net_json})).eval()
    net.load_state_dict(load_file(str(wide)))
    seen = {}
    net.norm1d[0].register_forward_hook(lambda module, inputs, output: seen.update(out=output))
    with torch.no_grad():
        ours = net(torch.from_numpy(features).unsqueeze(0))[0].numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    new_units = seen["out"][0, widths[0]:]  # normalised on --data: alive
    assert float(new_units.std()) > 0.1 and float(new_units.mean().abs()) < 2.0
    assert float(net.head.weight.detach()[:, widths[-1]:].abs().max()) == 0.0
    assert float(net.temporal[1].conv.weight.detach()[:, widths[0]:].abs().max()) == 0.0


# --- pitch_errors -------------------------------------------------------------------------------------------
def test_pitch_errors_places_the_misses_in_the_note_and_names_them(tmp_path, capsys):
    """scripts/pitch_errors.py: a model that lags 5 frames behind a note change and jumps an octave in a held
    note has its misses counted at the note start / early / held and named, per group of the manifest."""
    from models.annotations.csv_io import write_f0_csv
    from models.annotations.types import F0Track

    errors = load_script("pitch_errors")
    data, est = tmp_path / "corpus" / "pitch" / "test", tmp_path / "est"
    data.mkdir(parents=True)
    est.mkdir()
    t = np.arange(300) * 0.01
    ref = np.where(t < 1.0, 440.0, 440.0 * 2 ** (1 / 12))  # A4 for 1 s, then a semitone up: a new note at frame 100
    ref[250:] = 0.0  # unvoiced at the end
    guess = ref.copy()
    guess[100:105] = 440.0  # lags 5 frames: 3 at the note start, 2 early
    guess[200:210] = 2 * ref[200]  # an octave up, 100 frames into the note (held)
    guess[250:] = -300.0  # unvoiced frames do not count
    for folder, f0 in ((data, ref), (est, guess)):
        for stem in ("solo", "band"):
            write_f0_csv(folder / f"{stem}.f0.csv", F0Track(t, f0, np.ones_like(t)))
    stems = {"solo": [{"name": "melody"}], "band": [{"name": "melody"}, {"name": "accompaniment"}]}
    (data.parent / "corpus.json").write_text(json.dumps({"items": [{"stem": s, "stems": v} for s, v in stems.items()]}))
    assert errors.main(["--data", str(data), "--estimates", str(est), "--json", str(tmp_path / "c.json")]) == 0
    out = capsys.readouterr().out
    assert "solo line: 1 files, 250 voiced frames, RPA 0.940" in out and "accompanied melody: 1 files" in out
    counts = json.loads((tmp_path / "c.json").read_text())["solo line"]
    assert counts["frames"] == [6, 14, 230]  # two notes: frames 0-2 / 3-9 / 10+ of each
    assert counts["misses"] == [3, 2, 10]
    previous, octave = errors.ERRORS.index("previous note"), errors.ERRORS.index("octave")
    assert counts["kinds"][0][previous] == 3 and counts["kinds"][1][previous] == 2
    assert counts["kinds"][2][octave] == 10 and sum(counts["kinds"][2]) == 10
    assert errors.main(["--data", str(data), "--estimates", str(est), "--json", str(tmp_path / "c.json")]) == 2
    assert "c.json" in capsys.readouterr().err  # the earlier counts are not replaced without --overwrite
    assert errors.main(["--data", str(data), "--estimates", str(est), "--json", str(tmp_path / "c.json"),
                        "--overwrite"]) == 0
    (est / "band.f0.csv").unlink()
    assert errors.main(["--data", str(data), "--estimates", str(est)]) == 2
    assert "lacks 1 estimate(s) (band.f0.csv)" in capsys.readouterr().err


# --- onset_visibility ---------------------------------------------------------------------------------------
def test_onset_visibility_splits_recall_and_leaves_hidden_onsets_out(tmp_path, capsys):
    """scripts/onset_visibility.py: three noise bursts and a label where the audio is silent (hidden); a
    detection matched to the hidden label is neither a miss nor a false alarm in the left-out F1."""
    from models.annotations.csv_io import write_onsets_csv
    from models.audio import write_audio

    vis = load_script("onset_visibility")
    data, est = tmp_path / "data", tmp_path / "est"
    data.mkdir()
    est.mkdir()
    rng = np.random.default_rng(0)
    audio = np.zeros(3 * 16000, dtype=np.float32)
    burst = (rng.standard_normal(320) * np.exp(-np.arange(320) / 80.0) * 0.5).astype(np.float32)
    for t in (0.5, 1.0, 1.5):
        audio[int(t * 16000): int(t * 16000) + 320] += burst
    write_audio(data / "bursts.wav", audio, 16000)
    write_onsets_csv(data / "bursts.onsets.csv", np.array([0.5, 1.0, 1.5, 2.3]))
    write_onsets_csv(est / "bursts.onsets.csv", np.array([0.5, 1.0, 1.5, 2.7]))  # a false alarm, the silent one missed
    assert vis.main(["--data", str(data), "--estimates", str(est), "--json", str(tmp_path / "v.json")]) == 0
    out = capsys.readouterr().out
    assert "hidden onsets: 1 (25.0%), found 0" in out and "visible onsets: 3, found 3 (recall 1.000)" in out
    assert "precision 0.750, recall 0.750, F1 0.750" in out
    assert "F1 with the hidden onsets left out: 0.857" in out  # 3 found of 3, 4 detections
    assert "bursts: 1 of 4 onsets (all misses: 1)" in out
    counts = json.loads((tmp_path / "v.json").read_text())
    assert counts["total"] == {"onsets": 4, "hidden": 1, "visible_found": 3, "hidden_found": 0, "detections": 4}
    # a detection at the hidden label counts for `eval`'s F1 and is left out with it
    write_onsets_csv(est / "bursts.onsets.csv", np.array([0.5, 1.0, 2.3]), overwrite=True)
    assert vis.main(["--data", str(data), "--estimates", str(est)]) == 0
    out = capsys.readouterr().out
    assert "found 1 (recall 1.000)" in out and "F1 0.857" in out and "left out: 0.800" in out
    assert vis.main(["--data", str(data), "--estimates", str(est), "--json", str(tmp_path / "v.json")]) == 2
    assert "v.json" in capsys.readouterr().err  # not replaced without --overwrite
    (est / "bursts.onsets.csv").unlink()
    assert vis.main(["--data", str(data), "--estimates", str(est)]) == 2
    assert "lacks 1 estimate(s) (bursts)" in capsys.readouterr().err
