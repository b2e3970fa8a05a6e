"""Persistent settings: round trip through an ini file, garbled values, things that went away."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow, QToolBar

from desktop_app.audio.devices import InputDevice
from desktop_app.live.model_choice import ModelCatalog
from desktop_app.settings import (
    APPLICATION,
    DEFAULT_EXPORT_FORMATS,
    LAYER_NAMES,
    ORGANISATION,
    AppSettings,
    DeviceChoice,
)

MIC = InputDevice(index=3, name="USB Mic: Audio (hw:2,0)", host_api="ALSA", max_input_channels=2,
                  default_samplerate_hz=48000.0, is_default=False)
JACK = InputDevice(index=7, name="system", host_api="JACK Audio Connection Kit", max_input_channels=8,
                   default_samplerate_hz=48000.0, is_default=True)


def reopen(settings: AppSettings, path: Path) -> AppSettings:
    settings.sync()
    return AppSettings.from_file(path)


def test_names_and_defaults(tmp_path):
    assert (ORGANISATION, APPLICATION) == ("Featherlight", "Featherlight")
    s = AppSettings.from_file(tmp_path / "s.ini")
    assert s.input_device() is None and s.input_channel() is None
    assert s.model_choice() == {}
    assert s.visible_layers() == {name: True for name in LAYER_NAMES}
    assert s.last_folder() is None and s.export_folder() is None
    assert s.export_formats() == DEFAULT_EXPORT_FORMATS
    assert s.window_geometry() is None and s.window_state() is None
    assert s.follow_mode() is True


def test_round_trip(tmp_path, qtbot):
    path = tmp_path / "s.ini"
    s = AppSettings.from_file(path)
    s.set_input_device(JACK)
    s.set_input_channel(5)
    s.set_model_choice({"pitch": "bundled:pitch-dense", "drums": "user:my drums"})
    s.set_visible_layers({"spectrogram": False, "onsets": False})
    s.set_last_folder(tmp_path)
    s.set_export_folder(tmp_path)
    s.set_export_formats(["lab"])
    window = QMainWindow()
    qtbot.addWidget(window)
    bar = QToolBar("transport")
    bar.setObjectName("transport")
    window.addToolBar(bar)
    window.resize(640, 480)
    s.set_window_geometry(window.saveGeometry())
    s.set_window_state(window.saveState())
    s.set_follow_mode(False)

    back = reopen(s, path)
    assert back.input_device() == DeviceChoice("JACK Audio Connection Kit", "system")
    assert back.input_channel() == 5
    assert back.model_choice() == {"pitch": "bundled:pitch-dense", "drums": "user:my drums"}
    assert back.visible_layers() == {"spectrogram": False, "f0": True, "notes": True, "chords": True,
                                     "drums": True, "onsets": False}
    assert back.last_folder() == tmp_path.resolve() and back.export_folder() == tmp_path.resolve()
    assert back.export_formats() == ("lab",)
    assert bytes(back.window_geometry()) == bytes(window.saveGeometry())
    assert bytes(back.window_state()) == bytes(window.saveState())
    assert back.follow_mode() is False
    other = QMainWindow()
    qtbot.addWidget(other)
    assert other.restoreGeometry(back.window_geometry())
    # the ini file names the device, not its index
    text = path.read_text()
    assert "device_name=system" in text and "index" not in text

    back.set_input_channel(None)
    back.set_input_device(None)
    again = reopen(back, path)
    assert again.input_channel() is None and again.input_device() is None


def test_a_saved_file_remembers_its_folder_and_a_vanished_folder_is_forgotten(tmp_path):
    song = tmp_path / "music" / "song.wav"
    song.parent.mkdir()
    song.write_bytes(b"RIFF")
    s = AppSettings.from_file(tmp_path / "s.ini")
    s.set_last_folder(song)
    assert s.last_folder() == song.parent.resolve()
    song.unlink()
    song.parent.rmdir()
    assert s.last_folder() is None


GARBLED = """[input]
host_api=ALSA
channel=left
[models]
pitch=pitch-dense-without-origin
chords=bundled:chords-dense
[layers]
f0=perhaps
notes=false
chords=@Variant(\\0\\0\\0\\x7f\\0\\0\\0\\x10garbage)
[window]
geometry=not bytes
state=
[view]
follow=sometimes
[export]
formats=jams, mp3
"""


def test_garbled_values_fall_back_to_defaults_with_warnings(tmp_path, caplog):
    path = tmp_path / "s.ini"
    path.write_text(GARBLED)
    s = AppSettings.from_file(path)
    with caplog.at_level(logging.WARNING, logger="desktop_app.settings"):
        assert s.input_device() is None  # host API without a device name
        assert s.input_channel() is None
        assert s.model_choice() == {"chords": "bundled:chords-dense"}
        layers = s.visible_layers()
        assert s.window_geometry() is None and s.window_state() is None
        assert s.follow_mode() is True
        assert s.export_formats() == DEFAULT_EXPORT_FORMATS
    assert layers["f0"] is True and layers["notes"] is False and layers["chords"] is True
    messages = "\n".join(r.getMessage() for r in caplog.records)
    for key in ("input/channel", "models/pitch", "layers/f0", "window/geometry", "view/follow", "export/formats"):
        assert f"setting {key} in" in messages, key
    assert "only half of the input device" in messages


def test_wrong_values_passed_by_the_window_are_refused(tmp_path):
    s = AppSettings.from_file(tmp_path / "s.ini")
    with pytest.raises(ValueError, match="0-based channel number"):
        s.set_input_channel(-1)
    with pytest.raises(ValueError, match="unknown layer 'waveform'"):
        s.set_visible_layers({"waveform": True})
    with pytest.raises(ValueError, match="unknown task 'melody'"):
        s.set_model_choice({"melody": "bundled:x"})
    with pytest.raises(ValueError, match=r"unknown export format\(s\) \['mp3'\]"):
        s.set_export_formats(["mp3"])


def test_a_device_that_no_longer_exists_maps_to_none(tmp_path, caplog):
    s = AppSettings.from_file(tmp_path / "s.ini")
    s.set_input_device(MIC)
    s.set_input_channel(1)
    moved = InputDevice(index=5, name=MIC.name, host_api="ALSA", max_input_channels=2,
                        default_samplerate_hz=44100.0, is_default=False)
    assert s.resolve_input_device([JACK, moved]) is moved  # same device at a new index
    assert s.resolve_input_channel(moved) == 1
    mono = InputDevice(index=5, name=MIC.name, host_api="ALSA", max_input_channels=1,
                       default_samplerate_hz=44100.0, is_default=False)
    assert s.resolve_input_channel(mono) is None  # channel 2 of a mono device: mix instead
    with caplog.at_level(logging.WARNING, logger="desktop_app.settings"):
        assert s.resolve_input_device([JACK]) is None
        other_api = InputDevice(index=3, name=MIC.name, host_api="OSS", max_input_channels=2,
                                default_samplerate_hz=48000.0, is_default=False)
        assert s.resolve_input_device([other_api]) is None
    assert "USB Mic: Audio (hw:2,0) (ALSA) is not present any more" in caplog.text


def _tiny_model_writer():
    spec = importlib.util.spec_from_file_location(
        "live_conftest", Path(__file__).resolve().parent / "live" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_tiny_models


def test_model_choice_is_checked_against_the_catalog(tmp_path, caplog):
    bundled = tmp_path / "bundled"
    _tiny_model_writer()(bundled, tasks=("pitch", "onsets"))
    catalog = ModelCatalog(bundled_dir=bundled, user_dir=tmp_path / "user")
    default = catalog.default_choice()
    assert set(default) == {"pitch", "onsets"}
    s = AppSettings.from_file(tmp_path / "s.ini")
    s.set_model_choice({"pitch": default["pitch"], "onsets": "user:gone"})
    with caplog.at_level(logging.WARNING, logger="desktop_app.settings"):
        assert s.resolve_model_choice(catalog) == default
    assert "saved onsets model user:gone is not available" in caplog.text


def test_default_store_uses_the_featherlight_names():
    q = AppSettings().qsettings
    assert (q.organizationName(), q.applicationName()) == ("Featherlight", "Featherlight")
    assert isinstance(QByteArray(b"x"), QByteArray) and q.format() == QSettings.Format.NativeFormat
