"""What every view on the shared time axis has in common: a plot, a layer switch and a "no model" state;
and :class:`ChunkedSeries`, a point series drawn as fixed-size chunks so a refresh resends only the newest.

Redraw cost. A lane never resends what it drew before: a refresh adds graphics items for new notes and
chords only, and point series (the f0 curve, drum markers, onset ticks) live in chunks of at most
``chunk_points`` points, of which only the last one is refilled. So a refresh after a small batch costs
O(batch + chunk_points) whatever the length of the analysis, and a paint draws only the chunks whose
bounds meet the view (Qt culls the others). Every lane counts what it sends in :attr:`Lane.draw_stats`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg

from desktop_app.live.store import AnalysisStore, GrowableColumn, StoreChanges

__all__ = ["ChunkedSeries", "DrawStats", "Lane"]

#: Points per chunk of a :class:`ChunkedSeries` (5 s of 10 ms f0 frames).
CHUNK_POINTS = 512


@dataclass
class DrawStats:
    """What the last :meth:`Lane.apply_changes` sent to pyqtgraph (for tests and benchmarks)."""

    items_added: int = 0  # graphics items added to the plot
    set_data_calls: int = 0  # setData / setImage calls
    points_sent: int = 0  # points (or image columns) in those calls

    def reset(self) -> None:
        self.items_added = self.set_data_calls = self.points_sent = 0


class ChunkedSeries:
    """Append-only (x, y) points drawn by items of at most ``chunk_points`` points each.

    ``make_item()`` builds one empty item (a PlotDataItem or ScatterPlotItem); ``set_data(item, x, y)``
    fills it. Only the last chunk is refilled on :meth:`append`; full chunks are never touched again.
    Quacks like one item for visibility (``setVisible`` / ``isVisible``).
    """

    def __init__(self, plot: pg.PlotItem, make_item: Callable[[], pg.GraphicsObject],
                 set_data: Callable[[pg.GraphicsObject, np.ndarray, np.ndarray], None], stats: DrawStats,
                 chunk_points: int = CHUNK_POINTS, overlap: int = 0) -> None:
        self._plot = plot
        self.overlap = int(overlap)  # 1 for curves, so consecutive chunks join up
        self._make_item = make_item
        self._set_data = set_data
        self._stats = stats
        self.chunk_points = int(chunk_points)
        self._visible = True
        self.chunks: list[pg.GraphicsObject] = []
        self._x = GrowableColumn()
        self._y = GrowableColumn()
        self._first = 0  # index of the first point of the last chunk (a multiple of chunk_points)

    def __len__(self) -> int:
        return len(self._x)

    @property
    def x(self) -> np.ndarray:
        return self._x.values

    @property
    def y(self) -> np.ndarray:
        return self._y.values

    def isVisible(self) -> bool:  # noqa: N802 - the Qt name, so lanes treat it as an item
        return self._visible

    def setVisible(self, visible: bool) -> None:  # noqa: N802
        self._visible = bool(visible)
        for item in self.chunks:
            item.setVisible(self._visible)

    def clear(self) -> None:
        for item in self.chunks:
            self._plot.removeItem(item)
        self.chunks = []
        self._x, self._y = GrowableColumn(), GrowableColumn()
        self._first = 0

    def append(self, x: np.ndarray, y: np.ndarray) -> None:
        """Add points (in x order); refill the last chunk and start new ones as they fill up."""
        x, y = np.asarray(x, dtype=np.float64).reshape(-1), np.asarray(y, dtype=np.float64).reshape(-1)
        if x.size == 0:
            return
        self._x.extend(x)
        self._y.extend(y)
        n, size = len(self._x), self.chunk_points
        while self._first < n:
            k = self._first // size
            if len(self.chunks) <= k:
                self._new_chunk()
            start = max(self._first - self.overlap, 0)  # a curve chunk starts at the previous one's last point
            stop = min(self._first + size, n)
            self._set_data(self.chunks[k], self._x.values[start:stop].copy(), self._y.values[start:stop].copy())
            self._stats.set_data_calls += 1
            self._stats.points_sent += stop - start
            if stop - self._first < size:
                break
            self._first = stop

    def _new_chunk(self) -> None:
        item = self._make_item()
        item.setVisible(self._visible)
        self._plot.addItem(item)
        self.chunks.append(item)
        self._stats.items_added += 1


class Lane:
    """One plot on the shared time axis, drawing one store layer (or two, for the piano roll).

    Subclasses implement :meth:`_clear_items` and :meth:`_add` (draw store items ``start:stop``).
    """

    title: str = ""
    task: str = ""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.draw_stats = DrawStats()
        self._visible = True
        self._has_model = True
        self._no_model_text = pg.TextItem("no model", color=(160, 160, 160), anchor=(0.5, 0.5))
        self._no_model_text.setVisible(False)
        self.plot.getViewBox().addItem(self._no_model_text, ignoreBounds=True)
        self.plot.setTitle(self.title)
        self.plot.hideButtons()

    # --- state ----------------------------------------------------------------------------------
    @property
    def visible(self) -> bool:
        return self._visible

    def set_visible(self, visible: bool) -> None:
        """Show or hide the layer's items (the lane keeps its place so the axis does not jump)."""
        self._visible = bool(visible)
        for item in self.items():
            item.setVisible(self._visible)

    @property
    def has_model(self) -> bool:
        return self._has_model

    def set_has_model(self, has_model: bool) -> None:
        """No model for this task: the lane says "no model" and the title tells it too."""
        self._has_model = bool(has_model)
        self._no_model_text.setVisible(not self._has_model)
        self.plot.setTitle(self.title if self._has_model else f"{self.title} - no model")
        if not self._has_model:
            self._place_no_model_text()

    def _place_no_model_text(self) -> None:
        (x0, x1), (y0, y1) = self.plot.getViewBox().viewRange()
        self._no_model_text.setPos((x0 + x1) / 2, (y0 + y1) / 2)

    # --- drawing --------------------------------------------------------------------------------
    def apply_changes(self, store: AnalysisStore, changes: StoreChanges) -> None:
        self.draw_stats.reset()
        if changes.cleared:
            self._clear_items()
        self._add(store, changes)
        if not self._has_model:
            self._place_no_model_text()

    def items(self) -> list:
        raise NotImplementedError

    def _clear_items(self) -> None:
        raise NotImplementedError

    def _add(self, store: AnalysisStore, changes: StoreChanges) -> None:
        raise NotImplementedError
