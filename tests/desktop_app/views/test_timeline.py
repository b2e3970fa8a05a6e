"""The lanes on the shared time axis draw exactly the store's events, incrementally; layers hide and
show; live following pauses when the view is moved back and resumes on request."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.live.store import AnalysisStore
from desktop_app.views.note_axis import NoteAxis
from desktop_app.views.piano_roll import hz_to_midi
from desktop_app.views.timeline import TimelineView
from desktop_app.views.tuner import TunerWidget, format_cents
from models.annotations.types import DrumHit, Note
from models.errors import ConfigError


@pytest.fixture
def timeline(qtbot):
    view = TimelineView()
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    return view


def test_lanes_hold_exactly_the_store_events(timeline, sample):
    store = AnalysisStore()
    store.add(sample())
    assert timeline.refresh(store) is True
    assert timeline.piano_roll.note_count == 2
    rect = timeline.piano_roll.note_rects()[0]
    assert (rect.left(), rect.width(), rect.center().y()) == pytest.approx((0.0, 0.6, 69.0))
    assert timeline.piano_roll.voiced_point_count == 60
    assert timeline.chord_lane.block_count == 3
    assert timeline.chord_lane.label_texts() == ["C:maj", "N", "A:min"]
    assert timeline.drum_lanes.marker_count == 4
    np.testing.assert_array_equal(timeline.drum_lanes.markers_of("hihat"), [1.5, 2.0])
    np.testing.assert_array_equal(timeline.drum_lanes.markers_of("kick"), [0.5])
    np.testing.assert_array_equal(timeline.onset_lane.tick_times_s, [0.0, 1.0, 2.5])
    assert timeline.refresh(store) is False  # nothing new: nothing redrawn


def test_refresh_adds_only_the_new_events_and_redraws_after_a_clear(timeline, sample, make_events):
    store = AnalysisStore()
    store.add(sample())
    timeline.refresh(store)
    first_chunk = timeline.piano_roll.notes.chunks[0]
    store.add(make_events(notes=[Note(3.0, 3.5, 62)], drums=[DrumHit(3.0, "kick")], onsets_s=[3.0], latest_time_s=5.0))
    timeline.refresh(store)
    assert timeline.piano_roll.note_count == 3
    assert timeline.piano_roll.notes.chunks == [first_chunk]  # added to the chunk, nothing rebuilt
    assert timeline.piano_roll.draw_stats.items_added == 0
    assert timeline.drum_lanes.marker_count == 5
    np.testing.assert_array_equal(timeline.onset_lane.tick_times_s, [0.0, 1.0, 2.5, 3.0])
    store.clear()
    timeline.refresh(store)
    assert timeline.piano_roll.note_count == 0 and timeline.piano_roll.notes.chunks == []
    assert timeline.chord_lane.block_count == 0
    assert timeline.drum_lanes.marker_count == 0
    assert timeline.onset_lane.tick_times_s.size == 0
    assert timeline.piano_roll.voiced_point_count == 0


def test_whole_file_chords_redraw_the_chord_lane_only(timeline, sample, make_events):
    import dataclasses

    from models.annotations.types import ChordSegment

    store = AnalysisStore()
    store.add(sample())
    timeline.refresh(store)
    notes_chunks = list(timeline.piano_roll.notes.chunks)
    revised = (ChordSegment(0.0, 2.5, "C:maj"), ChordSegment(2.5, 4.0, "G:7"))
    store.add(dataclasses.replace(make_events(latest_time_s=4.0), revised_chords=revised))
    assert timeline.refresh(store) is True
    assert timeline.chord_lane.label_texts() == ["C:maj", "G:7"]
    assert timeline.chord_lane.block_count == 2
    assert timeline.piano_roll.notes.chunks == notes_chunks and timeline.piano_roll.note_count == 2  # untouched
    assert timeline.drum_lanes.marker_count == 4


def test_whole_file_f0_and_notes_redraw_the_piano_roll(timeline, sample, make_events):
    import dataclasses

    from models.annotations.types import F0Track

    store = AnalysisStore()
    store.add(sample())
    timeline.refresh(store)
    assert timeline.piano_roll.note_count == 2 and timeline.piano_roll.voiced_point_count == 60
    times = np.arange(100) * 0.01
    revised_f0 = F0Track(times, np.where(np.arange(100) < 80, 220.0, -220.0), np.ones(100))
    store.add(dataclasses.replace(make_events(latest_time_s=4.0), revised_f0=revised_f0,
                                  revised_notes=(Note(0.0, 0.8, 57),)))
    timeline.refresh(store)
    assert timeline.piano_roll.note_count == 1 and timeline.piano_roll.voiced_point_count == 80
    rect = timeline.piano_roll.note_rects()[0]
    assert (rect.left(), rect.width(), rect.center().y()) == pytest.approx((0.0, 0.8, 57.0))
    assert timeline.chord_lane.block_count == 3  # untouched


def test_layers_hide_and_show(timeline, sample, make_events):
    store = AnalysisStore()
    store.add(sample())
    timeline.refresh(store)
    timeline.set_layer_visible("notes", False)
    assert not any(item.isVisible() for item in timeline.piano_roll.notes.chunks)
    assert timeline.piano_roll.f0_curve.isVisible()
    timeline.set_layer_visible("f0", False)
    assert not timeline.piano_roll.f0_curve.isVisible()
    timeline.set_layer_visible("chords", False)
    assert not any(item.isVisible() for item in timeline.chord_lane.segments.chunks)
    timeline.set_layer_visible("drums", False)
    assert not timeline.drum_lanes.markers.isVisible()
    timeline.set_layer_visible("onsets", False)
    assert not timeline.onset_lane.ticks.isVisible()
    # events arriving while hidden stay hidden (here in a chunk of their own)
    store.add(make_events(notes=[Note(30.0, 30.5, 62)], latest_time_s=31.0))
    timeline.refresh(store)
    assert len(timeline.piano_roll.notes.chunks) == 2 and not timeline.piano_roll.notes.chunks[-1].isVisible()
    for layer in ("notes", "f0", "chords", "drums", "onsets"):
        timeline.set_layer_visible(layer, True)
    assert all(item.isVisible() for item in timeline.piano_roll.notes.chunks)
    assert all(item.isVisible() for item in timeline.chord_lane.segments.chunks)
    assert timeline.drum_lanes.markers.isVisible() and timeline.onset_lane.ticks.isVisible()
    with pytest.raises(ConfigError, match="unknown layer 'bass'"):
        timeline.set_layer_visible("bass", False)


def test_lanes_without_a_model_say_so(timeline):
    timeline.set_models_present(("pitch", "onsets"))
    assert timeline.chord_lane.has_model is False and timeline.drum_lanes.has_model is False
    assert "no model" in timeline.chord_lane.plot.titleLabel.text
    assert "no model" not in timeline.piano_roll.plot.titleLabel.text
    assert timeline.chord_lane._no_model_text.isVisible()


def test_drum_rows_follow_the_model_classes(timeline):
    timeline.drum_lanes.set_classes(("kick", "snare", "hihat", "tom"))
    ticks = timeline.drum_lanes.plot.getAxis("left")._tickLevels[0]
    assert sorted(ticks) == [(0, "tom"), (1, "hihat"), (2, "snare"), (3, "kick")]


def test_follow_pauses_when_moved_back_and_resumes(timeline, qtbot, make_events):
    store = AnalysisStore()
    timeline.set_live(True)
    assert timeline.following
    store.add(make_events(latest_time_s=30.0))
    timeline.refresh(store)
    x0, x1 = timeline.x_range()
    assert x1 == pytest.approx(30.0) and x1 - x0 == pytest.approx(10.0)
    with qtbot.waitSignal(timeline.followingChanged) as blocker:
        timeline.set_x_range(5.0, 15.0)
    assert blocker.args == [False]
    assert timeline.following is False
    store.add(make_events(latest_time_s=31.0))
    timeline.refresh(store)
    assert timeline.x_range() == pytest.approx((5.0, 15.0))  # stays where the user put it
    timeline.set_following(True)
    assert timeline.x_range() == pytest.approx((21.0, 31.0))
    store.add(make_events(latest_time_s=32.5))
    timeline.refresh(store)
    assert timeline.x_range() == pytest.approx((22.5, 32.5))


def test_note_axis_labels_and_hz_to_midi():
    axis = NoteAxis("left")
    assert axis.tickStrings([60, 61, 69, 72], 1.0, 1.0) == ["C4", "C#4", "A4", "C5"]
    major, minor = axis.tickValues(55.5, 73.0, 400)
    assert major == (12.0, [60, 72])
    assert 69 in minor[1]
    np.testing.assert_allclose(hz_to_midi(np.array([440.0, 0.0, -220.0, 261.6255653])), [69, np.nan, np.nan, 60],
                               atol=1e-6)


def test_tuner_reads_note_cents_and_chord(qtbot, make_events):
    tuner = TunerWidget()
    qtbot.addWidget(tuner)
    store = AnalysisStore()
    tuner.update_from(store)
    assert tuner.note_label.text() == "--" and tuner.chord_label.text() == "--"
    steady = 440.0 * 2 ** (10 / 1200)  # A4 + 10 cents
    store.add(make_events(f0_times_s=np.arange(20) * 0.01, f0_hz=np.full(20, steady), current_chord="A:min",
                     latest_time_s=0.2))
    tuner.update_from(store)
    assert tuner.note_label.text() == "A4"
    assert "+10 cents" in tuner.cents_label.text()
    assert tuner.f0_label.text() == "442.5 Hz"
    assert tuner.chord_label.text() == "A:min"
    assert format_cents(-3.4) == "-3 cents" and format_cents(0.2) == "0 cents"


def test_f0_jumps_are_gaps_not_strokes():
    from desktop_app.views.piano_roll import break_jumps

    x = np.array([0.0, 0.01, 0.02, 0.03, 0.04])
    y = np.array([60.0, 60.2, 48.0, 48.1, np.nan])
    bx, by = break_jumps(x, y, previous_midi=59.9)
    np.testing.assert_array_equal(bx, [0.0, 0.01, 0.02, 0.02, 0.03, 0.04])
    np.testing.assert_array_equal(by, [60.0, 60.2, np.nan, 48.0, 48.1, np.nan])
    bx, by = break_jumps(x[:2], y[:2], previous_midi=72.0)  # a jump from the last point drawn
    assert np.isnan(by[0]) and by.size == 3
