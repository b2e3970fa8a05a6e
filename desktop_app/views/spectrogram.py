"""The spectrogram lane: the front-end frames the models saw, as image tiles on the shared time axis.

Its own plot row above the piano roll, with the same MIDI note axis (bin ``k`` of the log-frequency
front-end is at MIDI ``21 + k / 3`` with the defaults: 27.5 Hz = A0, 36 bins per octave), so a note's
harmonics line up with the piano roll below and the f0 curve and note blocks stay readable (a
background under them would hide the blocks' colours). Colours: the perceptual "inferno" map on the
store's uint8 levels (0 = silence).

Columns go into tiles of ``tile_columns`` columns, one :class:`pyqtgraph.ImageItem` each; a refresh
refills only the last, growing tile (at most ``tile_columns x n_bins`` bytes, 147 kB with the defaults)
and starts new ones; full tiles are never uploaded again. When the store merges its columns (long
streams, see :class:`~desktop_app.live.store.SpectrogramColumns`) every tile is rebuilt once. Tiles live in
a :class:`~desktop_app.views.chunks.ChunkCuller`: only those near the visible time range are in the plot.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage

from desktop_app.live.store import AnalysisStore, StoreChanges
from desktop_app.views.chunks import ChunkCuller
from desktop_app.views.lane import Lane

__all__ = ["SpectrogramLane", "SpectrogramTile"]

_A4_HZ = 440.0


class SpectrogramTile(pg.ImageItem):
    """An image tile whose rendered image is RGB32. pyqtgraph renders uint8 levels through a lookup table as an
    Indexed8 image, which Qt's raster engine converts on every paint: about six times slower to draw (0.28 ms
    against 0.04 ms for a 512 x 288 tile 700 pixels wide on screen). The conversion here runs once per upload."""

    def render(self, *args, **kwargs) -> None:
        super().render(*args, **kwargs)
        if self.qimage is not None and self.qimage.format() != QImage.Format.Format_RGB32:
            self.qimage = self.qimage.convertToFormat(QImage.Format.Format_RGB32)


class SpectrogramLane(Lane):
    title = "Spectrogram"
    task = ""  # every model's input: never "no model"

    def __init__(self, plot: pg.PlotItem, *, fmin_hz: float = 27.5, bins_per_octave: int = 36,
                 tile_columns: int = 512, midi_range: tuple[int, int] = (24, 108), colormap: str = "inferno") -> None:
        super().__init__(plot)
        self.plot.setYRange(*midi_range, padding=0)
        self.plot.setMouseEnabled(y=False)
        self.tile_columns = int(tile_columns)
        self._lut = pg.colormap.get(colormap).getLookupTable(nPts=256, alpha=False)
        self.culler = ChunkCuller(self.plot.getViewBox())
        self._tile_data: np.ndarray | None = None  # the last tile's columns
        self._tile_filled = 0
        self._tile_first = 0
        self._columns_drawn = 0
        self.set_frequency_axis(fmin_hz, bins_per_octave)

    def set_frequency_axis(self, fmin_hz: float, bins_per_octave: int) -> None:
        """The front-end's bin layout (``FrontEndConfig.fmin_hz`` / ``bins_per_octave``); takes effect on the
        next redraw from scratch."""
        self._midi_of_bin0 = 69.0 + 12.0 * math.log2(fmin_hz / _A4_HZ)
        self._semitones_per_bin = 12.0 / bins_per_octave

    @property
    def columns_drawn(self) -> int:
        return self._columns_drawn

    @property
    def tiles(self) -> list[pg.ImageItem]:
        """Every tile, in time order, in the plot or not."""
        return self.culler.items

    def items(self) -> list:
        return list(self.tiles)

    def _clear_items(self) -> None:
        self.culler.clear()
        self._tile_data = None
        self._tile_filled = 0
        self._columns_drawn = 0

    def apply_changes(self, store: AnalysisStore, changes: StoreChanges) -> None:
        self.draw_stats.reset()
        if changes.cleared or changes.spectrogram_rebuilt:
            self._clear_items()
        self._add(store, changes)

    def _add(self, store: AnalysisStore, changes: StoreChanges) -> None:
        spec = store.spectrogram
        start, stop = self._columns_drawn, changes.spectrogram[1]  # the lane knows what it drew
        if stop <= start:
            return
        columns = spec.columns(start, stop)
        index = start
        while index < stop:
            if self._tile_data is None or self._tile_filled == self.tile_columns:
                self._new_tile(spec.n_bins, index)
            take = min(self.tile_columns - self._tile_filled, stop - index)
            self._tile_data[self._tile_filled : self._tile_filled + take] = columns[index - start : index - start + take]
            self._tile_filled += take
            index += take
            self._upload_last_tile(spec.column_time_s(self._tile_first), spec.column_s, spec.n_bins)
        self._columns_drawn = stop

    def _new_tile(self, n_bins: int, first_column: int) -> None:
        tile = SpectrogramTile(axisOrder="col-major")
        tile.setLookupTable(self._lut)
        tile.setZValue(-10)
        tile.setVisible(self._visible)
        self.culler.add(tile, math.inf, -math.inf)  # placed when uploaded
        self._tile_data = np.zeros((self.tile_columns, n_bins), dtype=np.uint8)
        self._tile_filled = 0
        self._tile_first = first_column
        self.draw_stats.items_added += 1

    def _upload_last_tile(self, t0_s: float, column_s: float, n_bins: int) -> None:
        tile, filled = self.tiles[-1], self._tile_filled
        tile.setImage(self._tile_data[:filled], autoLevels=False, levels=(0, 255))
        y0 = self._midi_of_bin0 - self._semitones_per_bin / 2
        rect = QRectF(t0_s, y0, filled * column_s, n_bins * self._semitones_per_bin)
        tile.setRect(rect)
        self.culler.update(len(self.tiles) - 1, rect.left(), rect.right(), rect.top(), rect.bottom())
        self.draw_stats.set_data_calls += 1
        self.draw_stats.points_sent += filled
