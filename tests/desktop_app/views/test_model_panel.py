"""ModelPanel: rows filled from a real catalog of tiny ONNX models, the choiceChanged payload, the
measured time per hop arriving from the pool thread, and restoring a saved choice with unknown keys."""

from __future__ import annotations

import json
import shutil

import pytest
from PySide6.QtCore import Qt

from desktop_app.live.model_choice import ModelCatalog
from desktop_app.views.model_panel import MEASURING_TEXT, OFF, ModelPanel
from models.errors import ConfigError


def copy_model(src_dir, task, dst_dir, name, pruning_rounds=0):
    dst_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(src_dir / f"{task}.onnx", dst_dir / f"{name}.onnx")
    card = json.loads((src_dir / f"{task}.json").read_text())
    card["name"] = name
    card["pruning_history"] = [{"round": k, "fraction_kept": 0.8 ** (k + 1)} for k in range(pruning_rounds)]
    (dst_dir / f"{name}.json").write_text(json.dumps(card))


@pytest.fixture
def catalog(tmp_path, view_model_dir):
    bundled, user = tmp_path / "bundled", tmp_path / "user"
    for task in ("pitch", "chords", "drums", "onsets"):
        copy_model(view_model_dir, task, bundled, f"{task}_dense")
    copy_model(view_model_dir, "onsets", bundled, "onsets_t3", pruning_rounds=3)
    copy_model(view_model_dir, "onsets", user, "onsets_mine")
    (user / "drums_broken.onnx").write_bytes((view_model_dir / "drums.onnx").read_bytes())
    card = json.loads((view_model_dir / "drums.json").read_text())
    card["latency_ms"] = -5  # a card that fails validation, with a readable task
    (user / "drums_broken.json").write_text(json.dumps(card))
    return ModelCatalog(bundled_dir=bundled, user_dir=user)


@pytest.fixture
def panel(qtbot, catalog):
    widget = ModelPanel(catalog, n_hops=5)
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()


def combo_entries(panel, task):
    combo = panel.combo(task)
    return [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]


def test_rows_list_every_option_with_origin_and_off(panel, catalog):
    assert combo_entries(panel, "onsets") == [
        ("onsets_dense (bundled, dense)", "bundled:onsets_dense"),
        ("onsets_t3 (bundled, trimmed (3 rounds))", "bundled:onsets_t3"),
        ("onsets_mine (user)", "user:onsets_mine"),
        ("off", OFF),
    ]
    assert combo_entries(panel, "pitch") == [("pitch_dense (bundled, dense)", "bundled:pitch_dense"), ("off", OFF)]
    assert panel.choice() == {"pitch": "bundled:pitch_dense", "chords": "bundled:chords_dense",
                              "drums": "bundled:drums_dense", "onsets": "bundled:onsets_dense"}
    assert [panel.combo(t).currentData() for t in ("pitch", "chords", "drums", "onsets")] == \
           ["bundled:pitch_dense", "bundled:chords_dense", "bundled:drums_dense", "bundled:onsets_dense"]
    option = catalog.find("bundled:onsets_dense")
    details = panel.details_text("onsets")
    assert f"{option.n_parameters:,} params" in details
    assert f"{option.file_bytes / 1024:.1f} KiB" in details and f"latency {option.latency_ms:.0f} ms" in details
    assert panel.warning_text == ""


def test_unusable_model_is_greyed_out_with_the_reason(panel, catalog):
    entries = combo_entries(panel, "drums")
    assert entries[1] == ("drums_broken (user) - unusable", "user:drums_broken")
    combo = panel.combo("drums")
    assert not combo.model().item(1).isEnabled()
    assert combo.model().item(0).isEnabled()
    tooltip = combo.itemData(1, Qt.ItemDataRole.ToolTipRole)
    assert tooltip.startswith("Cannot be used:") and "latency_ms" in tooltip


def test_choice_changed_payload_and_off_omits_the_task(panel, qtbot):
    with qtbot.waitSignal(panel.choiceChanged, timeout=1000) as blocker:
        panel.combo("onsets").setCurrentIndex(2)
    assert blocker.args == [{"pitch": "bundled:pitch_dense", "chords": "bundled:chords_dense",
                             "drums": "bundled:drums_dense", "onsets": "user:onsets_mine"}]
    with qtbot.waitSignal(panel.choiceChanged, timeout=1000) as blocker:
        panel.combo("chords").setCurrentIndex(panel.combo("chords").findData(OFF))
    assert blocker.args == [{"pitch": "bundled:pitch_dense", "drums": "bundled:drums_dense",
                             "onsets": "user:onsets_mine"}]
    assert panel.details_text("chords") == "off" and panel.hop_text("chords") == ""


