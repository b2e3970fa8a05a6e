"""Live mode in the main window with a fake input (a FileAudioSource behind the AudioCapture interface):
Start fills the views and the status bar, Stop stops, a device that fails to open is reported and the
window keeps its previous state; the channel list follows the device, and another device or channel
while listening switches the input at once (back to the working one when the new one fails)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from desktop_app.audio import DeviceUnavailableError
from desktop_app.live.model_choice import ModelCatalog
from desktop_app.live.sources import FileAudioSource
from desktop_app.main_window import MainWindow


@dataclass(frozen=True)
class FakeDevice:
    index: int
    name: str
    is_default: bool = False
    max_input_channels: int = 2

    @property
    def label(self) -> str:
        return f"{self.name} (Fake API)"


class FakeCapture:
    """Opens only devices whose name does not contain "broken"; reads a tone+clicks signal as it plays."""

    def __init__(self, samples, rate) -> None:
        self._source = FileAudioSource(samples, rate, realtime=False)
        self.opened: list[str] = []
        self.channels: list[int | None] = []
        self.running = False

    def open(self, device, channel=None):
        if "broken" in device.name:
            raise DeviceUnavailableError(f"input device {device.label} is not available any more; rescan the devices")
        self.opened.append(device.name)
        self.channels.append(channel)

    def start(self):
        self.running = True

    def stop(self):
        self.running = False

    def close(self):
        self.running = False

    @property
    def sample_rate_hz(self):
        return self._source.sample_rate_hz

    @property
    def overflow_count(self):
        return self._source.overflow_count

    def read(self, max_samples):
        return self._source.read(max_samples)


DEVICES = [FakeDevice(0, "broken mic"), FakeDevice(1, "good mic", is_default=True),
           FakeDevice(2, "interface", max_input_channels=4), FakeDevice(3, "mono mic", max_input_channels=1)]


@pytest.fixture
def live_window(qtbot, user_models, melody):
    capture = FakeCapture(melody(3.0), 16000)
    window = MainWindow(catalog=ModelCatalog(scan_bundled=False, user_dir=user_models),
                        device_lister=lambda: list(DEVICES), capture_factory=lambda: capture)
    qtbot.addWidget(window)
    window.show()
    yield window, capture
    window.close()


def test_start_fills_the_views_and_the_status_bar_then_stop(qtbot, live_window, message_boxes):
    window, capture = live_window
    assert window.device_combo.currentText() == "good mic (Fake API)"  # the default device is preselected
    assert window.start_button.isEnabled()
    assert window.start_live() is True
    assert window.is_live and capture.running and capture.opened == ["good mic"]
    assert window.start_button.text() == "Stop"
    assert window.timeline.live and window.follow_action.isChecked()
    qtbot.waitUntil(lambda: window.store.latest_time_s >= 2.9 and window.stats_label.text() != "", timeout=30000)
    window.redraw()
    counts = window.store.counts()
    assert counts["f0"] > 0 and counts["onsets"] > 0
    assert window.timeline.onset_lane.tick_times_s.size == counts["onsets"]
    assert window.timeline.piano_roll.note_count == counts["notes"]
    assert "CPU" in window.stats_label.text() and "overflows 0" in window.stats_label.text()
    window.toggle_live()
    assert not window.is_live and not capture.running
    assert window.start_button.text() == "Start"
    assert message_boxes == []


def test_a_device_that_fails_to_open_is_reported_and_nothing_changes(qtbot, live_window, message_boxes):
    window, capture = live_window
    window.device_combo.setCurrentIndex(0)  # the broken one
    assert window.start_live() is False
    assert len(message_boxes) == 1
    title, text = message_boxes[0]
    assert title == "Cannot start live input" and "broken mic (Fake API)" in text
    assert not window.is_live and window.worker is None
    assert window.start_button.text() == "Start" and window.start_button.isEnabled()
    window.device_combo.setCurrentIndex(1)
    assert window.start_live() is True  # still usable
    window.stop_live()


def test_live_events_are_drawn_on_arrival_not_at_the_next_timer_frame(live_window, monkeypatch):
    """A drum hit, an onset or the start of a voiced f0 run is drawn when its batch arrives (the input-to-
    screen latency saves the wait for the 60 Hz timer); more voiced frames of the same run, or news within
    EVENT_REDRAW_MIN_MS of the last frame, wait for the timer."""
    import numpy as np

    import desktop_app.main_window as main_window
    from desktop_app.live.worker import EventBatch
    from models.annotations.types import DrumHit, F0Track
    from models.runtime.analyzer import AnalysisEvents

    window, _ = live_window
    window.redraw_timer.stop()
    window.store.clear(("pitch", "drums", "onsets"))
    drawn = []
    original = window.redraw
    monkeypatch.setattr(window, "redraw", lambda: (drawn.append(window.store.counts()), original()))
    clock = {"now": main_window._clock_s() + 10.0}
    monkeypatch.setattr(main_window, "_clock_s", lambda: clock["now"])
    frame = {"k": 0}

    def batch(f0=(), drums=(), onsets=()):
        k0 = frame["k"]
        frame["k"] += max(len(f0), 1)
        times = (k0 + np.arange(len(f0))) * 0.01
        events = AnalysisEvents(f0=F0Track(times, np.asarray(f0, dtype=float), np.ones(len(f0))), notes=(), chords=(),
                                current_chord=None, drums=tuple(drums), onsets_s=np.asarray(onsets, dtype=float),
                                frames_done=frame["k"], latest_time_s=frame["k"] * 0.01)
        window._on_live_events(EventBatch(events, session=1, emitted_s=clock["now"]))

    batch(f0=[-220.0, -220.0])  # unvoiced guesses only: nothing to show at once
    assert drawn == []
    batch(f0=[-220.0, 220.0])  # a voiced run starts
    assert len(drawn) == 1 and drawn[-1]["f0"] == 4
    clock["now"] += 0.05
    batch(f0=[220.0, 221.0])  # the same run goes on: the timer draws it
    assert len(drawn) == 1
    batch(drums=[DrumHit(0.05, "kick", 100)], onsets=[0.05])
    assert len(drawn) == 2 and drawn[-1]["drums"] == 1 and drawn[-1]["onsets"] == 1
    clock["now"] += 0.001 * (main_window.EVENT_REDRAW_MIN_MS / 2)
    batch(onsets=[0.09])  # too soon after the last frame: left to the timer
    assert len(drawn) == 2
    clock["now"] += 0.001 * main_window.EVENT_REDRAW_MIN_MS
    batch(f0=[-220.0, 330.0])  # voiced again after an unvoiced frame
    assert len(drawn) == 3 and drawn[-1]["onsets"] == 2


def test_channel_list_follows_the_device_and_reaches_the_stream(qtbot, live_window, message_boxes):
    window, capture = live_window
    combo = window.channel_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["Mix", "Ch 1", "Ch 2"]  # good mic: 2 channels
    assert combo.currentData() is None and combo.isEnabled()
    window.device_combo.setCurrentIndex(2)  # the 4-channel interface
    assert [combo.itemData(i) for i in range(combo.count())] == [None, 0, 1, 2, 3]
    combo.setCurrentIndex(combo.findData(3))
    assert window.start_live() is True
    assert capture.opened[-1] == "interface" and capture.channels[-1] == 3
    assert "channel 4" in window.windowTitle() and "channel 4" in window.statusBar().currentMessage()
    window.stop_live()
    window.device_combo.setCurrentIndex(3)  # one channel: nothing to choose
    assert [combo.itemText(i) for i in range(combo.count())] == ["Mono"] and not combo.isEnabled()
    window.device_combo.setCurrentIndex(2)
    assert combo.currentData() is None  # the interface again, from the mix
    assert message_boxes == []


def test_another_channel_or_device_while_listening_switches_at_once(qtbot, live_window, message_boxes):
    window, capture = live_window
    assert window.start_live() is True
    window.channel_combo.setCurrentIndex(window.channel_combo.findData(1))
    assert window.is_live and capture.running
    assert (capture.opened[-1], capture.channels[-1]) == ("good mic", 1)
    window.device_combo.setCurrentIndex(2)  # another device: its channels, from the mix, at once
    assert window.is_live and (capture.opened[-1], capture.channels[-1]) == ("interface", None)
    assert message_boxes == []
    window.device_combo.setCurrentIndex(0)  # a device that cannot be opened: reported, the last one comes back
    assert len(message_boxes) == 1 and "broken mic" in message_boxes[0][1]
    assert window.is_live and window.device_combo.currentText() == "interface (Fake API)"
    assert (capture.opened[-1], capture.channels[-1]) == ("interface", None)
    window.stop_live()
    n = len(capture.opened)
    window.channel_combo.setCurrentIndex(window.channel_combo.findData(2))  # not listening: nothing opens
    assert len(capture.opened) == n and not window.is_live


def test_device_and_channel_come_back_in_the_next_window(qtbot, user_models, melody, tmp_path):
    from desktop_app.audio.devices import InputDevice
    from desktop_app.settings import AppSettings

    devices = [InputDevice(0, "USB interface", "ALSA", 4, 48000.0, False), InputDevice(1, "mic", "ALSA", 1, 48000.0, True)]
    ini = tmp_path / "settings.ini"

    def window():
        w = MainWindow(catalog=ModelCatalog(scan_bundled=False, user_dir=user_models), device_lister=lambda: devices,
                       capture_factory=lambda: FakeCapture(melody(1.0), 16000), settings=AppSettings.from_file(ini))
        qtbot.addWidget(w)
        return w

    first = window()
    assert first.selected_input() == (devices[1], None)  # the default device, mono
    first.device_combo.setCurrentIndex(0)
    first.channel_combo.setCurrentIndex(first.channel_combo.findData(2))
    first.close()
    second = window()
    assert second.selected_input() == (devices[0], 2)
    assert second.channel_combo.currentText() == "Ch 3"
    second.close()
