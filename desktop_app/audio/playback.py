"""File playback through a PortAudio output stream, and the position that is being HEARD now.

No Qt here: the transport bar (:mod:`desktop_app.views.transport`) and the window drive a
:class:`FilePlayer` and poll :attr:`FilePlayer.position_s` from their 60 Hz timer to move the playhead.

Threads and ownership
---------------------
- The GUI thread calls :meth:`FilePlayer.open`, :meth:`~FilePlayer.play`, :meth:`~FilePlayer.pause`,
  :meth:`~FilePlayer.seek`. Each of these only replaces one immutable *request* tuple
  ``(seek_generation, seek_index, playing)`` (a single reference assignment, atomic under the GIL).
- The PortAudio callback (audio thread) reads that tuple, applies a new seek once (when the generation
  changed), copies ``frames`` samples from the preallocated ``(samples, channels)`` float32 array at its
  read index into ``outdata`` (zeros when paused and past the end), advances the index and records an
  *anchor* row in a preallocated ring of anchors. It takes no lock, allocates no array, never logs; an
  exception is counted and the buffer is silenced.
- The stream runs from :meth:`~FilePlayer.open` to :meth:`~FilePlayer.close`: pausing outputs silence,
  so play starts at once and the latency estimate stays current.

Heard position
--------------
Each callback records ``(generation, first_index, played, dac_time, clock)``: the file sample index of
the first sample of the buffer, how many samples of the buffer came from the file (0 when paused or past
the end), and when that first sample reaches the DAC, on one of two clocks::

    dac_time = outputBufferDacTime                      (PortAudio stream clock) if the host reports it
                                                         sensibly: currentTime > 0 and
                                                         0 <= outputBufferDacTime - currentTime < 1 s
    dac_time = currentTime + stream.latency              (stream clock) if only currentTime is usable
    dac_time = time.monotonic() + stream.latency         (monotonic clock) if neither is

At ``now`` on the anchor's clock (``stream.time`` for the stream clock, which PortAudio defines on the
same time base as the callback's times, so the playhead moves smoothly between callbacks), the newest
anchor of the current seek generation whose first sample has reached the DAC (``dac_time <= now``)
gives::

    heard_index = first_index + min(played, max(0, (now - dac_time) * rate))
    position_s  = clamp(heard_index / rate, 0, duration_s)

A paused buffer (``played == 0``) therefore holds the position still once the last played samples have
left the speaker. Before any buffer of the current generation reaches the DAC (right after a seek) the
position is the seek target, so the playhead jumps at once although the old audio is still in flight
for :attr:`~FilePlayer.output_latency_s`.

End of file: the callback fills zeros past the end; :attr:`~FilePlayer.finished` becomes true once the
last sample has been heard, and :meth:`~FilePlayer.take_finished` returns true exactly once per end for
the GUI's timer. Errors are :class:`~desktop_app.audio.AudioDeviceError` subclasses whose messages name
the device and what to do; a stream that PortAudio ends by itself (device unplugged, JACK server gone)
shows up as :attr:`PlaybackState.DIED` (or STALLED when callbacks just stop) and :meth:`~FilePlayer.play`
then raises :class:`~desktop_app.audio.DeviceUnavailableError`.
"""

from __future__ import annotations

import enum
import functools
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from desktop_app.audio import (AudioDeviceError, DeviceNotFoundError, DeviceUnavailableError, NoOutputDeviceError,
                               UnsupportedFormatError)
from desktop_app.audio import devices as _devices
from desktop_app.audio.capture import classify_portaudio_error
from models.errors import ConfigError

log = logging.getLogger(__name__)

__all__ = [
    "FilePlayer",
    "NoOutputDeviceError",
    "OutputDevice",
    "PlaybackConfig",
    "PlaybackState",
    "default_output_device",
    "find_output_device",
    "list_output_devices",
]

_MAX_CHANNELS_FIRST_AXIS = 64  # a (channels, samples) array with more rows than this was probably transposed
_CLOCK_STREAM = 0.0
_CLOCK_MONOTONIC = 1.0
# anchor columns
_GEN, _FIRST, _PLAYED, _DAC, _CLOCK = range(5)


