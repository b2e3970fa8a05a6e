"""Time chunks: what keeps a frame's paint bounded by what is visible rather than by the session length.

On every paint Qt visits every child of a view box (asking each for its bounding rect, in Python for
pyqtgraph items, whose curves recompute their bounds after every scroll), and pyqtgraph sends each of them a
range and a transform signal, handled in Python, on every scroll. With one item per note and two per chord,
and every spectrogram tile and curve chunk kept in the scene, a frame's cost grew with the session: about
0.1 ms per 10 s of live session, so an hour would stall a 60 Hz view. Two pieces fix that:

- :class:`ChunkCuller` holds a lane's chunk items (note and chord blocks, curve and marker chunks, image
  tiles), each with its data bounds, and keeps in the view box only those whose time span meets the
  visible x range plus a margin each side. The others are out of the scene: Qt does not walk them and
  pyqtgraph does not signal them. On every x-range change one numpy comparison over the chunk spans finds
  the chunks that crossed the margin, and only those are added or removed, so scrolling back or zooming out
  brings old chunks back. Chunks leave only when they are a further margin away, so a view moving back and
  forth at an edge does not churn. The culler also answers pyqtgraph's auto-range ("View All" in the plot
  menu) for all its chunks, shown or not, through one bounds-only item.
- :class:`BlockChunk` is one item drawing many rectangles (note or chord blocks) with one ``drawRects``
  per brush, plus optional labels (chord names) drawn upright, left-aligned in their block and elided to
  fit it. When the blocks are a few pixels wide or less (a view zoomed out over a long session), it draws a
  merged version instead: blocks of one kind on a row less than a pixel apart become one block, at least a
  pixel wide, so a whole hour costs a few hundred outlined rectangles instead of thousands of slivers
  (outlining a sliver costs as much as four lines).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

__all__ = ["BlockChunk", "BlockSeries", "ChunkCuller", "decimate_curve", "decimate_markers", "decimate_ticks",
           "merge_row_runs"]

#: Margin each side of the visible x range, as a fraction of its width, within which chunks are added to the
#: view; they are removed once they are twice as far away.
CULL_MARGIN = 0.5
#: A block chunk holds the blocks starting within this many seconds of its first one, at most BLOCK_CHUNK_MAX.
BLOCK_CHUNK_S = 20.0
BLOCK_CHUNK_MAX = 256


class _BoundsItem(QGraphicsItem):
    """Paints nothing; tells pyqtgraph's auto-range the bounds of every chunk of a culler, shown or not."""

    def __init__(self, culler: ChunkCuller) -> None:
        super().__init__()
        self._culler = culler
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return QRectF()

    def paint(self, painter, option, widget=None) -> None:
        pass

    def dataBounds(self, axis: int, frac: float = 1.0, orthoRange=None):  # noqa: N802 - pyqtgraph's name
        return self._culler.data_bounds(axis, orthoRange)


