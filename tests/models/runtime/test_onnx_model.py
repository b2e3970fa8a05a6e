import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.errors import ConfigError
from models.runtime.card import load_card, save_card
from models.runtime.onnx_model import OnnxTaskModel, find_bundled_models, find_models, user_model_dir

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[3]
N_BINS = 48


def features(n_frames: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n_frames, N_BINS), dtype=np.float32) * 4.0


def stream(model: OnnxTaskModel, x: np.ndarray, sizes) -> np.ndarray:
    state, parts, pos = model.initial_state(), [], 0
    for size in sizes:
        block, state = model.run(x[pos:pos + size], state)
        assert block.shape == (min(size, len(x) - pos), model.n_outputs)
        parts.append(block)
        pos += size
    assert pos >= len(x)
    tail, _ = model.flush(state)
    return np.concatenate(parts + [tail])


@pytest.mark.parametrize("task", ["pitch", "chords", "drums", "onsets"])
def test_onnx_matches_torch_offline_and_streaming(export_tiny, task):
    net, onnx_path, _ = export_tiny(task)
    model = OnnxTaskModel(onnx_path)
    assert model.task == task and model.n_bins == N_BINS
    assert model.n_outputs == net.config.n_outputs == len(model.labels)
    x = features(70, seed=1)
    with torch.no_grad():
        reference = net(torch.from_numpy(x)[None])[0].numpy()
        states = net.initial_state(1)
        torch_parts = []
        for lo, hi in [(0, 1), (1, 9), (9, 30), (30, 70)]:
            y, *states = net(torch.from_numpy(x[lo:hi])[None], *states)
            torch_parts.append(y[0].numpy())
    offline = model.run_offline(x)
    assert offline.shape == (70, net.config.n_outputs) and offline.dtype == np.float32
    assert np.max(np.abs(offline - reference)) < 1e-4
    streamed = stream(model, x, [1, 0, 8, 21, 40])
    assert np.max(np.abs(streamed - reference)) < 1e-4
    assert np.max(np.abs(np.concatenate(torch_parts) - streamed)) < 1e-4
    if task == "chords":
        np.testing.assert_allclose(offline.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("lookahead", [0, 3])
def test_streaming_in_random_blocks_equals_run_offline(export_tiny, lookahead):
    _, onnx_path, _ = export_tiny("drums", lookahead_frames=lookahead)
    model = OnnxTaskModel(onnx_path)
    x = features(157, seed=2)
    offline = model.run_offline(x)
    assert offline.shape == (157, 6)
    rng = np.random.default_rng(5)
    exact = []
    for trial in range(4):
        sizes, total = [], 0
        while total < len(x):
            size = int(rng.choice([0, 1, 1, 2, 5, 13, 40]))
            sizes.append(size)
            total += size
        streamed = stream(model, x, sizes)
        assert streamed.shape == (157 + lookahead, 6)
        aligned = streamed[lookahead:]  # row j of a stream describes frame j - lookahead
        np.testing.assert_allclose(aligned, offline, rtol=1e-5, atol=1e-5)
        exact.append(bool(np.array_equal(aligned, offline)))
    print(f"streaming bit-exact with run_offline (lookahead {lookahead}): {exact}")


def test_lookahead_alignment_is_a_pure_shift(export_tiny):
    _, plain_path, _ = export_tiny("onsets", lookahead_frames=0, name="plain")
    _, ahead_path, _ = export_tiny("onsets", lookahead_frames=4, name="ahead")
    plain, ahead = OnnxTaskModel(plain_path), OnnxTaskModel(ahead_path)
    assert ahead.lookahead_frames == 4
    x = features(30, seed=3)
    # same weights (same seed): the lookahead model's row i is the plain model's row i + 4
    raw, _ = plain.run(np.concatenate([x, np.zeros((4, N_BINS), np.float32)]), plain.initial_state())
    np.testing.assert_allclose(ahead.run_offline(x), raw[4:], atol=1e-6)


def test_empty_blocks_skip_the_session(export_tiny):
    _, onnx_path, _ = export_tiny("onsets", lookahead_frames=2)
    model = OnnxTaskModel(onnx_path)
    state = model.initial_state()
    probs, new_state = model.run(np.zeros((0, N_BINS), np.float32), state)
    assert probs.shape == (0, 1) and probs.dtype == np.float32
    assert all(a is b for a, b in zip(new_state, state))
    assert model.run_offline(np.zeros((0, N_BINS), np.float32)).shape == (0, 1)
    assert model.flush(model.initial_state())[0].shape == (2, 1)
    state[0] += 1.0  # initial_state hands out fresh arrays
    assert not model.initial_state()[0].any()


def test_bad_features_and_states_are_refused(export_tiny):
    _, onnx_path, _ = export_tiny("onsets")
    model = OnnxTaskModel(onnx_path)
    with pytest.raises(ConfigError, match=r"\(frames, 48\).*\(10, 40\)"):
        model.run(np.zeros((10, 40), np.float32), model.initial_state())
    with pytest.raises(ConfigError, match=r"\(frames, 48\)"):
        model.run_offline(np.zeros(48, np.float32))
    with pytest.raises(ConfigError, match="takes 4 state arrays, got 1"):
        model.run(np.zeros((1, N_BINS), np.float32), model.initial_state()[:1])


def test_missing_files_and_mismatched_cards(export_tiny, tmp_path):
    _, onnx_path, card_path = export_tiny("drums")
    with pytest.raises(ConfigError, match="nothing.onnx not found"):
        OnnxTaskModel(tmp_path / "nothing.onnx")
    lonely = tmp_path / "lonely.onnx"
    lonely.write_bytes(onnx_path.read_bytes())
    with pytest.raises(ConfigError, match="no model card lonely.json"):
        OnnxTaskModel(lonely)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="junk.onnx is not a usable ONNX model"):
        OnnxTaskModel(junk, card=load_card(card_path))

    card = load_card(card_path)
    data = card.to_dict()
    fewer = {**data, "state_shapes": data["state_shapes"][:-1]}
    (tmp_path / "fewer.json").write_text(json.dumps(fewer))
    (tmp_path / "fewer.onnx").write_bytes(onnx_path.read_bytes())
    with pytest.raises(ConfigError, match="graph inputs are .*state_in_3.*belong together"):
        OnnxTaskModel(tmp_path / "fewer.onnx")
    wider = {**data, "state_shapes": [[1, 1, 2, 48], [1, 3, 1, 24], [1, 99, 2], [1, 12, 4]]}
    with pytest.raises(ConfigError, match="'state_in_2' has shape .*99"):
        OnnxTaskModel(onnx_path, card=type(card)(**{k: v for k, v in wider.items() if k != "schema_version"}))
    three = {**data, "labels": ["kick", "snare", "hihat"], "net": {**data["net"], "n_outputs": 3}}
    with pytest.raises(ConfigError, match="'probs' has shape .*6.*expects.*3"):
        OnnxTaskModel(onnx_path, card=type(card)(**{k: v for k, v in three.items() if k != "schema_version"}))


