"""A long live session costs a paint no more than a short one: the lanes keep in the scene only the chunks
near the visible time range (notes and chords batched per chunk), and scrolling back or zooming out brings
the old events back. Counts, not timings (scripts/bench_gui.py measures those)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen, QTransform

from desktop_app.live.store import AnalysisStore
from desktop_app.views.chunks import BlockChunk, merge_row_runs
from desktop_app.views.timeline import TimelineView
from models.annotations.types import ChordSegment, DrumHit, F0Track, Note
from models.runtime.analyzer import AnalysisEvents

HOP_S = 0.01
PAINTED_TYPES = ("BlockChunk", "ImageItem", "PlotCurveItem", "ScatterPlotItem")


def frames_events(frame0: int, frame1: int, n_bins: int = 8) -> AnalysisEvents:
    """Frames frame0..frame1-1 at live density: f0 every frame, a note every 0.5 s (pitch stepping), a chord
    every 2 s, four drum hits and two onsets a second, a spectrogram column per frame."""
    frames = np.arange(frame0, frame1)
    times = frames * HOP_S
    f0 = np.where(frames % 50 < 40, 220.0 * 2 ** ((frames // 50 % 12) / 12), -220.0)
    notes = tuple(Note(t, t + 0.4, 57 + int(t * 2) % 12) for t in times[frames % 50 == 0])
    chords = tuple(ChordSegment(t - 2.0, t, "C:maj" if int(t) % 4 else "A:min7")
                   for t in times[(frames % 200 == 0) & (frames > 0)])
    drums = tuple(DrumHit(t, ("kick", "snare", "hihat")[int(t * 4) % 3]) for t in times[frames % 25 == 0])
    features = (frames[:, None] % 9 + np.zeros((1, n_bins))).astype(np.float32)
    return AnalysisEvents(f0=F0Track(times, f0, np.ones(frames.size)), notes=notes, chords=chords,
                          current_chord="C:maj", drums=drums, onsets_s=times[frames % 50 == 0], frames_done=frame1,
                          latest_time_s=frame1 * HOP_S, features=features, first_frame=frame0)


@pytest.fixture
def painted(monkeypatch) -> dict[str, int]:
    """Counts paint() calls per item type; patched before the views are built (PySide binds a Python paint
    override when an item is made)."""
    import pyqtgraph as pg

    from desktop_app.views import chunks

    counts: dict[str, int] = {}
    for cls in (chunks.BlockChunk, pg.ImageItem, pg.PlotCurveItem, pg.ScatterPlotItem):
        original = cls.__dict__["paint"]

        def paint(item, painter, option, widget=None, _original=original, _name=cls.__name__):
            counts[_name] = counts.get(_name, 0) + 1
            return _original(item, painter, option, widget)

        monkeypatch.setattr(cls, "paint", paint)
    return counts


def live_session(qtbot, minutes: float, batch_frames: int = 6000) -> tuple[TimelineView, AnalysisStore]:
    """A timeline following a live session of ``minutes`` (drawn in one-minute batches, then two small ones)."""
    view = TimelineView()
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    view.set_live(True)
    store = AnalysisStore()
    n = int(round(minutes * 60 / HOP_S))
    for start in range(0, n, batch_frames):
        store.add(frames_events(start, min(start + batch_frames, n)))
        view.refresh(store)
    for start in (n, n + 2):  # live frames after the history
        store.add(frames_events(start, start + 2))
        view.refresh(store)
    return view, store


def paint_once(view: TimelineView, painted: dict[str, int]) -> dict[str, int]:
    painted.clear()
    image = view.graphics.grab().toImage()
    assert not image.isNull()
    return dict(painted)


def in_scene(view: TimelineView) -> int:
    return len(view.graphics.scene().items())


def test_a_30_minute_session_paints_as_many_items_as_a_2_minute_one(qtbot, painted):
    short, short_store = live_session(qtbot, 2)
    long, long_store = live_session(qtbot, 30)
    assert long.following and long.x_range() == pytest.approx((1790.04, 1800.04))
    assert long.piano_roll.note_count == long_store.counts()["notes"] == 3601
    assert long.chord_lane.block_count == long_store.counts()["chords"] > 800
    assert len(long.spectrogram.tiles) > 100 and len(long.piano_roll.notes.chunks) >= 90

    short_paints, long_paints = paint_once(short, painted), paint_once(long, painted)
    assert set(long_paints) == set(PAINTED_TYPES)  # every kind of item is drawn
    for name in PAINTED_TYPES:
        assert long_paints[name] <= short_paints[name] + 1, (name, short_paints, long_paints)
    assert sum(long_paints.values()) <= 20, long_paints
    assert in_scene(long) <= in_scene(short) + 4  # what Qt walks (axes, labels, chunks near the view)
    lanes = (long.piano_roll.notes, long.piano_roll.f0_curve, long.chord_lane.segments,
             long.drum_lanes.markers, long.onset_lane.ticks)
    for series in lanes:
        assert 1 <= len(series.culler.attached) <= 3, series
    assert 1 <= len(long.spectrogram.culler.attached) <= 6

    # 30 s more of live frames, 3 at a time: following, the chunks left behind leave the scene
    for start in range(180_004, 180_004 + 3000, 3):
        long_store.add(frames_events(start, start + 3))
        long.refresh(long_store)
    assert long.x_range()[1] == pytest.approx(1830.04)
    for series in lanes:
        assert len(series.culler.attached) <= 3
    assert in_scene(long) <= in_scene(short) + 4


def test_scrolling_back_and_zooming_out_show_the_old_events_again(qtbot, painted):
    view, store = live_session(qtbot, 30)
    view.set_x_range(100.0, 110.0)  # the user drags back 28 minutes
    assert view.following is False

    def attached_notes() -> set[tuple[float, float]]:
        return {(r.left(), r.center().y()) for chunk in view.piano_roll.notes.culler.attached for r in chunk.rects}

    expected = {(n.onset_s, float(n.pitch_midi)) for n in store.notes_between(100.0, 110.0)}
    assert len(expected) == 20 and expected <= {(round(a, 6), b) for a, b in attached_notes()}
    labels = {label for chunk in view.chord_lane.segments.culler.attached for label in chunk.labels}
    assert labels == {"C:maj", "A:min7"}
    for series, times in ((view.drum_lanes.markers, [h.time_s for h in store.drums_between(100.0, 110.0)]),
                          (view.onset_lane.ticks, store.onsets_between(100.0, 110.0)),
                          (view.piano_roll.f0_curve, store.f0_between(100.0, 110.0).times_s)):
        shown = np.concatenate([chunk.getData()[0] for chunk in series.culler.attached])
        assert np.isin(np.round(times, 6), np.round(shown, 6)).all()
    tiles = [tile.mapRectToParent(tile.boundingRect()) for tile in view.spectrogram.culler.attached]
    assert min(r.left() for r in tiles) <= 100.0 and max(r.right() for r in tiles) >= 110.0
    paints = paint_once(view, painted)
    assert paints["BlockChunk"] >= 2 and sum(paints.values()) <= 20, paints  # notes and chords drawn there

    # zoomed out over the whole session: every chunk is in, and the batched notes still paint quickly
    view.set_x_range(0.0, 1800.0)
    for series in (view.piano_roll.notes, view.chord_lane.segments, view.drum_lanes.markers):
        assert len(series.culler.attached) == len(series.chunks)
    paints = paint_once(view, painted)
    assert paints["BlockChunk"] == len(view.piano_roll.notes.chunks) + len(view.chord_lane.segments.chunks)

    # the plot menu's "View All" still sees every chunk, shown or not
    view.set_x_range(100.0, 110.0)
    view.x_plot.getViewBox().autoRange(padding=0)
    x0, x1 = view.x_range()
    assert x0 <= 0.1 and x1 >= 1800.0


def test_merge_row_runs_joins_blocks_closer_than_the_gap_on_each_row():
    x0 = np.array([0.0, 1.0, 1.05, 5.0, 0.0, 0.3, 10.0])
    x1 = np.array([0.9, 1.02, 2.0, 5.001, 4.0, 0.5, 10.5])
    row = np.array([0, 0, 0, 0, 1, 1, 1])
    a, b, r = merge_row_runs(x0, x1, row, gap=0.2, min_width=0.01)
    np.testing.assert_allclose(a, [0.0, 5.0, 0.0, 10.0])
    np.testing.assert_allclose(b, [2.0, 5.01, 4.0, 10.5])  # 5.0-5.001 widened; 0.3-0.5 inside 0-4
    np.testing.assert_array_equal(r, [0, 0, 1, 1])


def _render(chunk: BlockChunk, px_per_s: float, size=(600, 40)) -> np.ndarray:
    """Paint ``chunk`` (x 0..) into a white image, y 0..2 over its height (flipped as in a plot)."""
    image = QImage(*size, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setTransform(QTransform(px_per_s, 0, 0, -size[1] / 2.0, 0, size[1]))
    chunk.paint(painter, None)
    painter.end()
    ptr = image.constBits()
    pixels = np.frombuffer(ptr, dtype=np.uint8, count=image.sizeInBytes()).reshape(size[1], -1, 4)
    return pixels[:, :size[0], :3].copy()  # the image's memory goes with it


def test_block_chunk_zoomed_out_still_shows_every_block(qtbot):
    chunk = BlockChunk(QPen(QColor(40, 90, 160)), [QBrush(QColor(70, 130, 200, 150))])
    for k in range(1000):  # 0.05 s blocks every 0.5 s on two rows: 500 s
        chunk.add(k * 0.5, k * 0.5 + 0.05, (k % 2) + 0.1, (k % 2) + 0.9, row=k % 2)
    assert len(chunk) == 1000 and chunk.boundingRect().width() == pytest.approx(499.55)
    pixels = _render(chunk, px_per_s=1.0)  # a block is 0.05 px wide: drawn merged
    inked = (pixels < 250).any(axis=2)
    upper, lower = inked[:20], inked[20:]
    assert upper.any(axis=0)[:499].all() and lower.any(axis=0)[:499].all()  # no block is lost
    assert not inked[:, 505:].any()
    detail = _render(chunk, px_per_s=100.0, size=(600, 40))  # 5 px blocks: drawn one by one
    columns = (detail < 250).any(axis=2).any(axis=0)
    assert columns[:6].all() and not columns[10:45].any() and columns[50:56].all()


def test_chunk_culler_keeps_chunks_near_the_view_with_a_margin(qtbot):
    import pyqtgraph as pg
    from PySide6.QtWidgets import QGraphicsRectItem

    from desktop_app.views.chunks import ChunkCuller

    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    viewbox = widget.getViewBox()
    viewbox.setRange(xRange=(0.0, 10.0), padding=0)
    culler = ChunkCuller(viewbox, margin=0.5)
    items = [QGraphicsRectItem(QRectF(10.0 * k, 0.0, 10.0, 1.0)) for k in range(100)]  # 0..1000 s
    for k, item in enumerate(items):
        culler.add(item, 10.0 * k, 10.0 * (k + 1), 0.0, 1.0)

    def shown() -> list[int]:
        return [k for k, item in enumerate(items) if item.scene() is not None]

    assert shown() == [0, 1] and culler.attached == items[:2]  # 0..10 s plus 5 s each side
    viewbox.setRange(xRange=(500.0, 510.0), padding=0)
    assert shown() == [49, 50, 51]
    viewbox.setRange(xRange=(508.0, 518.0), padding=0)
    assert shown() == [49, 50, 51, 52]  # 49 is 8 s behind: within twice the margin, kept
    viewbox.setRange(xRange=(521.0, 531.0), padding=0)
    assert shown() == [51, 52, 53]
    viewbox.setRange(xRange=(0.0, 1000.0), padding=0)
    assert shown() == list(range(100))
    viewbox.setRange(xRange=(21.0, 31.0), padding=0)
    assert shown() == [1, 2, 3, 4]  # 1..3 within the margin, 4 (from 40 s) within twice it
    assert culler.data_bounds(0) == (0.0, 1000.0) and culler.data_bounds(1) == (0.0, 1.0)
    culler.update(3, 30.0, 40.0, -2.0, 1.0)
    assert culler.data_bounds(1) == (-2.0, 1.0)
    culler.clear()
    assert shown() == [] and len(culler) == 0 and culler.data_bounds(0) is None


def test_decimators_keep_the_shape_breaks_and_one_mark_per_pixel_column():
    from desktop_app.views.chunks import decimate_curve, decimate_markers, decimate_ticks

    x = np.arange(12) * 0.25  # 4 points per unit-wide column
    y = np.array([60.0, 61.0, 59.0, 60.5, 62.0, np.nan, 50.0, 50.5, 51.0, 50.0, np.nan, np.nan])
    dx, dy = decimate_curve(x, y, 1.0)
    # column 0 (60, 61, 59, 60.5) rises overall: low then high; column 1 holds 62 then the break; the next
    # stretch spans columns 1 (50, 50.5) and 2 (51, 50); all-NaN tail: nothing
    np.testing.assert_allclose(dx, [0.0, 0.75, 1.0, 1.0, 1.0, 1.5, 1.75, 2.0, 2.25, 2.25])
    np.testing.assert_allclose(dy, [59.0, 61.0, 62.0, 62.0, np.nan, 50.0, 50.5, 51.0, 50.0, np.nan])
    mx, my = decimate_markers(np.array([0.1, 0.2, 0.3, 1.5, 0.15]), np.array([0.0, 0.0, 1.0, 0.0, 1.0]), 1.0)
    np.testing.assert_allclose(mx, [0.1, 0.3, 1.5])
    np.testing.assert_allclose(my, [0.0, 1.0, 0.0])
    tx, ty = decimate_ticks(np.repeat([0.1, 0.4, 2.2], 2), np.tile([0.05, 0.95], 3), 1.0)
    np.testing.assert_allclose(tx, [0.1, 0.1, 2.2, 2.2])
    np.testing.assert_allclose(ty, [0.05, 0.95] * 2)


def test_zoomed_out_series_show_decimated_copies_and_every_point_again_zoomed_in(qtbot):
    view, store = live_session(qtbot, 30)
    f0, drums = view.piano_roll.f0_curve, view.drum_lanes.markers
    assert f0.level is None and drums.level is None  # following a 10 s window: every point
    last = f0.culler.attached_indices[-1]
    assert f0.chunks[last].getData()[0].size == len(f0.x) - last * f0.chunk_points + 1
    view.set_x_range(0.0, 1800.0)  # 100 f0 points and 4 drum hits a second, ~1000 px: both decimated
    assert f0.level is not None and drums.level is not None
    shown = sum(chunk.getData()[0].size for chunk in f0.chunks)
    assert shown < len(f0.x) / 4
    hits = np.concatenate([chunk.getData()[0] for chunk in drums.chunks])
    assert hits.size < len(drums) / 2
    assert np.isin(np.round(hits, 6), np.round(drums.x, 6)).all()  # real hits, fewer
    view.set_x_range(100.0, 110.0)
    assert f0.level is None
    for k in f0.culler.attached_indices:
        np.testing.assert_array_equal(f0.chunks[k].getData()[0], f0.x[f0._chunk_slice(k)])
