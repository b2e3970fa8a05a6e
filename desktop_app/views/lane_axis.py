"""The axes of the timeline's plots: :class:`LaneAxis`, a pyqtgraph ``AxisItem`` that paints cheaply.

Why. With the view following the present, every plot's time axis changes each frame, so pyqtgraph rebuilds
and repaints every bottom axis at 60 Hz, and the piano roll's grid lines (drawn by its axes) cross the
whole plot. Measured offscreen at 1400x900 (scripts/bench_gui.py --part gui --profile), the axes took
about two thirds of the Qt paint. Three things made them expensive, and :class:`LaneAxis` removes them:

* Translucent lines. pyqtgraph fades tick and grid pens with alpha; Qt's raster engine draws a
  translucent line about six times slower than an opaque one. ``LaneAxis`` swaps each pen for the opaque
  colour it gives over the plot background (``background``), the same pixels on that background.
  So that data drawn later still covers the grid the way it did, a gridded axis is put *under* the view box
  (see :meth:`LaneAxis.setGrid`): the grid lies behind the note blocks and the f0 curve, as in a score.
* The finest tick level (a tick every 0.2 s on a 10 s view) is five times as many ticks as the two
  others, each a Python-built line spec; ``max_tick_level`` (default 1: major and minor ticks) drops it.
  The grid keeps a line every second and a stronger one every two.
* Linked time axes compute the same tick values: :meth:`LaneAxis.tickValues` keeps the last results of
  all ``LaneAxis`` instances, so the five time axes compute them once per frame.
"""

from __future__ import annotations

from collections import OrderedDict

import pyqtgraph as pg
from PySide6.QtCore import QLineF, Qt
from PySide6.QtGui import QColor, QPen

__all__ = ["LaneAxis", "opaque_over"]

#: Z of a gridded axis: under the view box (pyqtgraph's ViewBox sits at -100), over the scene background.
GRID_AXIS_Z = -200.0
_TICK_CACHE_SIZE = 16


def opaque_over(color: QColor, background: QColor) -> QColor:
    """The opaque colour ``color`` (with its alpha) gives when painted over the opaque ``background``."""
    a = color.alphaF()
    return QColor(round(color.red() * a + background.red() * (1 - a)),
                  round(color.green() * a + background.green() * (1 - a)),
                  round(color.blue() * a + background.blue() * (1 - a)))


class LaneAxis(pg.AxisItem):
    """An ``AxisItem`` drawing opaque ticks and grid lines, sharing tick values with identical axes.

    ``background``: the colour behind the plot (the timeline's white); ``max_tick_level``: 0 major ticks
    only, 1 major and minor (default), 2 pyqtgraph's default with the extra fine level.
    """

    _shared_ticks: OrderedDict = OrderedDict()  # (key) -> tick levels, for every LaneAxis
    _label_html: str | None = None  # what the label shows (set before pyqtgraph's __init__ updates it)

    def __init__(self, orientation: str, *, background=(255, 255, 255), max_tick_level: int = 1, **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self._background = pg.mkColor(background)
        self._opaque_pens: dict[tuple, QPen] = {}
        self.setStyle(maxTickLevel=int(max_tick_level))

    def setGrid(self, grid) -> None:  # noqa: N802 - pyqtgraph API
        """Grid lines (``grid``: their alpha 0..255, or False); a gridded axis is drawn under the data."""
        super().setGrid(grid)
        self.setZValue(0.5 if grid is False else GRID_AXIS_Z)

    # --- cheaper tick values ----------------------------------------------------------------------
    def tickValues(self, minVal: float, maxVal: float, size: float):  # noqa: N802 - pyqtgraph API
        key = (type(self), float(minVal), float(maxVal), float(size), self.scale, self.logMode,
               self.style["maxTickLevel"], self._tickDensity, self._tickSpacing)
        cache = LaneAxis._shared_ticks
        found = cache.get(key)
        if found is None:
            found = super().tickValues(minVal, maxVal, size)
            cache[key] = found
            if len(cache) > _TICK_CACHE_SIZE:
                cache.popitem(last=False)
        # callers get their own lists (pyqtgraph does not change them, a subclass might)
        return [(spacing, list(values)) for spacing, values in found]

    # --- the label ----------------------------------------------------------------------------------
    def _updateLabel(self) -> None:  # noqa: N802 - pyqtgraph's name
        """pyqtgraph's, but the label's HTML is set only when it changes: pyqtgraph sets it again on every range
        change (to update an SI prefix), which re-lays out the text, ~0.04 ms per axis per scrolled frame."""
        html = self.labelString()
        if html != self._label_html:
            self.label.setHtml(html)
            self._label_html = html
        self._adjustSize()
        self.picture = None
        self.update()

    # --- opaque pens --------------------------------------------------------------------------------
    def generateDrawSpecs(self, p):  # noqa: N802 - pyqtgraph API
        specs = super().generateDrawSpecs(p)
        if specs is None:
            return None
        axis_spec, tick_specs, text_specs = specs
        pen, p1, p2 = axis_spec
        axis_spec = (self._opaque(pen), p1, p2)
        swapped: dict[int, QPen] = {}  # pyqtgraph shares one pen per tick level: look each up once
        for k, (pen, p1, p2) in enumerate(tick_specs):
            opaque = swapped.get(id(pen))
            if opaque is None:
                opaque = swapped[id(pen)] = self._opaque(pen)
            tick_specs[k] = (opaque, p1, p2)
        return axis_spec, tick_specs, text_specs

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):  # noqa: N802, N803 - pyqtgraph API
        """pyqtgraph's drawing, with the ticks of one pen drawn by one ``drawLines`` call."""
        p.setRenderHint(p.RenderHint.Antialiasing, False)
        p.setRenderHint(p.RenderHint.TextAntialiasing, True)
        pen, p1, p2 = axisSpec
        p.setPen(pen)
        p.drawLine(p1, p2)
        run: list[QLineF] = []
        run_pen = None
        for pen, p1, p2 in tickSpecs:
            if pen is not run_pen:
                if run:
                    p.setPen(run_pen)
                    p.drawLines(run)
                run, run_pen = [], pen
            run.append(QLineF(p1, p2))
        if run:
            p.setPen(run_pen)
            p.drawLines(run)
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        p.setPen(self.textPen())
        p.setClipRect(self.boundingRect().toAlignedRect())
        for rect, flags, text in textSpecs:
            p.drawText(rect, int(flags), text)

    def _opaque(self, pen: QPen) -> QPen:
        color = pen.color()
        if color.alpha() == 255 or pen.brush().style() != Qt.BrushStyle.SolidPattern:
            return pen
        key = (color.rgba(), pen.widthF(), pen.isCosmetic(), pen.style(), self._background.rgba())
        opaque = self._opaque_pens.get(key)
        if opaque is None:
            opaque = QPen(pen)
            opaque.setColor(opaque_over(color, self._background))
            self._opaque_pens[key] = opaque
        return opaque
