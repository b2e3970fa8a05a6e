"""The shared time axis: spectrogram, piano roll, chord lane, drum lanes and onset lane linked on X, with
follow and a playhead.

:class:`TimelineView` owns the plots and the lanes; :meth:`TimelineView.refresh` draws what changed in
the store since the last call (the 60 Hz timer calls it). In live mode the view follows the present
(the newest analysed time at the right edge); moving the range back (drag, wheel) pauses following
and :meth:`TimelineView.set_following` resumes it. In file mode :meth:`TimelineView.set_playhead` draws
a vertical line across every lane; while following, the view pages to keep the playhead in sight
(when it leaves the view, the view moves so it is ``playhead_margin`` of the width from the left edge),
and moving the view so the playhead is out of sight pauses following.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from desktop_app.live.store import AnalysisStore
from desktop_app.views.chord_lane import ChordLane
from desktop_app.views.drum_lanes import DrumLanes
from desktop_app.views.lane import Lane
from desktop_app.views.lane_axis import LaneAxis
from desktop_app.views.note_axis import NoteAxis
from desktop_app.views.onset_lane import OnsetLane
from desktop_app.views.piano_roll import PianoRoll
from desktop_app.views.spectrogram import SpectrogramLane
from models.errors import ConfigError

__all__ = ["LAYER_NAMES", "TimelineConfig", "TimelineView"]

#: What :meth:`TimelineView.set_layer_visible` takes.
LAYER_NAMES: tuple[str, ...] = ("spectrogram", "f0", "notes", "chords", "drums", "onsets")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimelineConfig:
    follow_window_s: float = 10.0  # the span shown while following the present
    follow_tolerance_s: float = 0.25  # a right edge this far behind the present still counts as following
    file_margin_s: float = 0.5
    playhead_margin: float = 0.05  # where a page puts the playhead, as a fraction of the width from the left


def _axes(left: LaneAxis | None = None) -> dict[str, LaneAxis]:
    """A plot's axis items: ``left`` (a plain LaneAxis by default), a LaneAxis time axis at the bottom, and
    LaneAxis for the hidden top and right axes too (pyqtgraph's own would re-set their label on every scroll)."""
    return {"left": left if left is not None else LaneAxis("left"), "bottom": LaneAxis("bottom"),
            "top": LaneAxis("top"), "right": LaneAxis("right")}


class TimelineView(QWidget):
    """The lanes on one zoomable, scrollable time axis. ``followingChanged(bool)`` on every change."""

    followingChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None, config: TimelineConfig = TimelineConfig()) -> None:
        super().__init__(parent)
        self.config = config
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground("w")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)
        # LaneAxis everywhere: opaque ticks and grid, tick values shared by the linked time axes (lane_axis.py)
        spectrogram_plot = self.graphics.addPlot(row=0, col=0, axisItems=_axes(NoteAxis("left")))
        pitch_plot = self.graphics.addPlot(row=1, col=0, axisItems=_axes(NoteAxis("left")))
        chord_plot = self.graphics.addPlot(row=2, col=0, axisItems=_axes())
        drum_plot = self.graphics.addPlot(row=3, col=0, axisItems=_axes())
        onset_plot = self.graphics.addPlot(row=4, col=0, axisItems=_axes())
        self.plots = (spectrogram_plot, pitch_plot, chord_plot, drum_plot, onset_plot)
        for plot in (spectrogram_plot, chord_plot, drum_plot, onset_plot):
            plot.setXLink(pitch_plot)
        for plot in (spectrogram_plot, pitch_plot, chord_plot, drum_plot):
            plot.getAxis("bottom").setStyle(showValues=False)
        onset_plot.setLabel("bottom", "time", units="s")
        for plot in self.plots:
            plot.getAxis("left").setWidth(60)
            plot.hideAxis("top")  # shown by pyqtgraph when passed in
            plot.hideAxis("right")
        layout_ = self.graphics.ci.layout
        for row, stretch in enumerate((3, 6, 1, 2, 1)):
            layout_.setRowStretchFactor(row, stretch)
        self.spectrogram = SpectrogramLane(spectrogram_plot)
        self.piano_roll = PianoRoll(pitch_plot)
        self.chord_lane = ChordLane(chord_plot)
        self.drum_lanes = DrumLanes(drum_plot)
        self.onset_lane = OnsetLane(onset_plot)
        self.lanes: dict[str, Lane] = {"pitch": self.piano_roll, "chords": self.chord_lane,
                                       "drums": self.drum_lanes, "onsets": self.onset_lane}
        self._drawn_version = 0
        self._following = False
        self._live = False
        self._setting_range = False
        self._latest_s = 0.0
        self._playhead_s: float | None = None
        self.playhead_lines: list[pg.InfiniteLine] = []
        for plot in self.plots:
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((220, 30, 30), width=2))
            line.setZValue(100)
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
            self.playhead_lines.append(line)
        self.x_plot = pitch_plot
        pitch_plot.setXRange(0, config.follow_window_s, padding=0)
        pitch_plot.getViewBox().sigXRangeChanged.connect(self._on_x_range_changed)

    # --- drawing ------------------------------------------------------------------------------------
    @property
    def drawn_version(self) -> int:
        return self._drawn_version

    def reset(self, store: AnalysisStore) -> None:
        """Forget what was drawn (the next refresh redraws the store from scratch)."""
        self._drawn_version = 0
        self._latest_s = 0.0
        self.refresh(store)

    def refresh(self, store: AnalysisStore) -> bool:
        """Draw what the store gained since the last refresh; True when something was drawn."""
        version = store.version
        if version == self._drawn_version:
            return False
        changes = store.changes_since(self._drawn_version)
        if changes.spectrogram_changed:
            self.spectrogram.apply_changes(store, changes)
        for lane in self.lanes.values():
            lane.apply_changes(store, changes)
        self._drawn_version = changes.version
        self._latest_s = store.latest_time_s
        if self._live and self._following:
            self._show_present()
        return True

    # --- the time axis ------------------------------------------------------------------------------
    def x_range(self) -> tuple[float, float]:
        x0, x1 = self.x_plot.getViewBox().viewRange()[0]
        return float(x0), float(x1)

    def set_x_range(self, t0_s: float, t1_s: float) -> None:
        """Show ``[t0_s, t1_s]`` as if the user had scrolled there (following pauses when it is in the past)."""
        self.x_plot.setXRange(t0_s, t1_s, padding=0)

    def show_whole(self, duration_s: float) -> None:
        """File mode: show the whole file."""
        self._setting_range = True
        try:
            self.x_plot.setXRange(0, max(duration_s, 0.1) + self.config.file_margin_s, padding=0)
        finally:
            self._setting_range = False

    def set_live(self, live: bool) -> None:
        """Live mode follows the present; file mode does not."""
        self._live = bool(live)
        self.set_following(self._live)

    @property
    def live(self) -> bool:
        return self._live

    @property
    def following(self) -> bool:
        return self._following

    def set_following(self, following: bool) -> None:
        """Follow the present (live) or the playhead (file mode); False stops following."""
        following = bool(following)
        changed = following != self._following
        self._following = following
        if following:
            if self._live:
                self._show_present()
            elif self._playhead_s is not None:
                self._keep_playhead_in_view()
        if changed:
            self.followingChanged.emit(following)

    # --- the playhead -------------------------------------------------------------------------------
    @property
    def playhead_s(self) -> float | None:
        return self._playhead_s

    def set_playhead(self, time_s: float | None) -> None:
        """Draw the playhead at ``time_s`` across every lane (None hides it); pages the view while following
        in file mode."""
        self._playhead_s = None if time_s is None else float(time_s)
        for line in self.playhead_lines:
            if self._playhead_s is None:
                line.setVisible(False)
            else:
                line.setPos(self._playhead_s)
                line.setVisible(True)
        if self._playhead_s is not None and self._following and not self._live:
            self._keep_playhead_in_view()

    def _keep_playhead_in_view(self) -> None:
        x0, x1 = self.x_range()
        t = self._playhead_s
        if x0 <= t <= x1:
            return
        width = x1 - x0 if x1 > x0 else self.config.follow_window_s
        left = max(0.0, t - self.config.playhead_margin * width)
        self._setting_range = True
        try:
            self.x_plot.setXRange(left, left + width, padding=0)
        finally:
            self._setting_range = False

    def _show_present(self) -> None:
        x0, x1 = self.x_range()
        width = x1 - x0 if x1 > x0 else self.config.follow_window_s
        right = max(self._latest_s, width)
        self._setting_range = True
        try:
            self.x_plot.setXRange(right - width, right, padding=0)
        finally:
            self._setting_range = False

    def _on_x_range_changed(self, _viewbox, x_range) -> None:
        if self._setting_range or not self._following:
            return
        if not self._live:  # file mode: following pauses when the user moves the playhead out of sight
            t = self._playhead_s
            if t is not None and not float(x_range[0]) <= t <= float(x_range[1]):
                log.debug("following paused: the view was moved away from the playhead at %.2f s", t)
                self._following = False
                self.followingChanged.emit(False)
            return
        right = float(x_range[1])
        if right < self._latest_s - self.config.follow_tolerance_s:
            log.debug("following paused: the view was moved back to end at %.2f s (present %.2f s)", right,
                      self._latest_s)
            self._following = False
            self.followingChanged.emit(False)

    # --- layers -------------------------------------------------------------------------------------
    def set_layer_visible(self, layer: str, visible: bool) -> None:
        """``layer``: one of :data:`LAYER_NAMES` ("spectrogram", "f0", "notes", "chords", "drums", "onsets")."""
        if layer == "spectrogram":
            self.spectrogram.set_visible(visible)
        elif layer == "f0":
            self.piano_roll.set_f0_visible(visible)
        elif layer == "notes":
            self.piano_roll.set_notes_visible(visible)
        elif layer in ("chords", "drums", "onsets"):
            self.lanes[layer].set_visible(visible)
        else:
            raise ConfigError(f"unknown layer {layer!r}; expected one of {', '.join(LAYER_NAMES)}")

    def layer_visible(self, layer: str) -> bool:
        """Whether ``layer`` (one of :data:`LAYER_NAMES`) is shown (for saving the View menu's state)."""
        shown = {"spectrogram": self.spectrogram.visible, "f0": self.piano_roll.f0_visible,
                 "notes": self.piano_roll.notes_visible, "chords": self.chord_lane.visible,
                 "drums": self.drum_lanes.visible, "onsets": self.onset_lane.visible}
        if layer not in shown:
            raise ConfigError(f"unknown layer {layer!r}; expected one of {', '.join(LAYER_NAMES)}")
        return shown[layer]

    def set_models_present(self, tasks: tuple[str, ...]) -> None:
        """Lanes of tasks without a model say "no model"."""
        for task, lane in self.lanes.items():
            lane.set_has_model(task in tasks)