class ChunkCuller:
    """The chunk items of one kind in one view box; only those near the visible x range are in the scene.

    :meth:`add` takes an item (not yet in any view) and its data bounds; :meth:`update` changes a chunk's
    bounds as it grows. Items keep their z value and visibility; the culler only adds them to the view box
    or removes them. :attr:`items` lists every chunk in the order added, shown or not.
    """

    def __init__(self, viewbox: pg.ViewBox, margin: float = CULL_MARGIN) -> None:
        self._viewbox = viewbox
        self.margin = float(margin)
        self.items: list[QGraphicsItem] = []
        self._bounds = np.empty((64, 4), dtype=np.float64)  # x0, x1, y0, y1 per chunk
        self._attached: set[int] = set()
        self._window = tuple(float(v) for v in viewbox.viewRange()[0])
        self._extent = _BoundsItem(self)
        viewbox.addItem(self._extent)  # counted by auto-range; paints nothing
        viewbox.sigXRangeChanged.connect(self._on_x_range_changed)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def attached(self) -> list[QGraphicsItem]:
        """The chunks now in the view box, in the order added."""
        return [self.items[i] for i in sorted(self._attached)]

    # --- chunks -----------------------------------------------------------------------------------------
    def add(self, item: QGraphicsItem, x0: float, x1: float, y0: float = math.nan, y1: float = math.nan) -> int:
        """A new chunk spanning ``x0..x1`` (seconds; ``y0..y1`` for auto-range, NaN when unknown); its index."""
        index = len(self.items)
        if index == self._bounds.shape[0]:
            self._bounds = np.concatenate([self._bounds, np.empty_like(self._bounds)])
        self.items.append(item)
        self._bounds[index] = (x0, x1, y0, y1)
        self._place(index)
        return index

    def update(self, index: int, x0: float, x1: float, y0: float = math.nan, y1: float = math.nan) -> None:
        """Chunk ``index`` now spans ``x0..x1`` (it grew)."""
        self._bounds[index] = (x0, x1, y0, y1)
        self._place(index)

    def clear(self) -> None:
        """Take every chunk out of the view and forget them."""
        for index in self._attached:
            self._viewbox.removeItem(self.items[index])
        self._attached = set()
        self.items = []

    def data_bounds(self, axis: int, ortho_range=None) -> tuple[float, float] | None:
        """(min, max) of every chunk's bounds on ``axis`` (0 = x, 1 = y), only chunks meeting ``ortho_range`` on
        the other axis when given; None when there are none."""
        b = self._bounds[: len(self.items)]
        if ortho_range is not None and ortho_range[0] is not None and b.size:
            lo_col, hi_col = (2, 3) if axis == 0 else (0, 1)
            b = b[(b[:, lo_col] <= ortho_range[1]) & (b[:, hi_col] >= ortho_range[0])]
        lo, hi = b[:, 2 * axis], b[:, 2 * axis + 1]
        lo, hi = lo[np.isfinite(lo)], hi[np.isfinite(hi)]
        if lo.size == 0 or hi.size == 0:
            return None
        return float(lo.min()), float(hi.max())

    # --- culling ----------------------------------------------------------------------------------------
    def _zone(self, factor: float) -> tuple[float, float]:
        x0, x1 = self._window
        pad = factor * self.margin * max(x1 - x0, 0.0)
        return x0 - pad, x1 + pad

    def _place(self, index: int) -> None:
        lo, hi = self._zone(1.0 if index not in self._attached else 2.0)
        x0, x1 = self._bounds[index, :2]
        if x0 <= hi and x1 >= lo:
            self._attach(index)
        else:
            self._detach(index)

    def _on_x_range_changed(self, _viewbox, x_range) -> None:
        self.set_window(float(x_range[0]), float(x_range[1]))

    def set_window(self, x0: float, x1: float) -> None:
        """The visible x range moved: add the chunks within a margin of it, remove those beyond twice that."""
        self._window = (x0, x1)
        n = len(self.items)
        if n == 0:
            return
        starts, ends = self._bounds[:n, 0], self._bounds[:n, 1]
        if self._attached:
            lo, hi = self._zone(2.0)
            for index in [i for i in self._attached if not (starts[i] <= hi and ends[i] >= lo)]:
                self._detach(index)
        lo, hi = self._zone(1.0)
        for index in np.flatnonzero((starts <= hi) & (ends >= lo)).tolist():
            if index not in self._attached:
                self._attach(index)

    def _attach(self, index: int) -> None:
        if index not in self._attached:
            self._viewbox.addItem(self.items[index], ignoreBounds=True)
            self._attached.add(index)

    def _detach(self, index: int) -> None:
        if index in self._attached:
            self._viewbox.removeItem(self.items[index])
            self._attached.discard(index)


    @property
    def attached_indices(self) -> list[int]:
        """Indices (in :attr:`items`) of the chunks now in the view box."""
        return sorted(self._attached)

    def pixels_per_x(self) -> float:
        """Device pixels per x unit of the view box now (0 before it is laid out)."""
        x0, x1 = self._window
        width = float(self._viewbox.width())
        return width / (x1 - x0) if x1 > x0 and width > 0 else 0.0


# --- zoomed-out point series: at most a few points per pixel column ---------------------------------------
def _columns(x: np.ndarray, pixel_x: float) -> np.ndarray:
    return np.floor(x / pixel_x).astype(np.int64)