def test_time_per_hop_is_measured_in_the_background_and_cached(panel, catalog, qtbot):
    # the constructor queued the four default models; each row shows "measuring..." until its result
    assert all(panel.hop_text(t) in (MEASURING_TEXT,) or "µs/hop" in panel.hop_text(t)
               for t in ("pitch", "chords", "drums", "onsets"))
    qtbot.waitUntil(lambda: all("µs/hop" in panel.hop_text(t) for t in ("pitch", "chords", "drums", "onsets")),
                    timeout=30000)
    value = catalog.cached_time_per_hop_us("bundled:pitch_dense")
    assert value is not None and value > 0
    assert panel.hop_text("pitch").startswith(f"{value:,.0f} µs/hop (")
    assert "% of real time)" in panel.hop_text("pitch")
    # a model not measured yet: "measuring..." first, then its own figure
    with qtbot.waitSignal(panel.hopTimeMeasured, timeout=30000) as blocker:
        panel.combo("onsets").setCurrentIndex(1)
        assert panel.hop_text("onsets") == MEASURING_TEXT
    assert blocker.args[:2] == ["onsets", "bundled:onsets_t3"]
    assert panel.hop_text("onsets") == f"{catalog.cached_time_per_hop_us('bundled:onsets_t3'):,.0f} µs/hop (" \
        + panel.hop_text("onsets").split("(", 1)[1]
    # choosing it again uses the cache: no new measurement (the finished one's thread may still be winding
    # down when its signal arrives, so wait for the pool before counting)
    assert panel.thread_pool.waitForDone(30000)
    measured = []
    panel.hopTimeMeasured.connect(lambda *args: measured.append(args))
    panel.combo("onsets").setCurrentIndex(0)
    panel.combo("onsets").setCurrentIndex(1)
    assert "µs/hop" in panel.hop_text("onsets")
    assert panel.thread_pool.waitForDone(30000)
    qtbot.wait(50)  # deliver any queued result
    assert measured == []


def test_set_choice_restores_and_unknown_keys_fall_back_with_a_warning(panel, qtbot):
    with qtbot.waitSignal(panel.choiceChanged, timeout=1000) as blocker:
        effective = panel.set_choice({"pitch": "user:pitch_gone", "onsets": "user:onsets_mine",
                                      "drums": "user:drums_broken", "chords": OFF})
    expected = {"pitch": "bundled:pitch_dense", "drums": "bundled:drums_dense", "onsets": "user:onsets_mine"}
    assert effective == expected and blocker.args == [expected] and panel.choice() == expected
    assert panel.combo("onsets").currentData() == "user:onsets_mine"
    assert panel.combo("chords").currentData() == OFF
    warning = panel.warning_text
    assert "no pitch model 'user:pitch_gone'" in warning and "using bundled:pitch_dense instead" in warning
    assert "user:drums_broken cannot be used" in warning
    # a model of the wrong task is named as such
    panel.set_choice({"pitch": "user:onsets_mine"})
    assert panel.choice() == {"pitch": "bundled:pitch_dense"}
    assert "'user:onsets_mine' is a onsets model, not a pitch model" in panel.warning_text
    # a clean restore clears the warning and emits nothing when nothing changes
    panel.set_choice({"pitch": "bundled:pitch_dense"})
    assert panel.warning_text == ""
    with qtbot.assertNotEmitted(panel.choiceChanged):
        panel.set_choice({"pitch": "bundled:pitch_dense"})


def test_refresh_after_rescan_keeps_the_choice_or_falls_back(panel, catalog, qtbot):
    panel.set_choice({"onsets": "user:onsets_mine", "pitch": "bundled:pitch_dense"})
    (catalog.user_dir / "onsets_mine.onnx").unlink()
    catalog.refresh()
    with qtbot.waitSignal(panel.choiceChanged, timeout=1000) as blocker:
        panel.refresh()
    assert blocker.args == [{"pitch": "bundled:pitch_dense", "onsets": "bundled:onsets_dense"}]
    assert [data for _, data in combo_entries(panel, "onsets")] == ["bundled:onsets_dense", "bundled:onsets_t3", OFF]
    assert "no onsets model 'user:onsets_mine'" in panel.warning_text


def test_empty_catalog_and_bad_arguments(qtbot, tmp_path):
    panel = ModelPanel(ModelCatalog(scan_bundled=False, user_dir=tmp_path / "nothing"))
    qtbot.addWidget(panel)
    assert panel.choice() == {}
    assert combo_entries(panel, "pitch") == [("off", OFF)]
    assert panel.details_text("pitch") == "no model found"
    effective = panel.set_choice({"pitch": "bundled:pitch_dense", "melody": "x"})
    assert effective == {}
    assert "pitch is off (no usable pitch model)" in panel.warning_text
    assert "ignored unknown task 'melody'" in panel.warning_text
    with pytest.raises(ConfigError, match="unknown task 'melody'"):
        panel.combo("melody")
    with pytest.raises(ConfigError, match="n_hops must be at least 1, got 0"):
        ModelPanel(ModelCatalog(scan_bundled=False, user_dir=tmp_path / "nothing"), n_hops=0)
