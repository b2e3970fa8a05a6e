"""The spectrogram lane shows the store's columns incrementally; the playhead crosses every lane and pages
the view while following; a refresh after a small batch touches O(batch) items however long the analysis."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.live.store import AnalysisStore, SpectrogramConfig
from desktop_app.views.lane import CHUNK_POINTS
from desktop_app.views.piano_roll import F0_CHUNK_POINTS
from desktop_app.views.timeline import LAYER_NAMES, TimelineView
from models.annotations.types import ChordSegment, DrumHit, F0Track, Note
from models.errors import ConfigError
from models.runtime.analyzer import AnalysisEvents

HOP_S = 0.01


@pytest.fixture
def timeline(qtbot):
    view = TimelineView()
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    return view


def frames_events(frame0: int, frame1: int, n_bins: int = 288, value: float | None = None) -> AnalysisEvents:
    """Events of frames frame0..frame1-1 at live density, with features (``value`` everywhere, or a ramp)."""
    frames = np.arange(frame0, frame1)
    times = frames * HOP_S
    f0 = np.where(frames % 50 < 40, 220.0, -220.0)
    notes = tuple(Note(t, t + 0.4, 57) for t in times[frames % 50 == 0])
    chords = tuple(ChordSegment(t - 2.0, t, "C:maj") for t in times[(frames % 200 == 0) & (frames > 0)])
    drums = tuple(DrumHit(t, "kick") for t in times[frames % 25 == 0])
    features = (np.full((frames.size, n_bins), value, dtype=np.float32) if value is not None
                else (frames[:, None] % 9 + np.zeros((1, n_bins))).astype(np.float32))
    return AnalysisEvents(f0=F0Track(times, f0, np.ones(frames.size)), notes=notes, chords=chords,
                          current_chord="C:maj", drums=drums, onsets_s=times[frames % 50 == 0],
                          frames_done=frame1, latest_time_s=frame1 * HOP_S, features=features, first_frame=frame0)


def test_spectrogram_tiles_hold_the_store_columns_incrementally(timeline):
    lane = timeline.spectrogram
    store = AnalysisStore()
    store.add(frames_events(0, 700))
    timeline.refresh(store)
    assert lane.columns_drawn == 700 and len(lane.tiles) == 2  # 512 + 188 columns
    np.testing.assert_array_equal(lane.tiles[1].image, store.spectrogram.columns(512, 700))
    rect = lane.tiles[1].mapRectToParent(lane.tiles[1].boundingRect())
    assert rect.left() == pytest.approx(5.12) and rect.width() == pytest.approx(1.88)
    assert rect.bottom() - rect.top() == pytest.approx(96.0)  # 288 bins of 1/3 semitone
    assert rect.top() == pytest.approx(21 - 1 / 6)  # bin 0 centred on A0 (MIDI 21)
    first_tile = lane.tiles[0]
    store.add(frames_events(700, 703))
    timeline.refresh(store)
    stats = lane.draw_stats
    assert (stats.items_added, stats.set_data_calls, stats.points_sent) == (0, 1, 191)  # only the last tile
    assert lane.tiles[0] is first_tile and lane.columns_drawn == 703
    timeline.set_layer_visible("spectrogram", False)
    assert not any(t.isVisible() for t in lane.tiles) and timeline.layer_visible("spectrogram") is False
    store.add(frames_events(703, 1100))
    timeline.refresh(store)
    assert len(lane.tiles) == 3 and not lane.tiles[-1].isVisible()  # new tiles stay hidden
    timeline.set_layer_visible("spectrogram", True)
    assert all(t.isVisible() for t in lane.tiles)
    assert set(LAYER_NAMES) == {"spectrogram", "f0", "notes", "chords", "drums", "onsets"}
    with pytest.raises(ConfigError, match="unknown layer 'waveform'"):
        timeline.layer_visible("waveform")


def test_spectrogram_redraws_once_when_the_store_merges_columns(qtbot):
    view = TimelineView()
    qtbot.addWidget(view)
    store = AnalysisStore(spectrogram=SpectrogramConfig(max_columns=600))
    store.add(frames_events(0, 500, n_bins=4, value=1.0))
    view.refresh(store)
    store.add(frames_events(500, 800, n_bins=4, value=2.0))  # 800 frames > 600 columns: 400 of 20 ms
    view.refresh(store)
    lane = view.spectrogram
    assert lane.columns_drawn == 400 and len(lane.tiles) == 1
    rect = lane.tiles[0].mapRectToParent(lane.tiles[0].boundingRect())
    assert rect.width() == pytest.approx(8.0)
    np.testing.assert_array_equal(lane.tiles[0].image[[0, 249, 250, 399], 0], [32, 32, 64, 64])  # column 249 = frames 498-499
    store.clear()
    view.refresh(store)
    assert lane.tiles == [] and lane.columns_drawn == 0


def test_playhead_crosses_every_lane_and_pages_while_following(timeline, qtbot):
    timeline.set_live(False)
    timeline.show_whole(60.0)
    timeline.set_x_range(0.0, 10.0)
    timeline.set_playhead(4.0)
    assert len(timeline.playhead_lines) == len(timeline.plots) == 5
    assert all(line.isVisible() and line.value() == pytest.approx(4.0) for line in timeline.playhead_lines)
    timeline.set_playhead(12.0)  # not following: the view stays
    assert timeline.x_range() == pytest.approx((0.0, 10.0))
    timeline.set_following(True)  # pages so the playhead is 5 % of the width from the left
    assert timeline.x_range() == pytest.approx((11.5, 21.5))
    timeline.set_playhead(15.0)
    assert timeline.x_range() == pytest.approx((11.5, 21.5))  # in sight: no move
    timeline.set_playhead(21.6)
    assert timeline.x_range() == pytest.approx((21.1, 31.1))
    timeline.set_playhead(3.0)  # a seek back
    assert timeline.x_range() == pytest.approx((2.5, 12.5))
    with qtbot.waitSignal(timeline.followingChanged) as blocker:
        timeline.set_x_range(30.0, 40.0)  # the user looks elsewhere: following pauses
    assert blocker.args == [False] and timeline.following is False
    timeline.set_playhead(4.0)
    assert timeline.x_range() == pytest.approx((30.0, 40.0))
    timeline.set_x_range(0.0, 10.0)  # moving while not following changes nothing
    assert timeline.following is False
    timeline.set_playhead(None)
    assert timeline.playhead_s is None and not any(line.isVisible() for line in timeline.playhead_lines)


def test_a_refresh_after_a_small_batch_touches_o_batch_items_with_ten_minutes_drawn(timeline):
    store = AnalysisStore()
    n = 60_000  # 10 minutes of 10 ms frames
    for start in range(0, n, 6000):
        store.add(frames_events(start, start + 6000, n_bins=8))
    timeline.set_live(True)
    timeline.refresh(store)
    assert len(store.f0_track()) == n and timeline.piano_roll.voiced_point_count == 48_000
    assert len(timeline.piano_roll.f0_curve.chunks) == -(-n // F0_CHUNK_POINTS)
    lanes = (timeline.spectrogram, timeline.piano_roll, timeline.chord_lane, timeline.drum_lanes,
             timeline.onset_lane)
    # a batch of 2 frames holding one note, one chord, one onset, one drum hit: frames 60000 and 60001
    store.add(frames_events(n, n + 2, n_bins=8))
    timeline.refresh(store)
    stats = {lane.title: lane.draw_stats for lane in lanes}
    # the note and the chord go into their lanes' last block chunk, or start one (600.0 s starts a 20 s chunk
    # of notes); the f0 chunk already existed
    assert stats["Pitch and notes"].items_added == 1
    assert stats["Pitch and notes"].set_data_calls == 1
    assert stats["Pitch and notes"].points_sent == (n + 2) % F0_CHUNK_POINTS + 1  # the last chunk, not 60002
    assert stats["Chords"].items_added == 0  # the chord (598-600 s) joins the chunk from 580 s
    assert stats["Drums"].set_data_calls == 1 and stats["Drums"].points_sent == (n // 25 + 1) % CHUNK_POINTS
    assert stats["Onsets"].set_data_calls == 1 and stats["Onsets"].points_sent == (2 * (n // 50 + 1)) % CHUNK_POINTS
    assert stats["Spectrogram"].set_data_calls == 1 and stats["Spectrogram"].points_sent == (n + 2) % 512
    assert sum(s.items_added for s in stats.values()) == 1
    for s in stats.values():
        assert s.points_sent <= max(F0_CHUNK_POINTS, 512) + 1
    assert timeline.drum_lanes.marker_count == n // 25 + 1
    np.testing.assert_allclose(timeline.onset_lane.tick_times_s[-2:], [599.5, 600.0])
