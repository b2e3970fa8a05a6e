"""The pitch view: a piano roll (MIDI on the y axis, note names on the ticks) with detected notes as
rectangles and the f0 curve over them (voiced frames only).

Notes are drawn in batches (:class:`~desktop_app.views.chunks.BlockSeries`: one item per 20 s of notes,
not one per note) and both notes and f0 chunks are culled to the visible time range, so a paint does not
grow with the session."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QBrush, QColor, QPen

from desktop_app.live.store import AnalysisStore, StoreChanges
from desktop_app.views.chunks import BlockChunk, BlockSeries, decimate_curve
from desktop_app.views.lane import ChunkedSeries, Lane

__all__ = ["PianoRoll", "break_jumps", "hz_to_midi"]

_NOTE_BRUSH = QColor(70, 130, 200, 150)
_NOTE_PEN = QColor(40, 90, 160)
_F0_PEN = (230, 90, 40)
#: f0 points per curve chunk (20 s of 10 ms frames): fewer, larger chunks paint faster (pyqtgraph
#: recomputes each curve's bounds on every view change), smaller ones refill faster.
F0_CHUNK_POINTS = 2048


#: Neighbouring f0 frames further apart than this (semitones) are not joined by a line: a jump between
#: the melody and the bass, or an octave error, shows as a gap instead of a vertical stroke.
F0_MAX_JOIN_SEMITONES = 1.5


def break_jumps(times_s: np.ndarray, midi: np.ndarray, previous_midi: float = float("nan"),
                max_join_semitones: float = F0_MAX_JOIN_SEMITONES) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` with a NaN point inserted before every frame that jumps more than ``max_join_semitones``
    from the frame before it (``previous_midi``: the last point already drawn), so ``connect="finite"``
    leaves a gap there. The voiced points themselves are kept unchanged."""
    before = np.concatenate([[previous_midi], midi[:-1]])
    jumps = np.flatnonzero(np.abs(midi - before) > max_join_semitones)  # NaN comparisons are False
    if jumps.size == 0:
        return times_s, midi
    return np.insert(times_s, jumps, times_s[jumps]), np.insert(midi, jumps, np.nan)


def hz_to_midi(f0_hz: np.ndarray) -> np.ndarray:
    """MIDI pitch of each voiced frequency; NaN for unvoiced frames (f0 <= 0), so the curve breaks there."""
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    out = np.full(f0_hz.shape, np.nan)
    voiced = f0_hz > 0
    out[voiced] = 69.0 + 12.0 * np.log2(f0_hz[voiced] / 440.0)
    return out


class PianoRoll(Lane):
    title = "Pitch and notes"
    task = "pitch"

    def __init__(self, plot: pg.PlotItem, midi_range: tuple[int, int] = (36, 96)) -> None:
        super().__init__(plot)
        self.plot.setYRange(*midi_range, padding=0)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.notes = BlockSeries(self.plot.getViewBox(), self._make_note_chunk)
        self.f0_curve = ChunkedSeries(self.plot, self._make_f0_chunk, self._set_f0_chunk, self.draw_stats,
                                     chunk_points=F0_CHUNK_POINTS, overlap=1, decimate=decimate_curve)
        self._f0_visible = True
        self._notes_visible = True

    @staticmethod
    def _make_note_chunk() -> BlockChunk:
        chunk = BlockChunk(QPen(_NOTE_PEN), [QBrush(_NOTE_BRUSH)])
        chunk.setZValue(-1)  # under the f0 curve
        return chunk

    @staticmethod
    def _make_f0_chunk() -> pg.PlotDataItem:
        item = pg.PlotDataItem(pen=pg.mkPen(_F0_PEN, width=2), connect="finite")
        item.setZValue(1)  # over the note blocks
        return item

    @staticmethod
    def _set_f0_chunk(item: pg.PlotDataItem, x: np.ndarray, y: np.ndarray) -> None:
        item.setData(x, y, connect="finite")

    # --- layers: notes and f0 can be shown separately ------------------------------------------
    def items(self) -> list:
        return [self.notes, self.f0_curve]

    @property
    def note_count(self) -> int:
        """How many note blocks are drawn."""
        return len(self.notes)

    def note_rects(self) -> list[QRectF]:
        """Every note block (onset to offset, pitch +- 0.4), in the order drawn."""
        return self.notes.rects()

    def set_visible(self, visible: bool) -> None:
        self.set_notes_visible(visible)
        self.set_f0_visible(visible)
        self._visible = bool(visible)

    def set_notes_visible(self, visible: bool) -> None:
        self._notes_visible = bool(visible)
        self.notes.setVisible(self._notes_visible)

    def set_f0_visible(self, visible: bool) -> None:
        self._f0_visible = bool(visible)
        self.f0_curve.setVisible(self._f0_visible)

    @property
    def notes_visible(self) -> bool:
        return self._notes_visible

    @property
    def f0_visible(self) -> bool:
        return self._f0_visible

    # --- drawing ----------------------------------------------------------------------------------
    def _clear_items(self) -> None:
        self.notes.clear()
        self.f0_curve.clear()

    def _add(self, store: AnalysisStore, changes: StoreChanges) -> None:
        start, stop = changes.notes
        for note in store.notes_slice(start, stop):
            self.draw_stats.items_added += self.notes.add(note.onset_s, note.offset_s, note.pitch_midi - 0.4,
                                                          note.pitch_midi + 0.4, row=int(note.pitch_midi))
        start, stop = changes.f0
        if stop > start:
            track = store.f0_slice(start, stop)
            drawn = self.f0_curve.y
            previous = float(drawn[-1]) if len(drawn) else float("nan")
            self.f0_curve.append(*break_jumps(np.asarray(track.times_s, dtype=np.float64), hz_to_midi(track.f0_hz),
                                              previous))

    @property
    def voiced_point_count(self) -> int:
        """How many f0 points the curve draws (voiced frames)."""
        return int(np.count_nonzero(np.isfinite(self.f0_curve.y)))
