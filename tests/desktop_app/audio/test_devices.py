"""Device listing and lookup on a fake PortAudio (no sound card needed)."""

from __future__ import annotations

import builtins

import pytest

from desktop_app.audio import (
    AudioDeviceError,
    DeviceNotFoundError,
    DeviceUnavailableError,
    NoInputDeviceError,
    PortAudioMissingError,
)
from desktop_app.audio.devices import InputDevice, default_input_device, find_device, list_input_devices, portaudio
from models.errors import FeatherlightError, MissingDependencyError


def test_lists_only_input_devices_with_host_api(fake_portaudio):
    devices = list_input_devices()
    assert devices == [
        InputDevice(1, "USB Mic", "ALSA", 1, 44100.0, False),
        InputDevice(2, "Interface", "JACK Audio Connection Kit", 4, 48000.0, True),
    ]
    assert devices[1].label == "Interface (JACK Audio Connection Kit)"


def test_default_input_device(fake_portaudio):
    assert default_input_device().name == "Interface"


def test_default_falls_back_to_first_input_when_none_set(fake_portaudio):
    fake_portaudio.default.device = [-1, -1]
    assert default_input_device().name == "USB Mic"


@pytest.mark.parametrize(
    "request_, expected",
    [(1, "USB Mic"), ("2", "Interface"), ("USB Mic", "USB Mic"), ("usb", "USB Mic"),
     ("Interface (JACK Audio Connection Kit)", "Interface"), ("jack", "Interface")],
)
def test_find_device(fake_portaudio, request_, expected):
    assert find_device(request_).name == expected


def test_find_device_by_stale_index_falls_back_to_name(fake_portaudio):
    stale = InputDevice(7, "Interface", "JACK Audio Connection Kit", 4, 48000.0, True)
    assert find_device(stale).index == 2


def test_output_only_index_is_not_found(fake_portaudio):
    with pytest.raises(DeviceNotFoundError, match=r"index 0 .*1: USB Mic \(ALSA\)"):
        find_device(0)


def test_unknown_name_names_it_and_lists_devices(fake_portaudio):
    with pytest.raises(DeviceNotFoundError, match=r"'Theremin'.*rescan.*2: Interface"):
        find_device("Theremin")


def test_ambiguous_name(fake_portaudio):
    fake_portaudio.devices.append(
        {"index": 3, "name": "USB Mic #2", "hostapi": 0, "max_input_channels": 2, "default_samplerate": 48000.0}
    )
    assert find_device("usb mic #").index == 3
    with pytest.raises(DeviceNotFoundError, match=r"'usb' is ambiguous.*1: USB Mic .*3: USB Mic #2"):
        find_device("usb")


def test_no_input_device_at_all(fake_portaudio):
    fake_portaudio.devices[:] = [fake_portaudio.devices[0]]
    with pytest.raises(NoInputDeviceError, match="no audio input device") as info:
        default_input_device()
    assert isinstance(info.value, AudioDeviceError) and isinstance(info.value, FeatherlightError)


def test_error_hierarchy():
    assert issubclass(DeviceNotFoundError, DeviceUnavailableError)
    assert issubclass(PortAudioMissingError, MissingDependencyError)
    assert issubclass(PortAudioMissingError, AudioDeviceError)


def test_missing_portaudio_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def failing_import(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(__import__("sys").modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", failing_import)
    with pytest.raises(PortAudioMissingError, match=r"sudo apt-get install libportaudio2"):
        portaudio()