@dataclass(frozen=True)
class PlaybackConfig:
    """Playback settings not chosen per file or device (defaults live here only)."""

    max_output_channels: int = 2  # channels opened on the device (PipeWire/Pulse report 32-64)
    latency: str = "low"  # PortAudio's suggested latency: "low", "high" or seconds as a string
    anchor_count: int = 512  # callbacks remembered for the heard position (> output latency / block)
    stall_timeout_s: float = 1.0  # a running stream with no callback for this long counts as STALLED
    close_timeout_s: float = 2.0  # stop/close of a dead stream can hang in PortAudio: give up after this
    resample_quality: str = "HQ"  # soxr quality when the device refuses the file's rate

    def __post_init__(self) -> None:
        if self.max_output_channels < 1:
            raise ConfigError(f"max_output_channels must be at least 1, got {self.max_output_channels}")
        if self.anchor_count < 16:
            raise ConfigError(f"anchor_count must be at least 16, got {self.anchor_count}")
        if not (self.stall_timeout_s > 0 and math.isfinite(self.stall_timeout_s)):
            raise ConfigError(f"stall_timeout_s must be a positive number of seconds, got {self.stall_timeout_s}")
        if not (self.close_timeout_s > 0 and math.isfinite(self.close_timeout_s)):
            raise ConfigError(f"close_timeout_s must be a positive number of seconds, got {self.close_timeout_s}")


class PlaybackState(enum.Enum):
    """What the GUI shows about playback (poll :attr:`FilePlayer.state`)."""

    CLOSED = "closed"  # nothing open
    PAUSED = "paused"  # open, silent
    PLAYING = "playing"  # callbacks copy the file
    FINISHED = "finished"  # the end of the file was heard; play() starts again from 0
    STALLED = "stalled"  # no callback for stall_timeout_s (server frozen, device gone)
    DIED = "died"  # PortAudio ended the stream by itself (device unplugged, server stopped)


# --- output devices -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OutputDevice:
    """One PortAudio device that can play (``max_output_channels > 0``)."""

    index: int
    name: str
    host_api: str
    max_output_channels: int
    default_samplerate_hz: float
    is_default: bool

    @property
    def label(self) -> str:
        """A name a person can pick from a list: ``"system (JACK Audio Connection Kit)"``."""
        return f"{self.name} ({self.host_api})"


def _default_output_index(sd) -> int:
    try:
        index = sd.default.device[1]
        if index is None or index < 0:
            index = int(sd.query_hostapis(sd.default.hostapi)["default_output_device"])
    except sd.PortAudioError:
        return -1
    return int(index) if index is not None else -1


def list_output_devices() -> list[OutputDevice]:
    """Every device with at least one output channel, over all host APIs, in PortAudio's order."""
    sd = _devices.portaudio()
    hostapis = sd.query_hostapis()
    default_index = _default_output_index(sd)
    found: list[OutputDevice] = []
    for info in sd.query_devices():
        channels = int(info.get("max_output_channels", 0))
        if channels <= 0:
            continue
        index = int(info["index"])
        found.append(
            OutputDevice(
                index=index,
                name=str(info["name"]),
                host_api=str(hostapis[int(info["hostapi"])]["name"]),
                max_output_channels=channels,
                default_samplerate_hz=float(info["default_samplerate"]),
                is_default=index == default_index,
            )
        )
    return found


def _require_output_devices() -> list[OutputDevice]:
    found = list_output_devices()
    if not found:
        raise NoOutputDeviceError(
            "no audio output device was found on any host API (ALSA, JACK, PulseAudio/PipeWire); plug in "
            "headphones or speakers (or start the JACK/PipeWire server), then rescan the devices; the "
            "analysis still works without playback"
        )
    return found


def default_output_device() -> OutputDevice:
    """The system's default output device, or the first output device when no default is set."""
    found = _require_output_devices()
    for device in found:
        if device.is_default:
            return device
    log.info("no default output device is set; using %s", found[0].label)
    return found[0]


