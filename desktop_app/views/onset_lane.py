"""Onset markers: a vertical tick per detected onset."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from desktop_app.live.store import AnalysisStore, StoreChanges
from desktop_app.views.chunks import decimate_ticks
from desktop_app.views.lane import ChunkedSeries, Lane

__all__ = ["OnsetLane"]


class OnsetLane(Lane):
    title = "Onsets"
    task = "onsets"

    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__(plot)
        self.plot.setYRange(0, 1, padding=0)
        self.plot.hideAxis("left")
        self.plot.setMouseEnabled(y=False)
        # two points per tick (bottom, top), joined in pairs; chunks hold whole ticks
        self.ticks = ChunkedSeries(self.plot, self._make_chunk, self._set_chunk, self.draw_stats,
                                   decimate=decimate_ticks)

    @staticmethod
    def _make_chunk() -> pg.PlotDataItem:
        return pg.PlotDataItem(pen=pg.mkPen((40, 40, 40), width=1.5), connect="pairs")

    @staticmethod
    def _set_chunk(item: pg.PlotDataItem, x: np.ndarray, y: np.ndarray) -> None:
        item.setData(x, y, connect="pairs")

    def items(self) -> list:
        return [self.ticks]

    @property
    def tick_times_s(self) -> np.ndarray:
        return self.ticks.x[::2].copy()

    def _clear_items(self) -> None:
        self.ticks.clear()

    def _add(self, store: AnalysisStore, changes: StoreChanges) -> None:
        start, stop = changes.onsets
        if stop <= start:
            return
        onsets_s = store.onsets_slice(start, stop)
        self.ticks.append(np.repeat(onsets_s, 2), np.tile([0.05, 0.95], onsets_s.size))
