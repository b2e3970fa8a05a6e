"""Drum lanes: one row per drum class the model predicts (kick, snare, hihat, ...), a marker per hit."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from desktop_app.live.store import AnalysisStore, StoreChanges
from desktop_app.views.chunks import decimate_markers
from desktop_app.views.lane import ChunkedSeries, Lane
from models.annotations.types import DRUM_CLASSES

__all__ = ["DrumLanes"]


class DrumLanes(Lane):
    title = "Drums"
    task = "drums"

    def __init__(self, plot: pg.PlotItem, classes: tuple[str, ...] = DRUM_CLASSES[:3]) -> None:
        super().__init__(plot)
        self.plot.setMouseEnabled(y=False)
        self.markers = ChunkedSeries(self.plot, self._make_chunk, self._set_chunk, self.draw_stats,
                                     decimate=decimate_markers)
        self.set_classes(classes)

    @staticmethod
    def _make_chunk() -> pg.ScatterPlotItem:
        return pg.ScatterPlotItem(symbol="d", size=10, pen=pg.mkPen(None), brush=pg.mkBrush(200, 60, 60))

    @staticmethod
    def _set_chunk(item: pg.ScatterPlotItem, x: np.ndarray, y: np.ndarray) -> None:
        item.setData(x, y)

    @property
    def classes(self) -> tuple[str, ...]:
        return self._classes

    def set_classes(self, classes: tuple[str, ...]) -> None:
        """The rows, top to bottom (the classes of the drum model in use)."""
        self._classes = tuple(classes) or DRUM_CLASSES[:3]
        n = len(self._classes)
        self.plot.getAxis("left").setTicks([[(n - 1 - i, name) for i, name in enumerate(self._classes)]])
        self.plot.setYRange(-0.6, n - 0.4, padding=0)

    def items(self) -> list:
        return [self.markers]

    @property
    def marker_count(self) -> int:
        return len(self.markers)

    def markers_of(self, drum: str) -> np.ndarray:
        """Times of the markers drawn in ``drum``'s row."""
        if drum not in self._classes:
            return np.empty(0)
        row = len(self._classes) - 1 - self._classes.index(drum)
        return self.markers.x[self.markers.y == row].copy()

    def _clear_items(self) -> None:
        self.markers.clear()

    def _add(self, store: AnalysisStore, changes: StoreChanges) -> None:
        start, stop = changes.drums
        if stop <= start:
            return
        n = len(self._classes)
        hits = [h for h in store.drums_slice(start, stop) if h.drum in self._classes]
        times = np.array([h.time_s for h in hits], dtype=np.float64)
        rows = np.array([n - 1 - self._classes.index(h.drum) for h in hits], dtype=np.float64)
        self.markers.append(times, rows)
