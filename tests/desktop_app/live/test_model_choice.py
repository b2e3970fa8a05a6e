"""ModelCatalog: bundled + user models per task, broken user models listed as unusable, analyser building."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from desktop_app.live.model_choice import ModelCatalog
from models.errors import ConfigError
from models.runtime.analyzer import Analyzer


def copy_model(src_dir, task, dst_dir, name=None):
    name = name or task
    dst_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(src_dir / f"{task}.onnx", dst_dir / f"{name}.onnx")
    card = json.loads((src_dir / f"{task}.json").read_text())
    card["name"] = name
    (dst_dir / f"{name}.json").write_text(json.dumps(card))
    return dst_dir / f"{name}.onnx"


@pytest.fixture
def folders(tmp_path, tiny_model_dir):
    bundled, user = tmp_path / "bundled", tmp_path / "user"
    for task in ("pitch", "chords", "drums", "onsets"):
        copy_model(tiny_model_dir, task, bundled, f"{task}_dense")
    copy_model(tiny_model_dir, "onsets", user, "onsets_mine")
    # broken user models: a card that is not JSON, a model without card, garbage bytes with a good card
    (user / "bad_card.onnx").write_bytes((tiny_model_dir / "drums.onnx").read_bytes())
    (user / "bad_card.json").write_text("{not json")
    (user / "no_card.onnx").write_bytes(b"\x00" * 10)
    garbage = copy_model(tiny_model_dir, "pitch", user, "pitch_garbage")
    garbage.write_bytes(b"this is not an onnx file")
    return bundled, user


def test_lists_bundled_then_user_with_details(folders, tiny_model_dir):
    bundled, user = folders
    catalog = ModelCatalog(bundled_dir=bundled, user_dir=user)
    onsets = catalog.options("onsets")
    assert [(o.key, o.usable) for o in onsets] == [("bundled:onsets_dense", True), ("user:onsets_mine", True)]
    card = json.loads((tiny_model_dir / "onsets.json").read_text())
    o = onsets[1]
    assert o.n_parameters == card["n_parameters"] > 0
    assert o.file_bytes == (tiny_model_dir / "onsets.onnx").stat().st_size
    assert o.latency_ms == card["latency_ms"] and o.path == user / "onsets_mine.onnx"
    assert "parameters" in o.describe() and "KiB" in o.describe()
    assert catalog.default_choice() == {"pitch": "bundled:pitch_dense", "chords": "bundled:chords_dense",
                                        "drums": "bundled:drums_dense", "onsets": "bundled:onsets_dense"}
    assert catalog.user_dir == user


def test_the_bundled_model_named_after_its_task_is_the_default(folders, tiny_model_dir):
    bundled, user = folders
    copy_model(tiny_model_dir, "drums", bundled, "drums")
    copy_model(tiny_model_dir, "drums", bundled, "drums-live")  # sorts before "drums.onnx"
    catalog = ModelCatalog(bundled_dir=bundled, user_dir=user)
    assert "bundled:drums-live" in [o.key for o in catalog.options("drums")]
    assert catalog.default_choice()["drums"] == "bundled:drums"
    assert catalog.default_choice()["onsets"] == "bundled:onsets_dense"  # none named "onsets": the first


def test_broken_user_models_are_unusable_with_a_reason_and_the_rest_work(folders):
    bundled, user = folders
    catalog = ModelCatalog(bundled_dir=bundled, user_dir=user)
    broken = {o.name: o for o in catalog.unusable()}
    assert set(broken) == {"bad_card", "no_card", "pitch_garbage"}
    assert broken["no_card"].task is None and "no model card no_card.json" in broken["no_card"].problem
    assert "bad_card.json" in broken["bad_card"].problem
    garbage = broken["pitch_garbage"]
    assert garbage.task == "pitch" and "not a usable ONNX model" in garbage.problem
    assert [o.key for o in catalog.options("pitch")] == ["bundled:pitch_dense", "user:pitch_garbage"]
    assert "unusable" in garbage.describe()
    with pytest.raises(ConfigError, match="user:pitch_garbage cannot be used: .*not a usable ONNX"):
        catalog.build_analyzer({"pitch": "user:pitch_garbage"})
    analyzer = catalog.build_analyzer({"pitch": "pitch_dense", "onsets": "user:onsets_mine"})
    assert isinstance(analyzer, Analyzer) and analyzer.tasks == ("pitch", "onsets")
    assert analyzer.analyze(np.zeros(8000, np.float32)).duration_s == 0.5


def test_errors_name_the_model_and_task(folders):
    bundled, user = folders
    catalog = ModelCatalog(bundled_dir=bundled, user_dir=user)
    with pytest.raises(ConfigError, match="no model 'nope'.*bundled:pitch_dense"):
        catalog.find("nope")
    with pytest.raises(ConfigError, match="onsets model but was chosen for drums"):
        catalog.build_analyzer({"drums": "user:onsets_mine"})
    with pytest.raises(ConfigError, match="unknown task 'melody'"):
        catalog.options("melody")


def test_time_per_hop_is_measured_once_and_cached(folders):
    bundled, user = folders
    catalog = ModelCatalog(bundled_dir=bundled, user_dir=user)
    assert catalog.cached_time_per_hop_us("bundled:drums_dense") is None
    first = catalog.time_per_hop_us("bundled:drums_dense", n_hops=20)
    assert first > 0
    assert catalog.time_per_hop_us("bundled:drums_dense") == first  # cached, not measured again
    assert catalog.cached_time_per_hop_us("bundled:drums_dense") == first


def test_refresh_and_missing_folders(folders, tiny_model_dir, tmp_path):
    bundled, user = folders
    catalog = ModelCatalog(bundled_dir=bundled, user_dir=tmp_path / "absent")
    assert [o.origin for o in catalog.all_options()] == ["bundled"] * 4
    catalog = ModelCatalog(scan_bundled=False, user_dir=user)
    assert [o.key for o in catalog.options("chords")] == []
    copy_model(tiny_model_dir, "chords", user, "chords_new")
    catalog.refresh()
    assert [o.key for o in catalog.options("chords")] == ["user:chords_new"]


def test_default_user_folder_comes_from_the_environment(monkeypatch, folders):
    bundled, user = folders
    monkeypatch.setenv("FEATHERLIGHT_MODEL_DIR", str(user))
    catalog = ModelCatalog(bundled_dir=bundled)
    assert catalog.user_dir == user and catalog.find("onsets_mine").origin == "user"
