"""The transport bar: signals, label text, slider drags and the keyboard shortcuts."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMainWindow

from desktop_app.views.transport import TransportBar, format_time
from models.errors import ConfigError


@pytest.fixture
def bar(qtbot):
    window = QMainWindow()  # shortcuts are window-wide: put the bar in a window like the app does
    transport = TransportBar()
    window.setCentralWidget(transport)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    transport.set_duration(125.4)
    transport.set_enabled_for_file(True)
    yield transport  # the window must outlive the test: it owns the bar


def record(signal) -> list:
    seen: list = []
    signal.connect(lambda *args: seen.append(args[0] if args else None))
    return seen


@pytest.mark.parametrize(
    ("time_s", "text"),
    [(0.0, "0:00.0"), (5.34, "0:05.3"), (59.99, "0:59.9"), (65.3, "1:05.3"), (4500.0, "75:00.0"), (-2.0, "0:00.0")],
)
def test_format_time(time_s, text):
    assert format_time(time_s) == text


def test_label_and_slider_follow_duration_and_position(bar):
    assert bar.time_label.text() == "0:00.0 / 2:05.4"
    assert bar.slider.maximum() == 125400
    bar.set_position(61.25)
    assert bar.time_label.text() == "1:01.2 / 2:05.4"
    assert bar.slider.value() == 61250
    bar.set_position(500.0)  # clamped to the duration
    assert bar.slider.value() == 125400 and bar.position_s == 125.4


def test_set_position_does_not_emit_a_seek(bar):
    seeks = record(bar.seekRequested)
    bar.set_position(10.0)
    bar.set_duration(130.0)
    assert seeks == []


def test_play_button_asks_for_play_then_pause(bar, qtbot):
    plays, pauses = record(bar.playRequested), record(bar.pauseRequested)
    qtbot.mouseClick(bar.play_button, Qt.MouseButton.LeftButton)
    assert (len(plays), len(pauses)) == (1, 0)
    assert bar.play_button.text() == "Play"  # the bar waits for the player to confirm
    bar.set_playing(True)
    assert bar.play_button.text() == "Pause"
    qtbot.mouseClick(bar.play_button, Qt.MouseButton.LeftButton)
    assert (len(plays), len(pauses)) == (1, 1)


def test_dragging_shows_the_target_and_seeks_on_release(bar):
    seeks = record(bar.seekRequested)
    bar.set_position(10.0)
    bar.slider.setSliderDown(True)
    bar.slider.setSliderPosition(70000)  # what a drag does: sliderMoved + valueChanged while down
    assert bar.time_label.text() == "1:10.0 / 2:05.4"
    assert seeks == []
    bar.set_position(10.5)  # the player keeps reporting during the drag: it must not move the handle
    assert bar.slider.value() == 70000
    assert bar.time_label.text() == "1:10.0 / 2:05.4"
    bar.slider.setSliderDown(False)  # release
    assert seeks == [pytest.approx(70.0)]
    assert bar.time_label.text() == "1:10.0 / 2:05.4"


def test_a_click_on_the_groove_seeks_at_once(bar):
    seeks = record(bar.seekRequested)
    bar.slider.triggerAction(bar.slider.SliderAction.SliderPageStepAdd)  # +5 s page step
    assert seeks == [pytest.approx(5.0)]


def test_shortcuts(bar, qtbot):
    plays, pauses, seeks = record(bar.playRequested), record(bar.pauseRequested), record(bar.seekRequested)
    window = bar.window()
    bar.set_position(30.0)
    QTest.keyClick(window, Qt.Key.Key_Space)
    assert len(plays) == 1
    bar.set_playing(True)
    QTest.keyClick(window, Qt.Key.Key_Space)
    assert len(pauses) == 1
    QTest.keyClick(window, Qt.Key.Key_Right)
    QTest.keyClick(window, Qt.Key.Key_Right)  # presses add up before the player reports back
    QTest.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClick(window, Qt.Key.Key_Left)
    assert seeks == [pytest.approx(v) for v in (35.0, 40.0, 39.0, 40.0, 35.0)]
    QTest.keyClick(window, Qt.Key.Key_Home)
    assert seeks[-1] == 0.0
    QTest.keyClick(window, Qt.Key.Key_Left)  # clamped at the start
    assert seeks[-1] == 0.0
    bar.set_position(124.0)
    QTest.keyClick(window, Qt.Key.Key_Right)  # clamped at the end
    assert seeks[-1] == pytest.approx(125.4)
    assert bar.play_pause_action.shortcut().toString() == "Space"
    assert bar.back_small_action.shortcut().toString() == "Shift+Left"


def test_disabled_without_a_file(bar):
    seeks, plays = record(bar.seekRequested), record(bar.playRequested)
    bar.set_enabled_for_file(False)
    assert not bar.play_button.isEnabled() and not bar.slider.isEnabled()
    QTest.keyClick(bar.window(), Qt.Key.Key_Space)
    QTest.keyClick(bar.window(), Qt.Key.Key_Right)
    assert plays == [] and seeks == []
    assert all(not action.isEnabled() for action in bar.actions_for_menu)


def test_bad_duration_is_refused(bar):
    with pytest.raises(ConfigError, match="duration"):
        bar.set_duration(float("nan"))
