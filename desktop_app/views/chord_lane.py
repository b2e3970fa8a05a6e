"""The chord lane: each final chord segment as a labelled block ("N" segments drawn grey).

Blocks and labels are drawn in batches (:class:`~desktop_app.views.chunks.BlockSeries`: one item per 20 s
of chords, not a block item and a text item per chord), culled to the visible time range. Labels are drawn
upright in device pixels, left-aligned in their block and elided to fit it.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QBrush, QColor, QPen

from desktop_app.live.store import AnalysisStore, StoreChanges
from desktop_app.views.chunks import BlockChunk, BlockSeries
from desktop_app.views.lane import Lane

__all__ = ["ChordLane"]

_CHORD_BRUSH = QColor(120, 180, 100, 170)
_NO_CHORD_BRUSH = QColor(150, 150, 150, 80)
_CHORD_PEN = QColor(60, 60, 60)
_LABEL_COLOR = QColor(20, 20, 20)
_CHORD, _NO_CHORD = 0, 1  # block kinds (brush indices)


class ChordLane(Lane):
    title = "Chords"
    task = "chords"

    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__(plot)
        self.plot.setYRange(0, 1, padding=0)
        self.plot.hideAxis("left")
        self.plot.setMouseEnabled(y=False)
        self.segments = BlockSeries(self.plot.getViewBox(), self._make_chunk)

    @staticmethod
    def _make_chunk() -> BlockChunk:
        return BlockChunk(QPen(_CHORD_PEN), [QBrush(_CHORD_BRUSH), QBrush(_NO_CHORD_BRUSH)], label_color=_LABEL_COLOR)

    def items(self) -> list:
        return [self.segments]

    @property
    def block_count(self) -> int:
        """How many chord blocks are drawn."""
        return len(self.segments)

    def label_texts(self) -> list[str]:
        """The label of every block, in the order drawn."""
        return self.segments.labels()

    def _clear_items(self) -> None:
        self.segments.clear()

    def _add(self, store: AnalysisStore, changes: StoreChanges) -> None:
        start, stop = changes.chords
        for segment in store.chords_slice(start, stop):
            kind = _NO_CHORD if segment.label == "N" else _CHORD
            self.draw_stats.items_added += self.segments.add(segment.start_s, segment.end_s, 0.1, 0.9, kind=kind,
                                                             label=segment.label)