def test_time_per_hop_is_measured(export_tiny):
    _, onnx_path, _ = export_tiny("onsets")
    model = OnnxTaskModel(onnx_path, intra_op_threads=1)
    us = model.time_per_hop_us(n_hops=20, warmup=2)
    assert isinstance(us, float) and us > 0
    with pytest.raises(ConfigError, match="n_hops"):
        model.time_per_hop_us(n_hops=0)


def test_find_models_groups_by_task_and_skips_broken(export_tiny, tmp_path, caplog):
    folder = tmp_path / "models"
    folder.mkdir()
    export_tiny("drums", name="b-drums", folder=folder)
    export_tiny("drums", name="a-drums", folder=folder)
    export_tiny("onsets", name="onsets-live", folder=folder)
    export_tiny("onsets", name="onsets", folder=folder)
    (folder / "orphan.onnx").write_bytes(b"x")
    found = find_models(folder)
    assert set(found) == {"pitch", "chords", "drums", "onsets"}
    assert [p.name for p in found["drums"]] == ["a-drums.onnx", "b-drums.onnx"]
    # the model named after its task comes first, though "onsets-live" sorts before "onsets.onnx"
    assert [p.name for p in found["onsets"]] == ["onsets.onnx", "onsets-live.onnx"]
    assert found["pitch"] == [] and found["chords"] == []
    assert "orphan.onnx" in caplog.text
    assert find_models(tmp_path / "absent") == {"pitch": [], "chords": [], "drums": [], "onsets": []}


def test_bundled_models_are_listed_by_task():
    found = find_bundled_models()
    assert set(found) == {"pitch", "chords", "drums", "onsets"}
    for task, paths in found.items():
        for path in paths:
            assert path.suffix == ".onnx" and load_card(path.with_suffix(".json")).task == task


def test_user_model_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("FEATHERLIGHT_MODEL_DIR", str(tmp_path / "mine"))
    assert user_model_dir() == tmp_path / "mine"
    monkeypatch.delenv("FEATHERLIGHT_MODEL_DIR")
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
        assert user_model_dir() == tmp_path / "xdg" / "featherlight" / "models"
        monkeypatch.delenv("XDG_DATA_HOME")
        assert user_model_dir() == Path.home() / ".local" / "share" / "featherlight" / "models"
    assert not (tmp_path / "mine").exists()  # never created by asking


def test_runtime_works_with_torch_blocked(export_tiny):
    net, onnx_path, _ = export_tiny("chords", lookahead_frames=1)
    x = features(25, seed=4)
    with torch.no_grad():
        y = net(torch.from_numpy(np.concatenate([x, np.zeros((1, N_BINS), np.float32)]))[None])[0, 1:].numpy()
    np.save(onnx_path.parent / "x.npy", x)
    np.save(onnx_path.parent / "y.npy", y)
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'PySide6'): raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import numpy as np\n"
        "from models.runtime import OnnxTaskModel\n"
        f"folder = {str(onnx_path.parent)!r}\n"
        f"m = OnnxTaskModel({str(onnx_path)!r})\n"
        "p = m.run_offline(np.load(folder + '/x.npy'))\n"
        "assert np.abs(p - np.load(folder + '/y.npy')).max() < 1e-4, np.abs(p - np.load(folder + '/y.npy')).max()\n"
        "assert not any(n.split('.')[0] == 'torch' for n in sys.modules)\n"
        "print('ok', m.task, p.shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok chords (25, 133)"


def test_card_written_by_export_round_trips(export_tiny, tmp_path):
    net, onnx_path, card_path = export_tiny("pitch", lookahead_frames=2)
    card = load_card(card_path)
    assert card.labels[-1] == "voicing" and card.n_outputs == 361
    assert card.latency_ms == pytest.approx(32.0 + 10.0 * (2 + 2))
    assert save_card(card, tmp_path / "again.json") and load_card(tmp_path / "again.json") == card
