"""File analysis in the main window with tiny random-weight user models: the views hold exactly the
store's events, which equal Analyzer.analyze on the same audio; errors leave the window usable."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.live.model_choice import ModelCatalog
from desktop_app.main_window import MainWindow
from models.audio import load_audio


def make_window(qtbot, user_dir) -> MainWindow:
    window = MainWindow(catalog=ModelCatalog(scan_bundled=False, user_dir=user_dir), device_lister=lambda: [])
    qtbot.addWidget(window)
    window.show()
    return window


def analyse(window, qtbot, path) -> None:
    assert window.open_file(path) is True
    with qtbot.waitSignal(window.file_job.done, timeout=60000):
        pass
    window.redraw()


def test_open_file_fills_views_with_exactly_the_analysis(qtbot, user_models, wav, message_boxes):
    window = make_window(qtbot, user_models)
    assert not window.banner.isVisible()
    assert window.analysed_tasks == ("pitch", "chords", "drums", "onsets")
    analyse(window, qtbot, wav)
    assert message_boxes == []
    store = window.store
    counts = store.counts()
    # the same as featherlight analyze: chords decoded over the whole file when it ends
    reference = window.catalog.build_analyzer(window.choice, whole_file=True).analyze(load_audio(wav, 16000, mono=True))
    assert counts == {"f0": len(reference.f0), "notes": len(reference.notes), "chords": len(reference.chords),
                      "drums": len(reference.drums), "onsets": reference.onsets.size}
    assert min(counts.values()) > 0, counts  # the fixture models give events in every layer
    views = window.timeline
    assert views.piano_roll.note_count == counts["notes"]
    assert views.piano_roll.voiced_point_count == int(np.count_nonzero(reference.f0.f0_hz > 0))
    assert views.chord_lane.block_count == counts["chords"]
    assert views.chord_lane.label_texts() == [c.label for c in reference.chords]
    assert views.drum_lanes.marker_count == counts["drums"]
    assert views.drum_lanes.classes == ("kick", "snare", "hihat", "tom", "crash", "ride")[:6]
    np.testing.assert_allclose(views.onset_lane.tick_times_s, reference.onsets, atol=1e-6)
    assert not window.progress_bar.isVisible()
    assert "Analysed melody.wav" in window.statusBar().currentMessage()
    x0, x1 = views.x_range()
    assert x0 == pytest.approx(0.0) and x1 >= 3.0  # the whole file is shown
    assert views.following is False


def test_layer_actions_hide_and_show_the_drawn_items(qtbot, user_models, wav):
    window = make_window(qtbot, user_models)
    analyse(window, qtbot, wav)
    window.layer_actions["notes"].setChecked(False)
    assert not any(item.isVisible() for item in window.timeline.piano_roll.notes.chunks)
    window.layer_actions["drums"].setChecked(False)
    assert not window.timeline.drum_lanes.markers.isVisible()
    window.layer_actions["notes"].setChecked(True)
    window.layer_actions["drums"].setChecked(True)
    assert all(item.isVisible() for item in window.timeline.piano_roll.notes.chunks)
    assert window.timeline.drum_lanes.markers.isVisible()


def test_unreadable_file_shows_one_error_and_the_window_stays_usable(qtbot, user_models, wav, tmp_path,
                                                                     message_boxes):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"this is not a wav file at all")
    window = make_window(qtbot, user_models)
    analyse(window, qtbot, bad)
    assert len(message_boxes) == 1
    title, text = message_boxes[0]
    assert title == "Analysis failed" and "broken.wav" in text
    assert not window.progress_bar.isVisible()
    analyse(window, qtbot, wav)  # still works
    assert len(message_boxes) == 1
    assert window.timeline.piano_roll.note_count == window.store.counts()["notes"] > 0


def test_missing_file_is_reported_without_starting_a_job(qtbot, user_models, tmp_path, message_boxes):
    window = make_window(qtbot, user_models)
    assert window.open_file(tmp_path / "nowhere.flac") is False
    assert message_boxes[0][0] == "Cannot open file" and "nowhere.flac" in message_boxes[0][1]
    assert window.file_job is None


def test_tasks_without_a_model_show_no_model_and_the_others_run(qtbot, tmp_path, wav, message_boxes, write_models):
    folder = tmp_path / "some_models"
    write_models(folder, tasks=("pitch", "onsets"))
    window = make_window(qtbot, folder)
    assert window.analysed_tasks == ("pitch", "onsets")
    assert window.banner.isVisible() and "No model for chords, drums" in window.banner.text()
    assert not window.timeline.chord_lane.has_model and not window.timeline.drum_lanes.has_model
    assert window.timeline.piano_roll.has_model and window.timeline.onset_lane.has_model
    analyse(window, qtbot, wav)
    assert message_boxes == []
    assert window.store.tasks == ("pitch", "onsets")
    assert window.store.counts()["chords"] == 0 and window.timeline.chord_lane.block_count == 0
    assert window.timeline.piano_roll.note_count == window.store.counts()["notes"] > 0


def test_tuner_shows_the_note_of_a_steady_tone(qtbot, user_models, make_events):
    window = make_window(qtbot, user_models)
    window.store.add(make_events(f0_times_s=np.arange(30) * 0.01, f0_hz=np.full(30, 261.63), latest_time_s=0.3))
    window.redraw()
    assert window.tuner.note_label.text() == "C4"
    assert "0 cents" in window.tuner.cents_label.text()


def test_follow_action_tracks_the_timeline(qtbot, user_models, make_events):
    window = make_window(qtbot, user_models)
    window.timeline.set_live(True)
    assert window.follow_action.isChecked()
    window.store.add(make_events(latest_time_s=40.0))
    window.redraw()
    assert window.timeline.x_range()[1] == pytest.approx(40.0)
    window.timeline.set_x_range(0.0, 10.0)
    assert window.follow_action.isChecked() is False
    window.follow_action.setChecked(True)
    assert window.timeline.following and window.timeline.x_range()[1] == pytest.approx(40.0)
