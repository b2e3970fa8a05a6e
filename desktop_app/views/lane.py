"""What every view on the shared time axis has in common: a plot, a layer switch and a "no model" state;
and :class:`ChunkedSeries`, a point series drawn as fixed-size chunks so a refresh resends only the newest.

Redraw cost. A lane never resends what it drew before: a refresh adds new notes and chords to the last
block chunk only, and point series (the f0 curve, drum markers, onset ticks) live in chunks of at most
``chunk_points`` points, of which only the last one is refilled. So a refresh after a small batch costs
O(batch + chunk_points) whatever the length of the analysis. Paint cost. Every chunk kind lives in a
:class:`~desktop_app.views.chunks.ChunkCuller`, which keeps in the scene only the chunks near the visible
time range, so a frame paints (and Qt and pyqtgraph walk) a number of items bounded by what is visible,
not by the session. Zoomed out so far that a series has more than ``decimate_above`` points per pixel
column, its chunks show a decimated copy (a few points per column, see ``desktop_app.views.chunks``),
recomputed only when the zoom crosses a power of two. Every lane counts what it sends in
:attr:`Lane.draw_stats`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg

from desktop_app.live.store import LAYER_TASK, LAYERS, AnalysisStore, GrowableColumn, StoreChanges
from desktop_app.views.chunks import ChunkCuller

__all__ = ["ChunkedSeries", "DrawStats", "Lane"]

#: Points per chunk of a :class:`ChunkedSeries` (5 s of 10 ms f0 frames).
CHUNK_POINTS = 512
#: A :class:`ChunkedSeries` with a decimator draws a decimated copy beyond this many points per pixel column.
DECIMATE_ABOVE = 4.0


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
    fills it. Only the last chunk is refilled on :meth:`append`; full chunks are never touched again
    (unless the view zooms out past ``decimate_above`` points per pixel: then the chunks in view show
    ``decimate(x, y, pixel_x)`` instead, per power-of-two zoom level). The chunks live in a
    :class:`ChunkCuller` (only those near the visible x range are in the plot). Quacks like one item for
    visibility (``setVisible`` / ``isVisible``).
    """

    def __init__(self, plot: pg.PlotItem, make_item: Callable[[], pg.GraphicsObject],
                 set_data: Callable[[pg.GraphicsObject, np.ndarray, np.ndarray], None], stats: DrawStats,
                 chunk_points: int = CHUNK_POINTS, overlap: int = 0,
                 decimate: Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]] | None = None,
                 decimate_above: float = DECIMATE_ABOVE) -> None:
        self.culler = ChunkCuller(plot.getViewBox())
        self._decimate = decimate
        self.decimate_above = float(decimate_above)
        self._level: int | None = None  # the zoom level shown (None: every point)
        self._shown: list[int | None] = []  # per chunk, the level its item holds
        self._decimated: list[dict[int, tuple[np.ndarray, np.ndarray]]] = []  # per full chunk, per level
        if decimate is not None:  # connected after the culler's own handler: the chunks in view are known
            plot.getViewBox().sigXRangeChanged.connect(self._on_x_range_changed)
        self.overlap = int(overlap)  # 1 for curves, so consecutive chunks join up
        self._make_item = make_item
        self._set_data = set_data
        self._stats = stats
        self.chunk_points = int(chunk_points)
        self._visible = True
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

    @property
    def chunks(self) -> list[pg.GraphicsObject]:
        """Every chunk item, in time order, in the plot or not."""
        return self.culler.items

    def isVisible(self) -> bool:  # noqa: N802 - the Qt name, so lanes treat it as an item
        return self._visible

    def setVisible(self, visible: bool) -> None:  # noqa: N802
        self._visible = bool(visible)
        for item in self.chunks:
            item.setVisible(self._visible)

    def clear(self) -> None:
        self.culler.clear()
        self._shown, self._decimated = [], []
        self._x, self._y = GrowableColumn(), GrowableColumn()
        self._first = 0

    @property
    def level(self) -> int | None:
        """The zoom level the chunks in view are drawn at: None for every point, else ``L`` for a decimated copy
        with pixel columns ``2**-L`` x units wide."""
        return self._level

    def _zoom_level(self) -> int | None:
        n = len(self._x)
        if self._decimate is None or n < 2:
            return None
        px_per_x = self.culler.pixels_per_x()
        span = float(self._x.values[-1] - self._x.values[0])
        if px_per_x <= 0 or span <= 0 or n / (span * px_per_x) <= self.decimate_above:
            return None
        return math.floor(math.log2(px_per_x))

    def _chunk_slice(self, k: int) -> slice:
        start = max(k * self.chunk_points - self.overlap, 0)  # a curve chunk starts at the previous one's last point
        return slice(start, min((k + 1) * self.chunk_points, len(self._x)))

    def _show(self, k: int, x: np.ndarray, y: np.ndarray) -> None:
        """Fill chunk ``k``'s item with its points ``x, y`` at the current zoom level."""
        level = self._level
        if level is not None:
            cached = self._decimated[k].get(level)
            if cached is None:
                cached = self._decimate(x, y, 2.0 ** -level)
                if (k + 1) * self.chunk_points <= len(self._x):  # a full chunk never changes again
                    self._decimated[k][level] = cached
            x, y = cached
        self._set_data(self.chunks[k], x, y)
        self._shown[k] = self._level
        self._stats.set_data_calls += 1
        self._stats.points_sent += x.size

    def _on_x_range_changed(self, _viewbox, _x_range) -> None:
        self._level = self._zoom_level()
        for k in self.culler.attached_indices:
            if self._shown[k] != self._level:
                part = self._chunk_slice(k)
                self._show(k, self._x.values[part].copy(), self._y.values[part].copy())

    def append(self, x: np.ndarray, y: np.ndarray) -> None:
        """Add points (in x order); refill the last chunk and start new ones as they fill up."""
        x, y = np.asarray(x, dtype=np.float64).reshape(-1), np.asarray(y, dtype=np.float64).reshape(-1)
        if x.size == 0:
            return
        self._x.extend(x)
        self._y.extend(y)
        n, size = len(self._x), self.chunk_points
        self._level = self._zoom_level()
        while self._first < n:
            k = self._first // size
            if len(self.chunks) <= k:
                self._new_chunk()
            part = self._chunk_slice(k)
            x_chunk, y_chunk = self._x.values[part].copy(), self._y.values[part].copy()
            self._show(k, x_chunk, y_chunk)
            self.culler.update(k, *_span(x_chunk, y_chunk))
            if part.stop - self._first < size:
                break
            self._first = part.stop

    def _new_chunk(self) -> None:
        item = self._make_item()
        item.setVisible(self._visible)
        self._shown.append(None)
        self._decimated.append({})
        self.culler.add(item, math.inf, -math.inf)  # placed when filled
        self._stats.items_added += 1


def _span(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) of the points (y of the finite ones; NaN when none is finite)."""
    finite = y[np.isfinite(y)]
    if finite.size == 0:
        return float(x.min()), float(x.max()), math.nan, math.nan
    return float(x.min()), float(x.max()), float(finite.min()), float(finite.max())


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
        own = [layer for layer in LAYERS if LAYER_TASK[layer] == self.task] if self.task else []
        if any(layer in changes.replaced for layer in own) and not changes.cleared:
            # a layer of this lane was replaced (whole-file chords): redraw all of this lane's layers
            changes = dataclasses.replace(changes, **{layer: (0, changes.range(layer)[1]) for layer in own})
            self._clear_items()
        elif changes.cleared:
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
