"""Persistent settings of the window: a small typed wrapper over QSettings.

Everything the window remembers between runs goes through :class:`AppSettings`: the input device
(host API + device name, never a PortAudio index: indices change when devices come and go), the input
channel, the model chosen per task (a :class:`~desktop_app.live.model_choice.ModelOption` key), the
visible layers, the last folder a file was opened from, the window geometry and state, the follow mode
and the last export choice.

Reading never raises: a missing key gives the default, and a value that cannot be understood (an old
format, a hand-edited file) gives the default with a logged warning. Stored things that may have gone
away since (a device, a model, a folder) are checked against the present by the ``resolve_*`` methods.

The real settings live under organisation and application "Featherlight" (:func:`default_qsettings`);
tests pass ``QSettings(path, QSettings.IniFormat)`` or use :meth:`AppSettings.from_file`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from desktop_app.audio.devices import InputDevice
from models.annotations.types import TASKS

__all__ = [
    "APPLICATION",
    "DEFAULT_EXPORT_FORMATS",
    "DEFAULT_LAYERS",
    "LAYER_NAMES",
    "ORGANISATION",
    "AppSettings",
    "DeviceChoice",
    "default_qsettings",
]

log = logging.getLogger(__name__)

ORGANISATION = "Featherlight"
APPLICATION = "Featherlight"
#: Layers the window can show or hide (the timeline's layers plus the spectrogram).
LAYER_NAMES: tuple[str, ...] = ("spectrogram", "f0", "notes", "chords", "drums", "onsets")
DEFAULT_LAYERS: dict[str, bool] = {name: True for name in LAYER_NAMES}
EXPORT_FORMAT_NAMES: tuple[str, ...] = ("jams", "midi", "lab", "csv", "png")
DEFAULT_EXPORT_FORMATS: tuple[str, ...] = ("jams", "midi", "lab", "csv")
DEFAULT_FOLLOW = True
#: stored for "mix the first channels" (AudioCapture's channel=None)
MIX_CHANNELS = "mix"
#: stored for a task the user turned off in the model panel
MODEL_OFF = "off"

# keys (one place)
_K_DEVICE_HOST = "input/host_api"
_K_DEVICE_NAME = "input/device_name"
_K_CHANNEL = "input/channel"
_G_MODELS = "models"
_G_LAYERS = "layers"
_K_LAST_FOLDER = "files/last_folder"
_K_GEOMETRY = "window/geometry"
_K_STATE = "window/state"
_K_FOLLOW = "view/follow"
_K_EXPORT_FORMATS = "export/formats"
_K_EXPORT_FOLDER = "export/folder"

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def default_qsettings() -> QSettings:
    """The user's settings store (native format, organisation and application "Featherlight")."""
    return QSettings(ORGANISATION, APPLICATION)


@dataclass(frozen=True)
class DeviceChoice:
    """A remembered input device: the host API's name and the device's name as PortAudio reports them."""

    host_api: str
    name: str

    @classmethod
    def of(cls, device: InputDevice) -> DeviceChoice:
        return cls(host_api=device.host_api, name=device.name)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.host_api})"

    def find_in(self, devices: Iterable[InputDevice]) -> InputDevice | None:
        """The present device with this host API and name, or None."""
        for device in devices:
            if device.host_api == self.host_api and device.name == self.name:
                return device
        return None


