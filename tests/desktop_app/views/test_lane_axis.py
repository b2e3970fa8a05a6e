"""LaneAxis: the timeline's axes draw what pyqtgraph's would on the white background, with opaque pens, the
grid under the data, two tick levels, and tick values computed once for identical axes."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter

from desktop_app.views.lane_axis import GRID_AXIS_Z, LaneAxis, opaque_over
from desktop_app.views.note_axis import NoteAxis
from desktop_app.views.timeline import TimelineView


@pytest.fixture
def timeline(qtbot):
    view = TimelineView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    view.grab()  # lay out and paint once, so the axes have their geometry
    return view


def test_opaque_over_blends_the_alpha_into_the_background():
    white = QColor(255, 255, 255)
    assert opaque_over(QColor(0, 0, 0, 38), white).getRgb() == (217, 217, 217, 255)
    assert opaque_over(QColor(100, 200, 0, 255), white).getRgb() == (100, 200, 0, 255)
    assert opaque_over(QColor(200, 100, 50, 0), QColor(10, 20, 30)).getRgb() == (10, 20, 30, 255)
    assert opaque_over(QColor(0, 0, 255, 51), QColor(0, 0, 0)).getRgb() == (0, 0, 51, 255)


def test_every_timeline_axis_is_a_lane_axis_and_note_axes_keep_their_note_names(timeline):
    for plot in timeline.plots:
        for side in ("left", "bottom", "top", "right"):  # the hidden top and right axes follow the range too
            assert isinstance(plot.getAxis(side), LaneAxis)
        assert not plot.getAxis("top").isVisible() and not plot.getAxis("right").isVisible()
    assert isinstance(timeline.plots[0].getAxis("left"), NoteAxis)
    assert isinstance(timeline.plots[1].getAxis("left"), NoteAxis)
    assert timeline.plots[1].getAxis("left").tickStrings([60, 69], 1, 1) == ["C4", "A4"]


def test_the_piano_roll_grid_lies_under_the_data_and_plain_axes_keep_pyqtgraphs_place(timeline):
    pitch_plot = timeline.piano_roll.plot
    for name in ("left", "bottom"):
        assert pitch_plot.getAxis(name).zValue() == GRID_AXIS_Z < pitch_plot.getViewBox().zValue()
    assert timeline.chord_lane.plot.getAxis("bottom").zValue() == 0.5
    axis = timeline.chord_lane.plot.getAxis("bottom")
    axis.setGrid(80)
    assert axis.zValue() == GRID_AXIS_Z
    axis.setGrid(False)
    assert axis.zValue() == 0.5


def _specs(axis, method):
    image = QImage(10, 10, QImage.Format.Format_ARGB32_Premultiplied)
    painter = QPainter(image)
    try:
        return method(axis, painter)
    finally:
        painter.end()


@pytest.mark.parametrize("plot_index,name", [(1, "bottom"), (1, "left"), (4, "bottom"), (0, "bottom")])
def test_draw_specs_are_pyqtgraphs_with_each_translucent_pen_made_opaque_over_white(timeline, plot_index, name):
    axis = timeline.plots[plot_index].getAxis(name)
    ours = _specs(axis, LaneAxis.generateDrawSpecs)
    theirs = _specs(axis, pg.AxisItem.generateDrawSpecs)
    assert ours is not None and theirs is not None
    (our_axis, our_ticks, our_text), (their_axis, their_ticks, their_text) = ours, theirs
    assert len(our_ticks) == len(their_ticks) > 0
    white = QColor(255, 255, 255)
    for (pen, p1, p2), (their_pen, q1, q2) in zip([our_axis, *our_ticks], [their_axis, *their_ticks]):
        assert (p1, p2) == (q1, q2)
        assert pen.color().alpha() == 255
        assert pen.color().getRgb() == opaque_over(their_pen.color(), white).getRgb()
    assert [(r, int(f), t) for r, f, t in our_text] == [(r, int(f), t) for r, f, t in their_text]
    if plot_index == 1 and name == "bottom":  # the grid: lines across the whole plot, once translucent
        assert any(p.color().alpha() < 255 for p, _a, _b in their_ticks)
        assert our_ticks[0][2].y() - our_ticks[0][1].y() > 100


def test_batched_tick_drawing_paints_the_same_pixels_as_pyqtgraph(timeline):
    axis = timeline.piano_roll.plot.getAxis("bottom")
    specs = _specs(axis, LaneAxis.generateDrawSpecs)
    rect = axis.boundingRect().toAlignedRect()
    images = []
    for draw in (LaneAxis.drawPicture, pg.AxisItem.drawPicture):
        image = QImage(rect.width() + 2, rect.height() + 2, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.white)
        painter = QPainter(image)
        painter.translate(-rect.left(), -rect.top())
        draw(axis, painter, *specs)
        painter.end()
        images.append(image)
    blank = QImage(images[0])
    blank.fill(Qt.GlobalColor.white)
    assert images[0] != blank  # the grid was drawn
    assert images[0] == images[1]


def test_time_axes_show_major_and_minor_ticks_only(qtbot):
    axis = LaneAxis("bottom")
    levels = axis.tickValues(0.0, 10.0, 900.0)
    assert [spacing for spacing, _ in levels] == [2.0, 1.0]
    assert levels[0][1] == pytest.approx([0, 2, 4, 6, 8, 10])
    assert levels[1][1] == pytest.approx([1, 3, 5, 7, 9])
    assert [s for s, _ in LaneAxis("bottom", max_tick_level=2).tickValues(0.0, 10.0, 900.0)] == [2.0, 1.0, 0.2]


def test_identical_axes_compute_their_tick_values_once(qtbot, monkeypatch):
    calls = []
    original = pg.AxisItem.tickValues

    def counting(self, lo, hi, size):
        calls.append((lo, hi, size))
        return original(self, lo, hi, size)

    monkeypatch.setattr(pg.AxisItem, "tickValues", counting)
    monkeypatch.setattr(LaneAxis, "_shared_ticks", type(LaneAxis._shared_ticks)())
    first, second = LaneAxis("bottom"), LaneAxis("bottom")
    a = first.tickValues(3.25, 13.25, 877.0)
    b = second.tickValues(3.25, 13.25, 877.0)
    assert a == b and len(calls) == 1
    a[0][1].append(99.0)  # each caller owns its lists
    assert second.tickValues(3.25, 13.25, 877.0) == b and 99.0 not in b[0][1]
    second.tickValues(3.25, 13.25, 878.0)  # another length is another computation
    LaneAxis("bottom", max_tick_level=0).tickValues(3.25, 13.25, 877.0)  # and another tick level
    assert len(calls) == 3
    assert np.allclose(b[0][1], [4.0, 6.0, 8.0, 10.0, 12.0])


def test_the_label_is_set_again_only_when_it_changes(qtbot, monkeypatch):
    axis = LaneAxis("bottom")
    axis.setLabel("time", units="s")
    item = pg.PlotItem(axisItems={"bottom": axis})
    set_html = []
    monkeypatch.setattr(axis.label, "setHtml", lambda html: set_html.append(html))
    for start in np.arange(100) * 0.1:  # a live view scrolling: same units, same prefix
        axis.setRange(start, start + 10.0)
    assert set_html == []
    axis.setRange(0.0, 0.01)  # milliseconds now: the label follows
    assert len(set_html) == 1 and "ms" in set_html[0]
    axis.setLabel("onset", units="s")
    assert "onset" in set_html[-1]
    assert item is not None


def test_scrolling_the_timeline_sets_no_axis_label(timeline, monkeypatch):
    from PySide6.QtWidgets import QGraphicsTextItem

    calls = []
    original = QGraphicsTextItem.setHtml
    monkeypatch.setattr(QGraphicsTextItem, "setHtml", lambda item, html: calls.append(html) or original(item, html))
    for start in range(20):
        timeline.set_x_range(start, start + 10.0)
    assert calls == []
