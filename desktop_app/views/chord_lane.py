"""The chord lane: each final chord segment as a labelled block ("N" segments drawn grey).

Labels are plain ``QGraphicsTextItem``s that ignore the view's scaling (Qt keeps them upright and
unscaled natively), not ``pg.TextItem``s: those recompute their transform in Python on every view
change, which cost O(all chords) per frame while the live view scrolls.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QBrush, QColor, QPen, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QGraphicsTextItem

from desktop_app.live.store import AnalysisStore, StoreChanges
from desktop_app.views.lane import Lane

__all__ = ["ChordLane"]

_CHORD_BRUSH = QColor(120, 180, 100, 170)
_NO_CHORD_BRUSH = QColor(150, 150, 150, 80)


class ChordLane(Lane):
    title = "Chords"
    task = "chords"

    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__(plot)
        self.plot.setYRange(0, 1, padding=0)
        self.plot.hideAxis("left")
        self.plot.setMouseEnabled(y=False)
        self.blocks: list[QGraphicsRectItem] = []
        self.labels: list[QGraphicsTextItem] = []

    def items(self) -> list:
        return [*self.blocks, *self.labels]

    def _clear_items(self) -> None:
        for item in self.items():
            self.plot.removeItem(item)
        self.blocks, self.labels = [], []

    def _add(self, store: AnalysisStore, changes: StoreChanges) -> None:
        start, stop = changes.chords
        for segment in store.chords_slice(start, stop):
            rect = QGraphicsRectItem(QRectF(segment.start_s, 0.1, segment.end_s - segment.start_s, 0.8))
            rect.setBrush(QBrush(_NO_CHORD_BRUSH if segment.label == "N" else _CHORD_BRUSH))
            pen = QPen(QColor(60, 60, 60))
            pen.setCosmetic(True)
            rect.setPen(pen)
            rect.setVisible(self._visible)
            text = QGraphicsTextItem(segment.label)
            text.setDefaultTextColor(QColor(20, 20, 20))
            text.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
            text.setTransform(QTransform.fromTranslate(0, -text.boundingRect().height() / 2))  # centred on y
            text.setPos(segment.start_s, 0.5)
            text.setVisible(self._visible)
            self.plot.addItem(rect)
            self.plot.addItem(text)
            self.blocks.append(rect)
            self.labels.append(text)
            self.draw_stats.items_added += 2