class AppSettings:
    """Typed load/save of the window's settings over one :class:`QSettings` (see the module docstring)."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self._s = qsettings if qsettings is not None else default_qsettings()

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> AppSettings:
        """Settings kept in an ini file at ``path`` (tests, portable installs)."""
        return cls(QSettings(str(path), QSettings.Format.IniFormat))

    @property
    def qsettings(self) -> QSettings:
        return self._s

    def sync(self) -> None:
        """Write pending changes to disk now (QSettings also does it on its own, and on exit)."""
        self._s.sync()
        if self._s.status() != QSettings.Status.NoError:
            log.warning("settings could not be saved to %s (%s); check that the folder is writable",
                        self._s.fileName(), self._s.status().name)

    def clear(self) -> None:
        self._s.clear()

    # --- low-level readers: never raise ----------------------------------------------------------
    def _garbled(self, key: str, value: object, expected: str, default: object) -> None:
        log.warning("setting %s in %s holds %r, not %s; using the default %r", key, self._s.fileName(), value,
                    expected, default)

    def _get_str(self, key: str) -> str | None:
        value = self._s.value(key)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        self._garbled(key, value, "text", None)
        return None

    def _get_bool(self, key: str, default: bool) -> bool:
        value = self._s.value(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        self._garbled(key, value, "true or false", default)
        return default

    def _get_bytes(self, key: str) -> QByteArray | None:
        value = self._s.value(key)
        if value is None:
            return None
        if isinstance(value, QByteArray) and not value.isEmpty():
            return value
        if isinstance(value, (bytes, bytearray)) and value:
            return QByteArray(bytes(value))
        self._garbled(key, value, "saved window bytes", None)
        return None

    def _get_str_list(self, key: str) -> list[str] | None:
        value = self._s.value(key)
        if value is None:
            return None
        if isinstance(value, str):  # QSettings' ini format turns a one-item list into a plain string
            return [value] if value else []
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return list(value)
        self._garbled(key, value, "a list of names", None)
        return None

    # --- input device and channel ------------------------------------------------------------------
    def input_device(self) -> DeviceChoice | None:
        """The remembered device (host API + name), or None when none was saved or it is unreadable."""
        host, name = self._get_str(_K_DEVICE_HOST), self._get_str(_K_DEVICE_NAME)
        if not host or not name:
            if (host is None) != (name is None):
                log.warning("settings hold only half of the input device (host API %r, name %r); ignoring it",
                            host, name)
            return None
        return DeviceChoice(host_api=host, name=name)

    def set_input_device(self, device: InputDevice | DeviceChoice | None) -> None:
        if device is None:
            self._s.remove(_K_DEVICE_HOST)
            self._s.remove(_K_DEVICE_NAME)
            return
        choice = DeviceChoice.of(device) if isinstance(device, InputDevice) else device
        self._s.setValue(_K_DEVICE_HOST, choice.host_api)
        self._s.setValue(_K_DEVICE_NAME, choice.name)

    def resolve_input_device(self, devices: Sequence[InputDevice]) -> InputDevice | None:
        """The remembered device among ``devices`` (today's list), or None when it is gone (logged)."""
        choice = self.input_device()
        if choice is None:
            return None
        found = choice.find_in(devices)
        if found is None:
            log.warning("the saved input device %s is not present any more; choose another one", choice.label)
        return found

    def input_channel(self) -> int | None:
        """0-based input channel, or None for "mix the first channels" (the default)."""
        value = self._s.value(_K_CHANNEL)
        if value is None or value == MIX_CHANNELS:
            return None
        try:
            channel = int(value) if not isinstance(value, bool) else -1
        except (TypeError, ValueError):
            channel = -1
        if channel < 0 or str(value).strip() not in (str(channel),):
            self._garbled(_K_CHANNEL, value, f"a channel number or {MIX_CHANNELS!r}", None)
            return None
        return channel

    def set_input_channel(self, channel: int | None) -> None:
        if channel is not None and (isinstance(channel, bool) or not isinstance(channel, int) or channel < 0):
            raise ValueError(f"input channel must be a 0-based channel number or None (mix), got {channel!r}")
        self._s.setValue(_K_CHANNEL, MIX_CHANNELS if channel is None else int(channel))

    def resolve_input_channel(self, device: InputDevice) -> int | None:
        """The saved channel if ``device`` has it; otherwise None (mix), with a warning."""
        channel = self.input_channel()
        if channel is not None and channel >= device.max_input_channels:
            log.warning("saved input channel %d does not exist on %s (%d channels); mixing the channels instead",
                        channel + 1, device.label, device.max_input_channels)
            return None
        return channel

    # --- models --------------------------------------------------------------------------------------
    def model_choice(self) -> dict[str, str]:
        """``{task: option key}`` for the tasks with a saved choice (keys like ``"bundled:pitch-dense"``, or
        :data:`MODEL_OFF` for a task the user turned off)."""
        choice = {}
        for task in TASKS:
            key = self._get_str(f"{_G_MODELS}/{task}")
            if key is None:
                continue
            if ":" not in key and key != MODEL_OFF:
                self._garbled(f"{_G_MODELS}/{task}", key, "a model key like 'bundled:NAME' or 'user:NAME'", None)
                continue
            choice[task] = key
        return choice

    def set_model_choice(self, choice: Mapping[str, str]) -> None:
        """Save ``{task: option key}``; tasks not in ``choice`` keep their saved value."""
        for task, key in choice.items():
            if task not in TASKS:
                raise ValueError(f"unknown task {task!r} in the model choice; expected one of {', '.join(TASKS)}")
            self._s.setValue(f"{_G_MODELS}/{task}", str(key))

    def resolve_model_choice(self, catalog) -> dict[str, str]:
        """The saved choice checked against ``catalog`` (a ModelCatalog): per task, the saved key when
        that model is still there and usable, else the catalog's default (logged)."""
        result = dict(catalog.default_choice())
        for task, key in self.model_choice().items():
            if key == MODEL_OFF:  # the user turned the task off
                result.pop(task, None)
                continue
            usable = {o.key for o in catalog.options(task) if o.usable}
            if key in usable:
                result[task] = key
            else:
                log.warning("the saved %s model %s is not available or not usable any more; using %s", task, key,
                            result.get(task, "none"))
        return result

    # --- layers --------------------------------------------------------------------------------------
    def visible_layers(self) -> dict[str, bool]:
        """Every name of :data:`LAYER_NAMES` -> shown; unsaved layers are shown."""
        layers = dict(DEFAULT_LAYERS)
        for name in LAYER_NAMES:
            layers[name] = self._get_bool(f"{_G_LAYERS}/{name}", DEFAULT_LAYERS[name])
        return layers

    def set_visible_layers(self, layers: Mapping[str, bool]) -> None:
        for name, shown in layers.items():
            if name not in LAYER_NAMES:
                raise ValueError(f"unknown layer {name!r}; expected one of {', '.join(LAYER_NAMES)}")
            self._s.setValue(f"{_G_LAYERS}/{name}", bool(shown))

    # --- files ---------------------------------------------------------------------------------------
    def last_folder(self) -> Path | None:
        """The folder a file was last opened from, if it still exists."""
        text = self._get_str(_K_LAST_FOLDER)
        if not text:
            return None
        path = Path(text)
        if not path.is_dir():
            log.info("the last opened folder %s does not exist any more; starting from the home folder", path)
            return None
        return path

    def set_last_folder(self, folder: str | os.PathLike) -> None:
        """Remember ``folder`` (pass a file to remember the folder holding it)."""
        path = Path(folder)
        if path.is_file():
            path = path.parent
        self._s.setValue(_K_LAST_FOLDER, str(path.resolve()))

    def export_folder(self) -> Path | None:
        text = self._get_str(_K_EXPORT_FOLDER)
        return Path(text) if text and Path(text).is_dir() else None

    def set_export_folder(self, folder: str | os.PathLike) -> None:
        self._s.setValue(_K_EXPORT_FOLDER, str(Path(folder).resolve()))

    def export_formats(self) -> tuple[str, ...]:
        """The formats ticked at the last export (desktop_app.export names), default all but PNG."""
        names = self._get_str_list(_K_EXPORT_FORMATS)
        if names is None:
            return DEFAULT_EXPORT_FORMATS
        unknown = [n for n in names if n not in EXPORT_FORMAT_NAMES]
        if unknown:
            self._garbled(_K_EXPORT_FORMATS, names, "export formats " + ", ".join(EXPORT_FORMAT_NAMES),
                          DEFAULT_EXPORT_FORMATS)
            return DEFAULT_EXPORT_FORMATS
        return tuple(names)

    def set_export_formats(self, formats: Iterable[str]) -> None:
        names = list(dict.fromkeys(formats))
        unknown = [n for n in names if n not in EXPORT_FORMAT_NAMES]
        if unknown:
            raise ValueError(f"unknown export format(s) {unknown}; expected some of {', '.join(EXPORT_FORMAT_NAMES)}")
        self._s.setValue(_K_EXPORT_FORMATS, names)

    # --- window --------------------------------------------------------------------------------------
    def window_geometry(self) -> QByteArray | None:
        """Bytes from ``QMainWindow.saveGeometry()`` for ``restoreGeometry``, or None."""
        return self._get_bytes(_K_GEOMETRY)

    def set_window_geometry(self, data: QByteArray | bytes) -> None:
        self._s.setValue(_K_GEOMETRY, QByteArray(data))

    def window_state(self) -> QByteArray | None:
        """Bytes from ``QMainWindow.saveState()`` (docks, toolbars) for ``restoreState``, or None."""
        return self._get_bytes(_K_STATE)

    def set_window_state(self, data: QByteArray | bytes) -> None:
        self._s.setValue(_K_STATE, QByteArray(data))

    def follow_mode(self) -> bool:
        """Whether the live view follows the present (default True)."""
        return self._get_bool(_K_FOLLOW, DEFAULT_FOLLOW)

    def set_follow_mode(self, follow: bool) -> None:
        self._s.setValue(_K_FOLLOW, bool(follow))