def _names(found: list[OutputDevice]) -> str:
    return "; ".join(f"{d.index}: {d.label}" for d in found)


def find_output_device(name_or_index: int | str | OutputDevice) -> OutputDevice:
    """Resolve an index, an exact name, a ``label`` or a unique case-insensitive part of a name.

    Raises :class:`~desktop_app.audio.DeviceNotFoundError` naming the request and listing the output
    devices present when nothing (or more than one device) matches.
    """
    found = _require_output_devices()
    if isinstance(name_or_index, OutputDevice):
        for device in found:
            if device.index == name_or_index.index and device.name == name_or_index.name:
                return device
        name_or_index = name_or_index.name  # indices shift when devices come and go
    if isinstance(name_or_index, str) and name_or_index.strip().lstrip("-").isdigit():
        name_or_index = int(name_or_index.strip())
    if isinstance(name_or_index, int):
        for device in found:
            if device.index == name_or_index:
                return device
        raise DeviceNotFoundError(
            f"no output device has index {name_or_index} (unplugged, or an input-only device); "
            f"output devices present: {_names(found)}"
        )
    wanted = str(name_or_index).strip()
    exact = [d for d in found if d.name == wanted or d.label == wanted]
    if exact:
        return exact[0]
    partial = [d for d in found if wanted.lower() in d.label.lower()]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise DeviceNotFoundError(
            f"no output device is called {wanted!r} (unplugged or renamed?); plug it in and rescan, or pick "
            f"one of: {_names(found)}"
        )
    raise DeviceNotFoundError(
        f"the output device name {wanted!r} is ambiguous; use the full name or the index of one of: {_names(partial)}"
    )


def _map_output_error(exc: Exception, device: OutputDevice, channels: int, sample_rate_hz: float) -> AudioDeviceError:
    """Turn a sounddevice.PortAudioError into the AudioDeviceError a person can act on."""
    kind, text = classify_portaudio_error(exc)
    if kind == "rate":
        return UnsupportedFormatError(
            f"output device {device.label} refuses the sample rate {sample_rate_hz:g} Hz ({text}); play at the "
            f"device's own rate ({device.default_samplerate_hz:g} Hz) or choose another output device"
        )
    if kind == "format":
        return UnsupportedFormatError(
            f"output device {device.label} refuses {channels} channel(s) of float32 at {sample_rate_hz:g} Hz "
            f"({text}); choose another output device"
        )
    return DeviceUnavailableError(
        f"output device {device.label} could not be opened ({text}); it may be unplugged or in use by another "
        "program: reconnect it or close the other program, rescan the devices and try again"
    )


def _as_frames(audio: np.ndarray, out_channels: int) -> np.ndarray:
    """``(samples,)`` or ``(channels, samples)`` -> C-contiguous ``(samples, out_channels)`` float32."""
    if audio.ndim == 1:
        mono = audio[:, None]
        return np.ascontiguousarray(np.repeat(mono, out_channels, axis=1), dtype=np.float32)
    channels = audio.shape[0]
    if channels == out_channels:
        return np.ascontiguousarray(audio.T, dtype=np.float32)
    if out_channels == 1 or channels != 1:
        mixed = audio.mean(axis=0, dtype=np.float32)[:, None]
    else:
        mixed = audio.T
    return np.ascontiguousarray(np.repeat(mixed, out_channels, axis=1), dtype=np.float32)


