"""The window's session features: settings restored on the next start, the demo, the model panel and
export, and playback through a real FilePlayer on a JACK-less machine (no output device: the window
says so and still analyses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.live.model_choice import ModelCatalog
from desktop_app.main_window import MainWindow
from desktop_app.settings import AppSettings


def make_window(qtbot, user_dir, settings=None, player_factory=None) -> MainWindow:
    window = MainWindow(catalog=ModelCatalog(scan_bundled=False, user_dir=user_dir), device_lister=lambda: [],
                        settings=settings, player_factory=player_factory)
    qtbot.addWidget(window)
    window.show()
    return window


def analyse(window, qtbot, path) -> None:
    assert window.open_file(path) is True
    with qtbot.waitSignal(window.file_job.done, timeout=60000):
        pass
    window.redraw()


def test_settings_come_back_in_the_next_window(qtbot, user_models, tmp_path):
    ini = tmp_path / "settings.ini"
    first = make_window(qtbot, user_models, settings=AppSettings.from_file(ini))
    first.layer_actions["spectrogram"].setChecked(False)
    first.layer_actions["onsets"].setChecked(False)
    first.follow_action.setChecked(False)
    assert first.model_panel.set_choice({t: k for t, k in first.choice.items() if t != "drums"}) == {
        t: k for t, k in first.choice.items() if t != "drums"}
    assert "drums" not in first.choice and not first.timeline.lanes["drums"].has_model
    first.close()

    second = make_window(qtbot, user_models, settings=AppSettings.from_file(ini))
    assert not second.layer_actions["spectrogram"].isChecked()
    assert not second.layer_actions["onsets"].isChecked() and second.layer_actions["notes"].isChecked()
    assert not second.timeline.layer_visible("spectrogram")
    assert not second.follow_action.isChecked()
    assert second.analysed_tasks == ("pitch", "chords", "onsets")  # drums stayed off
    second.close()


class RecordingPlayer:
    """Stands in for FilePlayer where no output device exists: records the transport calls."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.position_s = 0.0
        self.is_playing = False
        self.state = None

    def open_file(self, path):
        self.calls.append(("open", Path(path).name))
        return 3.5

    def play(self):
        self.calls.append(("play",))
        self.is_playing = True

    def pause(self):
        self.calls.append(("pause",))
        self.is_playing = False

    def seek(self, time_s):
        self.calls.append(("seek", round(time_s, 3)))
        self.position_s = time_s
        return time_s

    def take_finished(self):
        return False

    def close(self):
        self.calls.append(("close",))


def test_transport_drives_the_player_and_the_playhead(qtbot, user_models, wav):
    player = RecordingPlayer()
    window = make_window(qtbot, user_models, player_factory=lambda: player)
    analyse(window, qtbot, wav)
    assert player.calls[0] == ("open", wav.name)
    assert window.transport.play_button.isEnabled()
    window.transport.play_pause_action.trigger()
    assert player.calls[-1] == ("play",) and window.timeline.following
    window.transport.forward_action.trigger()  # +5 s, clamped to the 3.5 s the player reported
    assert player.calls[-1] == ("seek", 3.5)
    window.redraw()
    assert window.timeline.playhead_s == pytest.approx(3.5)
    window.seek(1.0)
    window.redraw()
    assert window.tuner.chord_label.text() == (window.store.chord_at(1.0) or "--")  # what is heard
    reading = window.store.tuner_reading(1.0)
    assert window.tuner.note_label.text() == (reading.note if reading else "--")
    window.transport.to_start_action.trigger()
    window.redraw()
    assert player.calls[-1] == ("seek", 0.0) and window.timeline.playhead_s == pytest.approx(0.0)
    window.transport.play_pause_action.trigger()
    assert player.calls[-1] == ("pause",)
    window.close()
    assert player.calls[-1] == ("close",)


def test_no_output_device_leaves_analysis_working(qtbot, user_models, wav, monkeypatch):
    from desktop_app.audio import playback

    monkeypatch.setattr(playback, "list_output_devices", lambda: [])
    window = make_window(qtbot, user_models)  # the real FilePlayer
    analyse(window, qtbot, wav)
    assert window.player is None and not window.transport.play_button.isEnabled()
    assert not window.transport.play_pause_action.isEnabled()
    assert sum(window.store.counts().values()) > 0


def test_demo_opens_and_is_analysed(qtbot, user_models, message_boxes):
    window = make_window(qtbot, user_models, player_factory=RecordingPlayer)
    assert window.open_demo() is True
    with qtbot.waitSignal(window.file_job.done, timeout=60000):
        pass
    assert message_boxes == []
    assert window.current_file.name == "demo.ogg"
    assert window.store.latest_time_s == pytest.approx(20.0, abs=0.05)


def test_export_writes_the_contract_files(qtbot, user_models, wav, tmp_path, monkeypatch):
    from desktop_app import export

    window = make_window(qtbot, user_models, player_factory=RecordingPlayer)
    analyse(window, qtbot, wav)
    out = tmp_path / "out"
    monkeypatch.setattr(export, "run_export_dialog",
                        lambda parent, store, folder, stem, **kw: export.export_analysis(
                            store, out, stem, ("jams", "lab", "png"), widget=kw["widget"]))
    written = window.export_dialog()
    assert sorted(p.name for p in written) == ["melody.chords.lab", "melody.jams", "melody.png"]
    assert all(p.stat().st_size > 0 for p in written)