def decimate_curve(x: np.ndarray, y: np.ndarray, pixel_x: float) -> tuple[np.ndarray, np.ndarray]:
    """Peak decimation of a curve broken by NaNs (``connect="finite"``): within each unbroken stretch, the
    points falling in one pixel column (``pixel_x`` wide, x sorted) become two, at the column's lowest and
    highest y, in the order the stretch runs; the breaks stay breaks (a NaN point after each stretch), so a
    jump drawn as a gap at full resolution is a gap zoomed out too."""
    finite = np.isfinite(y)
    if not finite.any():
        return x[:1].copy(), y[:1].copy()
    stretch = np.cumsum(~finite)[finite]
    xf, yf = x[finite], y[finite]
    column = _columns(xf, pixel_x)
    first = np.ones(xf.size, dtype=bool)
    first[1:] = (stretch[1:] != stretch[:-1]) | (column[1:] != column[:-1])
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], xf.size] - 1
    low, high = np.minimum.reduceat(yf, starts), np.maximum.reduceat(yf, starts)
    rising = yf[ends] >= yf[starts]
    out_x = np.empty((starts.size, 3))
    out_y = np.empty((starts.size, 3))
    out_x[:, 0], out_x[:, 1], out_x[:, 2] = xf[starts], xf[ends], xf[ends]
    out_y[:, 0] = np.where(rising, low, high)
    out_y[:, 1] = np.where(rising, high, low)
    out_y[:, 2] = np.nan
    breaks = np.ones(starts.size, dtype=bool)  # a NaN after the last group of each stretch
    breaks[:-1] = stretch[starts[1:]] != stretch[starts[:-1]]
    keep = np.ones((starts.size, 3), dtype=bool)
    keep[:, 2] = breaks
    return out_x[keep], out_y[keep]


def decimate_markers(x: np.ndarray, y: np.ndarray, pixel_x: float) -> tuple[np.ndarray, np.ndarray]:
    """One marker per pixel column and row (y): markers closer than a pixel on a row are drawn over each
    other anyway."""
    if x.size == 0:
        return x, y
    _, index = np.unique(np.stack([_columns(x, pixel_x), np.round(y * 1024).astype(np.int64)]), axis=1,
                         return_index=True)
    index.sort()
    return x[index], y[index]


def decimate_ticks(x: np.ndarray, y: np.ndarray, pixel_x: float) -> tuple[np.ndarray, np.ndarray]:
    """Ticks drawn as point pairs (``connect="pairs"``): one tick per pixel column."""
    if x.size < 2:
        return x, y
    _, index = np.unique(_columns(x[0::2], pixel_x), return_index=True)
    pairs = np.stack([2 * index, 2 * index + 1], axis=1).reshape(-1)
    return x[pairs], y[pairs]


