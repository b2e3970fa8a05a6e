"""The transport bar of file mode: play/pause, a seek slider, the time label and the transport shortcuts.

The bar only asks (signals ``playRequested``, ``pauseRequested``, ``seekRequested(time_s)``); the window
connects them to the :class:`~desktop_app.audio.playback.FilePlayer` and feeds back what is heard with
:meth:`TransportBar.set_position` / :meth:`TransportBar.set_playing` from its 60 Hz timer. A drag of the
slider is never fought: while the handle is held, positions from the player are remembered but not
shown, the label shows the drag target, and the seek is requested on release.

Shortcuts are :class:`QAction` attributes (added to the bar, window-wide), for the window's menu:
Space play/pause, Home to the start, Left/Right -/+5 s, Shift+Left/Right -/+1 s.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QStyle, QWidget

from models.errors import ConfigError

__all__ = ["TransportBar", "format_time"]

LARGE_STEP_S = 5.0
SMALL_STEP_S = 1.0


def format_time(time_s: float) -> str:
    """``m:ss.t`` with tenths truncated (what a clock shows): 0:00.0, 1:05.3, 75:00.0."""
    tenths = int(math.floor(max(0.0, time_s) * 10.0 + 1e-6))
    minutes, rest = divmod(tenths, 600)
    return f"{minutes}:{rest // 10:02d}.{rest % 10}"


class TransportBar(QWidget):
    """Play/pause button, seek slider (ms resolution) and ``position / duration`` label."""

    playRequested = Signal()
    pauseRequested = Signal()
    seekRequested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._duration_s = 0.0
        self._position_s = 0.0
        self._playing = False
        self._updating_slider = False

        self.play_button = QPushButton(self)
        self.play_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space belongs to the shortcut
        self.play_button.clicked.connect(self._toggle)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Left/Right belong to the shortcuts
        self.slider.setRange(0, 0)
        self.slider.setSingleStep(1000)
        self.slider.setPageStep(5000)
        self.slider.sliderMoved.connect(self._on_slider_moved)
        self.slider.sliderReleased.connect(self._on_slider_released)
        self.slider.valueChanged.connect(self._on_value_changed)
        self.time_label = QLabel(self)
        self.time_label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.play_button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.time_label)

        self.play_pause_action = self._action("Play/Pause", QKeySequence(Qt.Key.Key_Space), self._toggle)
        self.to_start_action = self._action("To Start", QKeySequence(Qt.Key.Key_Home), lambda: self._seek_to(0.0))
        self.back_action = self._action(
            f"Back {LARGE_STEP_S:g} s", QKeySequence(Qt.Key.Key_Left), lambda: self._step(-LARGE_STEP_S)
        )
        self.forward_action = self._action(
            f"Forward {LARGE_STEP_S:g} s", QKeySequence(Qt.Key.Key_Right), lambda: self._step(LARGE_STEP_S)
        )
        self.back_small_action = self._action(
            f"Back {SMALL_STEP_S:g} s",
            QKeySequence(Qt.KeyboardModifier.ShiftModifier | Qt.Key.Key_Left),
            lambda: self._step(-SMALL_STEP_S),
        )
        self.forward_small_action = self._action(
            f"Forward {SMALL_STEP_S:g} s",
            QKeySequence(Qt.KeyboardModifier.ShiftModifier | Qt.Key.Key_Right),
            lambda: self._step(SMALL_STEP_S),
        )
        self._update_button()
        self._update_label(self._position_s)
        self.set_enabled_for_file(False)

    def _action(self, text: str, shortcut: QKeySequence, slot) -> QAction:
        action = QAction(text, self)
        action.setShortcut(shortcut)
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    @property
    def actions_for_menu(self) -> list[QAction]:
        """The transport actions in menu order."""
        return [
            self.play_pause_action,
            self.to_start_action,
            self.back_action,
            self.forward_action,
            self.back_small_action,
            self.forward_small_action,
        ]

    # --- fed by the window ------------------------------------------------------------------------------
    def set_duration(self, duration_s: float) -> None:
        """The file's length; the slider spans it in milliseconds."""
        if not (isinstance(duration_s, (int, float)) and math.isfinite(duration_s) and duration_s >= 0):
            raise ConfigError(f"transport duration must be a finite number of seconds >= 0, got {duration_s!r}")
        self._duration_s = float(duration_s)
        self._updating_slider = True
        try:
            self.slider.setRange(0, int(round(self._duration_s * 1000.0)))
        finally:
            self._updating_slider = False
        self._position_s = min(self._position_s, self._duration_s)
        self._show_position()

    def set_position(self, position_s: float) -> None:
        """What is heard now; while the slider is dragged it is remembered but not shown."""
        if not math.isfinite(position_s):
            return
        self._position_s = min(max(float(position_s), 0.0), self._duration_s)
        if not self.slider.isSliderDown():
            self._show_position()

    def set_playing(self, playing: bool) -> None:
        self._playing = bool(playing)
        self._update_button()

    def set_enabled_for_file(self, enabled: bool) -> None:
        """Enable the controls and shortcuts when a file is open for playback."""
        for widget in (self.play_button, self.slider):
            widget.setEnabled(enabled)
        for action in self.actions_for_menu:
            action.setEnabled(enabled)

    @property
    def duration_s(self) -> float:
        return self._duration_s

    @property
    def position_s(self) -> float:
        return self._position_s

    @property
    def is_playing(self) -> bool:
        return self._playing

    # --- internals --------------------------------------------------------------------------------------
    def _show_position(self) -> None:
        self._updating_slider = True
        try:
            self.slider.setValue(int(round(self._position_s * 1000.0)))
        finally:
            self._updating_slider = False
        self._update_label(self._position_s)

    def _update_label(self, shown_s: float) -> None:
        self.time_label.setText(f"{format_time(shown_s)} / {format_time(self._duration_s)}")

    def _update_button(self) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if self._playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setText("Pause" if self._playing else "Play")
        self.play_button.setToolTip("Pause (Space)" if self._playing else "Play (Space)")

    def _toggle(self) -> None:
        if self._playing:
            self.pauseRequested.emit()
        else:
            self.playRequested.emit()

    def _seek_to(self, time_s: float) -> None:
        target = min(max(time_s, 0.0), self._duration_s)
        self._position_s = target  # repeated key presses add up before the player reports back
        if not self.slider.isSliderDown():
            self._show_position()
        self.seekRequested.emit(target)

    def _step(self, delta_s: float) -> None:
        self._seek_to(self._position_s + delta_s)

    def _on_slider_moved(self, value_ms: int) -> None:
        self._update_label(value_ms / 1000.0)

    def _on_slider_released(self) -> None:
        self._seek_to(self.slider.value() / 1000.0)

    def _on_value_changed(self, value_ms: int) -> None:
        """A click on the groove or the mouse wheel (not a drag, not our own update) seeks at once."""
        if self._updating_slider or self.slider.isSliderDown():
            return
        self._seek_to(value_ms / 1000.0)
