"""Input devices on every host API PortAudio offers (ALSA, JACK, OSS, PulseAudio/PipeWire via ALSA, ...).

sounddevice is imported lazily (:func:`portaudio`): a missing PortAudio library becomes a
:class:`~desktop_app.audio.PortAudioMissingError` that says how to install it, instead of an OSError at
start-up. PortAudio enumerates devices once, when it is initialised; call :func:`rescan` after a device
was plugged in or removed to see the new list (no stream may be open while it runs).
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from desktop_app.audio import (
    DeviceNotFoundError,
    DeviceUnavailableError,
    NoInputDeviceError,
    PortAudioMissingError,
)

log = logging.getLogger(__name__)

_INSTALL_HINT = "install it with `sudo apt-get install libportaudio2` (Debian/Ubuntu) and restart Featherlight"


@dataclass(frozen=True)
class InputDevice:
    """One PortAudio device that can record (``max_input_channels > 0``)."""

    index: int
    name: str
    host_api: str
    max_input_channels: int
    default_samplerate_hz: float
    is_default: bool

    @property
    def label(self) -> str:
        """A name a person can pick from a list: ``"system (JACK Audio Connection Kit)"``."""
        return f"{self.name} ({self.host_api})"


def portaudio() -> ModuleType:
    """Import and return :mod:`sounddevice`, turning a missing PortAudio library into a clear error."""
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise PortAudioMissingError(f"the PortAudio library could not be loaded ({exc}); {_INSTALL_HINT}") from exc
    return sounddevice



def call_bounded(action: str, function: Callable[[], None], stream: object, *, what: str, timeout_s: float,
                 abandoned: list[object]) -> None:
    """Run a PortAudio call that may never return on a dead device, waiting at most ``timeout_s``.

    PortAudio's JACK host waits for the server to acknowledge a stop; a server that was killed never
    does. The call runs in a daemon thread; if it does not finish in time ``stream`` is appended to
    ``abandoned`` (kept referenced, never touched again) so the app stays usable. ``what`` names the
    stream in the log ("input stream", "output stream").
    """

    def call() -> None:
        try:
            function()
        except Exception as exc:  # a dead device may fail to stop or close; nothing more to do
            log.warning("%s the %s failed: %s", action, what, exc)

    worker = threading.Thread(target=call, name=f"featherlight-{what.replace(' ', '-')}-{action}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        log.warning("%s the %s did not return within %.1f s; abandoning it", action, what, timeout_s)
        abandoned.append(stream)
        # sounddevice terminates PortAudio at exit, which would wait for the same dead stream forever
        exit_handler = getattr(portaudio(), "_exit_handler", None)
        if exit_handler is not None:
            atexit.unregister(exit_handler)


def rescan() -> None:
    """Re-initialise PortAudio so that devices plugged in or removed since start-up are listed.

    Close every stream first: re-initialising PortAudio invalidates open streams.
    """
    sd = portaudio()
    try:
        sd._terminate()
        sd._initialize()
    except sd.PortAudioError as exc:
        raise DeviceUnavailableError(
            f"PortAudio could not re-scan the audio devices ({exc}); close other audio programs that hold "
            "the sound card or restart Featherlight"
        ) from exc
    log.info("PortAudio re-initialised; %d input devices", len(list_input_devices()))


def _default_input_index(sd: ModuleType) -> int:
    try:
        index = sd.default.device[0]
        if index is None or index < 0:
            index = int(sd.query_hostapis(sd.default.hostapi)["default_input_device"])
    except sd.PortAudioError:
        return -1
    return int(index) if index is not None else -1


def list_input_devices() -> list[InputDevice]:
    """Every device with at least one input channel, over all host APIs, in PortAudio's order."""
    sd = portaudio()
    hostapis = sd.query_hostapis()
    default_index = _default_input_index(sd)
    devices: list[InputDevice] = []
    for info in sd.query_devices():
        if int(info["max_input_channels"]) <= 0:
            continue
        index = int(info["index"])
        devices.append(
            InputDevice(
                index=index,
                name=str(info["name"]),
                host_api=str(hostapis[int(info["hostapi"])]["name"]),
                max_input_channels=int(info["max_input_channels"]),
                default_samplerate_hz=float(info["default_samplerate"]),
                is_default=index == default_index,
            )
        )
    return devices


def _require_devices() -> list[InputDevice]:
    devices = list_input_devices()
    if not devices:
        raise NoInputDeviceError(
            "no audio input device was found on any host API (ALSA, JACK, PulseAudio/PipeWire); plug in a "
            "microphone or audio interface (or start the JACK/PipeWire server), then rescan the devices "
            "or open an audio file instead"
        )
    return devices


def default_input_device() -> InputDevice:
    """The system's default input device, or the first input device when no default is set."""
    devices = _require_devices()
    for device in devices:
        if device.is_default:
            return device
    log.info("no default input device is set; using %s", devices[0].label)
    return devices[0]


def _names(devices: list[InputDevice]) -> str:
    return "; ".join(f"{d.index}: {d.label}" for d in devices)


def find_device(name_or_index: int | str | InputDevice) -> InputDevice:
    """Resolve a device index, an exact name, a ``label`` or a unique case-insensitive part of a name.

    Raises :class:`~desktop_app.audio.DeviceNotFoundError` naming the request and listing the devices
    present when nothing (or more than one device) matches.
    """
    devices = _require_devices()
    if isinstance(name_or_index, InputDevice):
        for device in devices:
            if device.index == name_or_index.index and device.name == name_or_index.name:
                return device
        # indices shift when devices come and go: fall back to the name
        name_or_index = name_or_index.name
    if isinstance(name_or_index, str) and name_or_index.strip().lstrip("-").isdigit():
        name_or_index = int(name_or_index.strip())
    if isinstance(name_or_index, int):
        for device in devices:
            if device.index == name_or_index:
                return device
        raise DeviceNotFoundError(
            f"no input device has index {name_or_index} (unplugged, or an output-only device); "
            f"input devices present: {_names(devices)}"
        )
    wanted = name_or_index.strip()
    exact = [d for d in devices if d.name == wanted or d.label == wanted]
    if exact:
        return exact[0]
    partial = [d for d in devices if wanted.lower() in d.label.lower()]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise DeviceNotFoundError(
            f"no input device is called {wanted!r} (unplugged or renamed?); plug it in and rescan, or pick "
            f"one of: {_names(devices)}"
        )
    raise DeviceNotFoundError(
        f"the input device name {wanted!r} is ambiguous; use the full name or the index of one of: {_names(partial)}"
    )


__all__ = [
    "InputDevice",
    "default_input_device",
    "find_device",
    "list_input_devices",
    "portaudio",
    "rescan",
]