def _check_audio(audio: object, sample_rate_hz: object) -> tuple[np.ndarray, float]:
    if not isinstance(audio, np.ndarray) or audio.ndim not in (1, 2):
        shape = getattr(audio, "shape", None)
        raise ConfigError(
            f"audio for playback must be a 1-D (samples,) or 2-D (channels, samples) numpy array, got "
            f"{type(audio).__name__} with shape {shape}; load it with models.audio.load_audio"
        )
    if audio.ndim == 2 and audio.shape[0] > _MAX_CHANNELS_FIRST_AXIS:
        raise ConfigError(
            f"audio for playback has shape {audio.shape}: {audio.shape[0]} channels is implausible; pass "
            "(channels, samples), e.g. audio.T for a (samples, channels) array"
        )
    if audio.shape[-1] == 0 or (audio.ndim == 2 and audio.shape[0] == 0):
        raise ConfigError(f"audio for playback holds no samples (shape {audio.shape}); open a non-empty file")
    ok_rate = (
        isinstance(sample_rate_hz, (int, float, np.integer, np.floating))
        and not isinstance(sample_rate_hz, bool)
        and math.isfinite(float(sample_rate_hz))
        and float(sample_rate_hz) > 0
    )
    if not ok_rate:
        raise ConfigError(f"sample_rate_hz must be a positive number of Hz, got {sample_rate_hz!r}")
    return audio, float(sample_rate_hz)


@dataclass(frozen=True)
class _Opened:
    """What one open stream plays: the device, the frames at the device rate and the stream itself."""

    device: OutputDevice
    frames: np.ndarray  # (samples, channels) float32 at rate_hz
    rate_hz: float
    source_rate_hz: float
    stream: object


