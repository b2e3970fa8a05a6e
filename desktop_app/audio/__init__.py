"""Live audio input and file playback: device listing, a lock-free ring buffer, the PortAudio capture
stream and the file player.

No Qt here: the GUI wraps these classes, and they are tested without a window (through a real JACK
server with the dummy driver). Modules:

- :mod:`desktop_app.audio.devices`: list / find input devices on every PortAudio host API, ``rescan()``.
- :mod:`desktop_app.audio.ring_buffer`: the single-producer / single-consumer float32 ring buffer.
- :mod:`desktop_app.audio.capture`: :class:`~desktop_app.audio.capture.AudioCapture` (the stream whose
  callback only copies into the ring) and the consumer-side
  :class:`~desktop_app.audio.capture.Resampler` to the models' rate.
- :mod:`desktop_app.audio.resample`: :class:`~desktop_app.audio.resample.PolyphaseResampler`, the
  low-delay streaming resampler of the live path (1.6 ms of delay at 48 to 16 kHz, where soxr MQ held 16 ms).
- :mod:`desktop_app.audio.playback`: output devices and :class:`~desktop_app.audio.playback.FilePlayer`
  (play/pause/seek with the heard position, output latency compensated).

The errors below are the only ones these modules raise on purpose; each message names the device and
says what to do.
"""

from __future__ import annotations

from models.errors import FeatherlightError, MissingDependencyError


class AudioDeviceError(FeatherlightError):
    """An audio input device could not be listed, found or opened."""


class NoInputDeviceError(AudioDeviceError):
    """The system offers no audio input device at all."""


class NoOutputDeviceError(AudioDeviceError):
    """The system offers no audio output device at all (playback only; analysis still works)."""


class DeviceUnavailableError(AudioDeviceError):
    """The device exists no more (unplugged) or cannot be opened now (busy, server gone)."""


class DeviceNotFoundError(DeviceUnavailableError):
    """No input device matches the name or index the user gave."""


class UnsupportedFormatError(AudioDeviceError):
    """The device refuses the requested sample rate, channel count or block size."""


class PortAudioMissingError(AudioDeviceError, MissingDependencyError):
    """The PortAudio library (used through sounddevice) is not installed."""


__all__ = [
    "AudioDeviceError",
    "DeviceNotFoundError",
    "DeviceUnavailableError",
    "NoInputDeviceError",
    "NoOutputDeviceError",
    "PortAudioMissingError",
    "UnsupportedFormatError",
]