# --- batched blocks ---------------------------------------------------------------------------------------
def merge_row_runs(x0: np.ndarray, x1: np.ndarray, row: np.ndarray, gap: float,
                   min_width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spans ``x0..x1`` on integer rows merged where they overlap or are at most ``gap`` apart on the same row,
    each at least ``min_width`` wide: ``(x0, x1, row)`` of the merged runs, sorted by row then x."""
    if x0.size == 0:
        return x0, x1, row
    order = np.lexsort((x0, row))
    x0, x1, row = x0[order], x1[order], row[order]
    # the furthest end so far within each row (a long block can cover the next ones)
    offset = (row - row.min()) * (float(np.max(x1) - np.min(x0)) + 2.0 * gap + 1.0)
    reach = np.maximum.accumulate(x1 + offset) - offset
    starts = np.ones(x0.size, dtype=bool)
    starts[1:] = (row[1:] != row[:-1]) | (x0[1:] > reach[:-1] + gap)
    first = np.flatnonzero(starts)
    last = np.r_[first[1:], x0.size] - 1
    run_x0, run_x1 = x0[first], reach[last]
    return run_x0, np.maximum(run_x1, run_x0 + min_width), row[first]


class BlockChunk(QGraphicsItem):
    """Rectangles in data coordinates drawn as one item: a cosmetic outline ``pen`` and one brush per kind.

    :meth:`add` appends a block (``kind`` indexes ``brushes``; ``row`` groups blocks that may merge when
    zoomed out, e.g. the MIDI pitch; ``label`` is drawn in the block when ``label_color`` is given).
    """

    #: Blocks narrower than this (device pixels, median of the chunk) are drawn merged (see the module doc).
    DETAIL_PX = 3.0
    #: Labels go into blocks at least this wide (device pixels), elided to fit; padding each side.
    LABEL_MIN_PX = 14.0
    LABEL_PAD_PX = 4.0

    def __init__(self, pen: QPen, brushes: Sequence[QBrush], label_color: QColor | None = None,
                 font: QFont | None = None) -> None:
        super().__init__()
        self._pen = QPen(pen)
        self._pen.setCosmetic(True)
        self._brushes = [QBrush(b) for b in brushes]
        self._label_color = label_color
        self._font = QFont(font) if font is not None else QFont()
        self._metrics = QFontMetricsF(self._font)
        self._text_width: dict[str, float] = {}
        self._rects: list[QRectF] = []
        self._labels: list[str] = []
        self._x0: list[float] = []
        self._x1: list[float] = []
        self._kind: list[int] = []
        self._row: list[int] = []
        self._bounds = QRectF()
        self._cache: dict[object, list[tuple[QBrush, list[QRectF]]]] = {}
        self._median_width = 0.0

    # --- content --------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._rects)

    @property
    def rects(self) -> list[QRectF]:
        return list(self._rects)

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    @property
    def kinds(self) -> list[int]:
        return list(self._kind)

    @property
    def first_x(self) -> float:
        return self._x0[0] if self._x0 else math.nan

    def add(self, x0: float, x1: float, y0: float, y1: float, kind: int = 0, row: int = 0, label: str = "") -> None:
        rect = QRectF(x0, y0, x1 - x0, y1 - y0)
        self.prepareGeometryChange()
        self._rects.append(rect)
        self._labels.append(label)
        self._x0.append(float(x0))
        self._x1.append(float(x1))
        self._kind.append(int(kind))
        self._row.append(int(row))
        self._bounds = rect if len(self._rects) == 1 else self._bounds.united(rect)
        self._cache = {}
        self._median_width = float(np.median(np.subtract(self._x1, self._x0)))
        self.update()

    # --- Qt -------------------------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return self._bounds

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if not self._rects:
            return
        px_per_x = abs(painter.worldTransform().m11())
        if px_per_x <= 0 or not math.isfinite(px_per_x):
            return
        detail = px_per_x * self._median_width >= self.DETAIL_PX
        if detail:
            groups = self._cache.get("full")
            if groups is None:
                groups = self._cache["full"] = self._full_groups()
        else:
            level = math.floor(math.log2(px_per_x))  # px_per_x in [2**level, 2**(level + 1))
            groups = self._cache.get(level)
            if groups is None:
                groups = self._cache[level] = self._merged_groups(1.0 / 2.0 ** level)
        painter.setPen(self._pen)
        for brush, rects in groups:
            painter.setBrush(brush)
            painter.drawRects(rects)
        if detail and self._label_color is not None:
            self._paint_labels(painter, px_per_x)

    def _full_groups(self) -> list[tuple[QBrush, list[QRectF]]]:
        groups: list[tuple[QBrush, list[QRectF]]] = []
        for kind, brush in enumerate(self._brushes):
            rects = [r for r, k in zip(self._rects, self._kind) if k == kind]
            if rects:
                groups.append((brush, rects))
        return groups

    def _merged_groups(self, pixel_x: float) -> list[tuple[QBrush, list[QRectF]]]:
        """Blocks of one kind and row less than a pixel apart as one, each at least a pixel wide."""
        x0, x1 = np.asarray(self._x0), np.asarray(self._x1)
        kind, row = np.asarray(self._kind), np.asarray(self._row)
        y0 = np.array([r.top() for r in self._rects])
        y1 = np.array([r.bottom() for r in self._rects])
        groups: list[tuple[QBrush, list[QRectF]]] = []
        for k, brush in enumerate(self._brushes):
            mask = kind == k
            if not mask.any():
                continue
            rows, inverse = np.unique(row[mask], return_inverse=True)
            # the rows' y extent (the blocks of a row share it)
            top = np.full(rows.size, np.inf)
            bottom = np.full(rows.size, -np.inf)
            np.minimum.at(top, inverse, y0[mask])
            np.maximum.at(bottom, inverse, y1[mask])
            a, b, r = merge_row_runs(x0[mask], x1[mask], inverse, pixel_x, pixel_x)
            groups.append((brush, [QRectF(float(s), float(top[i]), float(e - s), float(bottom[i] - top[i]))
                                   for s, e, i in zip(a, b, r)]))
        return groups

    def _paint_labels(self, painter: QPainter, px_per_x: float) -> None:
        widths = (np.asarray(self._x1) - np.asarray(self._x0)) * px_per_x
        wide = np.flatnonzero(widths >= self.LABEL_MIN_PX)
        if wide.size == 0:
            return
        transform = painter.worldTransform()
        painter.save()
        painter.resetTransform()
        painter.setFont(self._font)
        painter.setPen(self._label_color)
        pad = self.LABEL_PAD_PX
        for index in wide:
            rect = transform.mapRect(self._rects[index])
            text = self._labels[index]
            if not text:
                continue
            room = rect.width() - 2 * pad
            width = self._text_width.get(text)
            if width is None:
                width = self._text_width[text] = self._metrics.horizontalAdvance(text)
            if width > room:
                text = self._metrics.elidedText(text, Qt.TextElideMode.ElideRight, room)
                if not text or text == "\u2026":
                    continue
            painter.drawText(QRectF(QPointF(rect.left() + pad, rect.top()), QPointF(rect.right() - pad, rect.bottom())),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)
        painter.restore()


class BlockSeries:
    """Blocks appended in time order, drawn by :class:`BlockChunk` items of at most ``chunk_s`` seconds (from
    their first block's start) or ``max_blocks`` blocks, in a :class:`ChunkCuller`. Only the last chunk is
    touched when blocks arrive. Quacks like one item for visibility (``setVisible`` / ``isVisible``)."""

    def __init__(self, viewbox: pg.ViewBox, make_chunk: Callable[[], BlockChunk], chunk_s: float = BLOCK_CHUNK_S,
                 max_blocks: int = BLOCK_CHUNK_MAX) -> None:
        self.culler = ChunkCuller(viewbox)
        self._make_chunk = make_chunk
        self.chunk_s = float(chunk_s)
        self.max_blocks = int(max_blocks)
        self._visible = True
        self._count = 0
        self._span = (math.inf, -math.inf, math.inf, -math.inf)  # of the last chunk

    def __len__(self) -> int:
        return self._count

    @property
    def chunks(self) -> list[BlockChunk]:
        """Every chunk item, in time order, in the plot or not."""
        return self.culler.items

    def rects(self) -> list[QRectF]:
        """Every block, in the order added."""
        return [rect for chunk in self.chunks for rect in chunk.rects]

    def labels(self) -> list[str]:
        return [label for chunk in self.chunks for label in chunk.labels]

    def kinds(self) -> list[int]:
        return [kind for chunk in self.chunks for kind in chunk.kinds]

    def isVisible(self) -> bool:  # noqa: N802 - the Qt name, so lanes treat it as an item
        return self._visible

    def setVisible(self, visible: bool) -> None:  # noqa: N802
        self._visible = bool(visible)
        for chunk in self.chunks:
            chunk.setVisible(self._visible)

    def clear(self) -> None:
        self.culler.clear()
        self._count = 0

    def add(self, x0: float, x1: float, y0: float, y1: float, kind: int = 0, row: int = 0, label: str = "") -> bool:
        """Append a block; True when it started a new chunk item."""
        chunks = self.chunks
        new = not chunks or len(chunks[-1]) >= self.max_blocks or x0 - chunks[-1].first_x >= self.chunk_s
        if new:
            chunk = self._make_chunk()
            chunk.setVisible(self._visible)
            self._span = (math.inf, -math.inf, math.inf, -math.inf)
            self.culler.add(chunk, math.inf, -math.inf)  # placed below, once it has a block
        chunk = self.chunks[-1]
        chunk.add(x0, x1, y0, y1, kind, row, label)
        a, b, c, d = self._span
        self._span = (min(a, x0), max(b, x1), min(c, y0, y1), max(d, y0, y1))
        self.culler.update(len(self.chunks) - 1, *self._span)
        self._count += 1
        return new