class FilePlayer:
    """Plays one audio array on one output device; see the module docstring for threads and formulas."""

    def __init__(self, config: PlaybackConfig | None = None) -> None:
        self.config = config or PlaybackConfig()
        self._opened: _Opened | None = None
        self._abandoned: list[object] = []
        self._stream_token: object | None = None
        self._frames: np.ndarray | None = None
        self._anchors = np.zeros((self.config.anchor_count, 5), dtype=np.float64)
        self._reset_playback_state()

    def _reset_playback_state(self) -> None:
        # written by the GUI thread only
        self._request: tuple[int, int, bool] = (0, 0, False)  # (seek generation, seek index, playing)
        self._finished_taken_generation = -1
        # written by the audio thread only
        self._applied_generation = -1
        self._index = 0
        self._total = 0
        self._ended_generation = -1
        self._anchor_count = 0
        self._callback_count = 0
        self._callback_errors = 0
        self._underflows = 0
        self._measured_latency_s = float("nan")
        self._stream_latency_s = 0.0
        self._last_callback_monotonic_s = 0.0
        self._died = False

    # --- opening and closing ------------------------------------------------------------------------
    def open_file(self, path: str | os.PathLike, device: int | str | OutputDevice | None = None) -> float:
        """Load ``path`` at the output device's own rate (keeping its channels) and open it; returns the
        duration in seconds. Raises the errors of :func:`models.audio.load_audio` and :meth:`open`."""
        from models.audio import load_audio

        resolved = default_output_device() if device is None else find_output_device(device)
        rate = int(round(resolved.default_samplerate_hz))
        audio = load_audio(Path(path), rate, mono=False)
        self.open(audio, rate, resolved)
        return self.duration_s

    def open(
        self,
        audio: np.ndarray,
        sample_rate_hz: float,
        device: int | str | OutputDevice | None = None,
    ) -> OutputDevice:
        """Open ``audio`` (``(samples,)`` or ``(channels, samples)`` float) on ``device`` (None = default).

        The stream starts at once, silent and paused at 0 s. If the device refuses the file's rate the
        audio is resampled to the device's own rate (here, not in the callback). Whatever was open before
        is replaced; if the new device fails, the previous audio, position and device are kept (reopened
        if need be) and the :class:`~desktop_app.audio.AudioDeviceError` is raised.
        """
        audio, source_rate = _check_audio(audio, sample_rate_hz)
        resolved = default_output_device() if device is None else find_output_device(device)
        channels = min(resolved.max_output_channels, self.config.max_output_channels)
        rate = self._usable_rate(resolved, channels, source_rate)
        frames = _as_frames(np.asarray(audio, dtype=np.float32), channels)
        if rate != source_rate:
            import soxr

            log.info("resampling playback audio from %g Hz to %s's %g Hz", source_rate, resolved.label, rate)
            frames = np.ascontiguousarray(
                soxr.resample(frames, source_rate, rate, quality=self.config.resample_quality), dtype=np.float32
            )
        previous = self._opened
        previous_position_s = self.position_s if previous is not None else 0.0
        self._close_stream()
        try:
            self._start(resolved, frames, rate, source_rate)
        except AudioDeviceError:
            if previous is not None:
                try:
                    self._start(previous.device, previous.frames, previous.rate_hz, previous.source_rate_hz)
                    self.seek(previous_position_s)
                except AudioDeviceError as again:
                    log.warning("the previous output device %s could not be reopened: %s", previous.device.label, again)
            raise
        return resolved

    def switch_device(self, device: int | str | OutputDevice | None) -> OutputDevice:
        """Play the same audio on another output device, keeping the position (paused)."""
        opened = self._opened
        if opened is None:
            raise DeviceUnavailableError("no audio is open for playback; open a file before choosing its output device")
        position_s = self.position_s
        frames = opened.frames.T if opened.frames.shape[1] > 1 else opened.frames[:, 0]
        resolved = self.open(frames, opened.rate_hz, device)
        self.seek(position_s)
        return resolved

    def _usable_rate(self, device: OutputDevice, channels: int, rate: float) -> float:
        """``rate`` if the device accepts it, else the device's own rate (raises when neither works)."""
        sd = _devices.portaudio()
        candidates = [rate] if rate == device.default_samplerate_hz else [rate, device.default_samplerate_hz]
        error: Exception | None = None
        for candidate in candidates:
            try:
                sd.check_output_settings(device=device.index, channels=channels, dtype="float32", samplerate=candidate)
                return candidate
            except sd.PortAudioError as exc:
                error = error or exc
                mapped = _map_output_error(exc, device, channels, candidate)
                if not isinstance(mapped, UnsupportedFormatError):
                    raise mapped from exc
            except ValueError as exc:  # sounddevice raises ValueError for unknown devices
                raise DeviceUnavailableError(
                    f"output device {device.label} is not available any more ({exc}); rescan the devices"
                ) from exc
        raise _map_output_error(error, device, channels, candidates[-1]) from error

    def _start(self, device: OutputDevice, frames: np.ndarray, rate: float, source_rate: float) -> None:
        sd = _devices.portaudio()
        self._reset_playback_state()
        self._total = frames.shape[0]
        self._frames = frames
        token = object()  # identifies this stream: a closed stream's late finished_callback is ignored
        self._stream_token = token
        try:
            stream = sd.OutputStream(
                device=device.index,
                channels=frames.shape[1],
                samplerate=rate,
                dtype="float32",
                latency=self.config.latency,
                callback=self._callback,
                finished_callback=functools.partial(self._on_finished, token),
            )
        except sd.PortAudioError as exc:
            raise _map_output_error(exc, device, frames.shape[1], rate) from exc
        try:
            self._stream_latency_s = float(stream.latency)
        except Exception:
            self._stream_latency_s = 0.0
        self._opened = _Opened(device, frames, rate, source_rate, stream)
        self._last_callback_monotonic_s = time.monotonic()
        try:
            stream.start()
        except sd.PortAudioError as exc:
            self._close_stream()
            raise _map_output_error(exc, device, frames.shape[1], rate) from exc
        log.info(
            "playing on %s: %d channel(s) at %g Hz, %.2f s, output latency %.1f ms",
            device.label, frames.shape[1], rate, self.duration_s, 1000.0 * self._stream_latency_s,
        )

    def _call_bounded(self, action: str, function: Callable[[], None], stream: object) -> None:
        """Run a PortAudio call that may never return on a dead device (see devices.call_bounded)."""
        _devices.call_bounded(action, function, stream, what="output stream", timeout_s=self.config.close_timeout_s,
                              abandoned=self._abandoned)

    def _close_stream(self) -> None:
        opened, self._opened = self._opened, None
        if opened is None:
            return
        stream = opened.stream

        def abort_and_close() -> None:
            stream.abort(ignore_errors=True)
            stream.close(ignore_errors=True)

        self._call_bounded("closing", abort_and_close, stream)

    def stop(self) -> None:
        """Pause and go back to the start (the stream stays open)."""
        self.pause()
        if self._opened is not None:
            self.seek(0.0)

    def close(self) -> None:
        """Stop playing and release the device (bounded by ``close_timeout_s``)."""
        self._close_stream()
        self._frames = None
        self._reset_playback_state()

    def __enter__(self) -> FilePlayer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- transport (GUI thread) ------------------------------------------------------------------------
    def _require_open(self, action: str) -> _Opened:
        opened = self._opened
        if opened is None:
            raise DeviceUnavailableError(f"no audio is open for playback; open a file before pressing {action}")
        return opened

    def play(self) -> None:
        """Start or resume; at the end of the file, start again from 0. Raises when the device died."""
        opened = self._require_open("play")
        state = self.state
        if state in (PlaybackState.DIED, PlaybackState.STALLED):
            raise DeviceUnavailableError(
                f"output device {opened.device.label} stopped responding (unplugged, or the audio server quit); "
                "reconnect it or choose another output device, then open the file again"
            )
        generation, seek_index, _ = self._request
        if self._ended_generation == generation:
            self._request = (generation + 1, 0, True)
        else:
            self._request = (generation, seek_index, True)

    def pause(self) -> None:
        """Output silence from the next buffer on; the heard position stops once the last samples are out."""
        generation, seek_index, _ = self._request
        self._request = (generation, seek_index, False)

    def toggle(self) -> None:
        """Pause when playing, else play."""
        if self.is_playing:
            self.pause()
        else:
            self.play()

    def seek(self, time_s: float) -> float:
        """Jump to ``time_s`` (clamped to [0, duration]) while playing or paused; returns the target."""
        opened = self._require_open("seek")
        if not (isinstance(time_s, (int, float, np.integer, np.floating)) and math.isfinite(float(time_s))):
            raise ConfigError(f"seek time must be a finite number of seconds, got {time_s!r}")
        index = int(round(min(max(float(time_s), 0.0), self.duration_s) * opened.rate_hz))
        index = min(index, self._total)
        generation, _, playing = self._request
        if self._ended_generation == generation and not self.is_playing:
            playing = False  # a finished file stays paused at the new place
        self._request = (generation + 1, index, playing)
        return index / opened.rate_hz

    # --- the audio thread ---------------------------------------------------------------------------
    def _callback(self, outdata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        try:
            if status and status.output_underflow:
                self._underflows += 1
            generation, seek_index, playing = self._request
            if generation != self._applied_generation:
                self._index = seek_index
                self._applied_generation = generation
            index = self._index
            total = self._total
            played = 0
            if playing and index < total:
                played = min(frames, total - index)
                outdata[:played] = self._frames[index : index + played]
                self._index = index + played
            if played < frames:
                outdata[played:].fill(0.0)
            if playing and index + played >= total:
                self._ended_generation = generation
            now_mono = time.monotonic()
            current = float(time_info.currentTime)
            dac = float(time_info.outputBufferDacTime)
            if current > 0.0 and 0.0 <= dac - current < 1.0:
                clock = _CLOCK_STREAM
                self._measured_latency_s = dac - current
            elif current > 0.0:
                clock, dac = _CLOCK_STREAM, current + self._stream_latency_s
            else:
                clock, dac = _CLOCK_MONOTONIC, now_mono + self._stream_latency_s
            anchors = self._anchors
            row = self._anchor_count % anchors.shape[0]
            anchors[row, _GEN] = generation
            anchors[row, _FIRST] = index
            anchors[row, _PLAYED] = played
            anchors[row, _DAC] = dac
            anchors[row, _CLOCK] = clock
            self._anchor_count += 1
            self._last_callback_monotonic_s = now_mono
            self._callback_count += 1
        except Exception:  # nothing may escape into PortAudio; the GUI shows the count
            self._callback_errors += 1
            outdata.fill(0.0)

    def _on_finished(self, token: object) -> None:
        if token is self._stream_token and self._opened is not None:
            self._died = True

    # --- what the GUI polls ---------------------------------------------------------------------------
    def _heard_index(self) -> float:
        opened = self._opened
        if opened is None:
            return 0.0
        generation, seek_index, _ = self._request
        count = self._anchor_count
        size = self._anchors.shape[0]
        if count == 0:
            return float(seek_index)
        first = max(0, count - size + 2)  # the row being written next may be torn: skip the oldest rows
        rows = self._anchors[np.arange(first, count) % size]
        rows = rows[rows[:, _GEN] == generation]
        if rows.shape[0] == 0:
            return float(seek_index)
        now_stream = math.nan
        if np.any(rows[:, _CLOCK] == _CLOCK_STREAM):
            try:
                now_stream = float(opened.stream.time)
            except Exception:
                now_stream = math.nan
        now = np.where(rows[:, _CLOCK] == _CLOCK_STREAM, now_stream, time.monotonic())
        reached = np.flatnonzero(rows[:, _DAC] <= now)
        if reached.size == 0:
            return float(rows[0, _FIRST])
        last = reached[-1]
        elapsed_samples = max(0.0, (now[last] - rows[last, _DAC]) * opened.rate_hz)
        return float(rows[last, _FIRST] + min(rows[last, _PLAYED], elapsed_samples))

    @property
    def position_s(self) -> float:
        """The file time being heard now (seconds, clamped to [0, duration]); 0 when nothing is open."""
        opened = self._opened
        if opened is None:
            return 0.0
        return min(max(self._heard_index() / opened.rate_hz, 0.0), self.duration_s)

    @property
    def duration_s(self) -> float:
        opened = self._opened
        return self._total / opened.rate_hz if opened is not None else 0.0

    @property
    def is_open(self) -> bool:
        return self._opened is not None

    @property
    def is_playing(self) -> bool:
        """The user asked to play and the end was not reached (the last buffers may still be in flight)."""
        generation, _, playing = self._request
        return self._opened is not None and playing and self._ended_generation != generation

    @property
    def finished(self) -> bool:
        """The end of the file was reached in this seek generation and its last sample has been heard."""
        opened = self._opened
        if opened is None or self._ended_generation != self._request[0]:
            return False
        return self._heard_index() >= self._total

    def take_finished(self) -> bool:
        """True exactly once per end of file (for the GUI timer that flips the play button)."""
        generation = self._request[0]
        if self._finished_taken_generation != generation and self.finished:
            self._finished_taken_generation = generation
            return True
        return False

    @property
    def state(self) -> PlaybackState:
        opened = self._opened
        if opened is None:
            return PlaybackState.CLOSED
        if self._died:
            return PlaybackState.DIED
        try:
            active = bool(opened.stream.active)
        except Exception:
            active = False
        if not active:
            return PlaybackState.DIED
        if time.monotonic() - self._last_callback_monotonic_s > self.config.stall_timeout_s:
            return PlaybackState.STALLED
        if self.finished:
            return PlaybackState.FINISHED
        return PlaybackState.PLAYING if self.is_playing else PlaybackState.PAUSED

    @property
    def device(self) -> OutputDevice | None:
        return self._opened.device if self._opened is not None else None

    @property
    def sample_rate_hz(self) -> float | None:
        """The rate the device plays at (the file was resampled to it if need be)."""
        return self._opened.rate_hz if self._opened is not None else None

    @property
    def output_latency_s(self) -> float | None:
        """Time from a callback to its first sample at the DAC: PortAudio's per-callback measure when the
        host reports one, else the stream's nominal latency; None when nothing is open."""
        if self._opened is None:
            return None
        measured = self._measured_latency_s
        return measured if math.isfinite(measured) else self._stream_latency_s

    @property
    def underflow_count(self) -> int:
        """Buffers the device played before the callback filled them (audible glitches)."""
        return self._underflows

    @property
    def callback_error_count(self) -> int:
        return self._callback_errors

    @property
    def callback_count(self) -> int:
        return self._callback_count
