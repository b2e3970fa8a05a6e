"""Onset markers: a vertical tick per detected onset."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from desktop_app.live.store import AnalysisStore, StoreChanges
from desktop_app.views.lane import Lane

__all__ = ["OnsetLane"]


class OnsetLane(Lane):
    title = "Onsets"
    task = "onsets"

    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__(plot)
        self.plot.setYRange(0, 1, padding=0)
        self.plot.hideAxis("left")
        self.plot.setMouseEnabled(y=False)
        self.ticks = pg.PlotDataItem(pen=pg.mkPen((40, 40, 40), width=1.5), connect="pairs")
        self.plot.addItem(self.ticks)
        self._onsets_s = np.empty(0)

    def items(self) -> list:
        return [self.ticks]

    @property
    def tick_times_s(self) -> np.ndarray:
        return self._onsets_s.copy()

    def _clear_items(self) -> None:
        self._onsets_s = np.empty(0)
        self.ticks.setData([], [])

    def _add(self, store: AnalysisStore, changes: StoreChanges) -> None:
        start, stop = changes.onsets
        if stop <= start:
            return
        self._onsets_s = np.concatenate([self._onsets_s, store.onsets_s[start:stop]])
        x = np.repeat(self._onsets_s, 2)
        y = np.tile([0.05, 0.95], self._onsets_s.size)
        self.ticks.setData(x, y, connect="pairs")
