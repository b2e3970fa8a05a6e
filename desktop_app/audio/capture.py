"""The live input stream: a PortAudio callback that only copies into a ring buffer, and its consumer API.

Threads and ownership:

- the PortAudio callback (audio thread) picks one channel, or the mean of the channels computed into a
  preallocated scratch array, writes it to the :class:`~desktop_app.audio.ring_buffer.RingBuffer` and
  counts status flags. It allocates no array and lets nothing escape: an exception is counted
  (``callback_error_count``) and the block is dropped.
- the consumer (the analysis worker) calls :meth:`AudioCapture.read`, which returns the samples at the
  device rate, the absolute index of the first one and the monotonic time it was recorded; it resamples
  to the models' rate with its own :class:`Resampler` (never in the callback).
- the GUI polls :attr:`AudioCapture.state` and the counters (overflows, dropped blocks, latency).

Opening or switching a device validates the settings with PortAudio first, so a nonexistent device or a
refused rate fails before the running stream is touched; if the new stream still fails to open, the
previous device is reopened (and restarted if it was running) and the error is raised.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from desktop_app.audio import AudioDeviceError, DeviceUnavailableError, UnsupportedFormatError
from desktop_app.audio.devices import InputDevice, call_bounded, default_input_device, find_device, portaudio
from desktop_app.audio.resample import PolyphaseResampler, ResamplerDesign
from desktop_app.audio.ring_buffer import RingBuffer
from models.errors import ConfigError

log = logging.getLogger(__name__)

MODEL_SAMPLE_RATE_HZ = 16000

# PortAudio error codes (portaudio.h) that mean "this format is refused" rather than "device unusable"
_FORMAT_ERROR_CODES = {
    -9998,  # paInvalidChannelCount
    -9997,  # paInvalidSampleRate
    -9994,  # paSampleFormatNotSupported
    -9993,  # paBadIODeviceCombination
}


@dataclass(frozen=True)
class CaptureConfig:
    """Capture settings that are not chosen per device (defaults live here only)."""

    ring_duration_s: float = 10.0  # audio the ring holds before the oldest unread samples are dropped
    scratch_samples: int = 16384  # preallocated mix buffer; larger blocks are mixed in slices of this
    mix_max_channels: int = 2  # channel=None mixes the first N channels (PipeWire/Pulse report 32-64)
    stall_timeout_s: float = 1.0  # a running stream with no callback for this long counts as STALLED
    latency: str = "low"  # PortAudio's suggested latency: "low", "high" or seconds as a string
    close_timeout_s: float = 2.0  # stop/close of a dead stream can hang in PortAudio: give up after this

    def __post_init__(self) -> None:
        if not (self.ring_duration_s > 0 and math.isfinite(self.ring_duration_s)):
            raise ConfigError(f"ring_duration_s must be a positive number of seconds, got {self.ring_duration_s}")
        if self.scratch_samples < 64:
            raise ConfigError(f"scratch_samples must be at least 64, got {self.scratch_samples}")
        if self.mix_max_channels < 1:
            raise ConfigError(f"mix_max_channels must be at least 1, got {self.mix_max_channels}")
        if not self.stall_timeout_s > 0:
            raise ConfigError(f"stall_timeout_s must be positive, got {self.stall_timeout_s}")


@dataclass(frozen=True)
class StreamSettings:
    """What one open stream uses: the resolved device, channel choice, rate and block size."""

    device: InputDevice
    channel: int | None  # 0-based input channel, or None = mean of the first channels
    sample_rate_hz: float
    block_size_samples: int  # 0 = PortAudio chooses (may vary per callback)
    stream_channels: int  # channels opened on the device


class CaptureState(enum.Enum):
    """What the GUI shows about the input stream (poll :attr:`AudioCapture.state`)."""

    CLOSED = "closed"  # no stream
    STOPPED = "stopped"  # open, not started (or stopped by the user)
    RUNNING = "running"  # callbacks arrive
    STALLED = "stalled"  # started, but no callback for ``stall_timeout_s`` (device gone, server frozen)
    DIED = "died"  # PortAudio ended the stream by itself (device unplugged, server stopped)


class Resampler:
    """Streaming resampler from the device rate to the models' rate, for the CONSUMER thread.

    :meth:`process` takes consecutive blocks with the absolute index of their first input sample and
    returns the resampled samples with the absolute index of their first output sample (output index
    ``k`` is time ``k / out_rate_hz`` on the capture's clock). The filter is the live path's low-delay
    :class:`~desktop_app.audio.resample.PolyphaseResampler` (about 1.6 ms held back at 48 -> 16 kHz;
    it compensates its own delay, so indices stay exact); it holds back :attr:`delay_s` of output
    until more input arrives. A gap in the input indices (samples lost to an overflow) restarts the
    filter at the new position. Rates must be whole numbers of Hz.
    """

    def __init__(self, in_rate_hz: float, out_rate_hz: float = MODEL_SAMPLE_RATE_HZ,
                 design: ResamplerDesign = ResamplerDesign()) -> None:
        for name, value in (("in_rate_hz", in_rate_hz), ("out_rate_hz", out_rate_hz)):
            if not (value > 0 and math.isfinite(value) and float(value) == round(value)):
                raise UnsupportedFormatError(
                    f"resampler {name} must be a positive whole number of Hz (such as 48000), got {value!r}"
                )
        self.in_rate_hz = float(in_rate_hz)
        self.out_rate_hz = float(out_rate_hz)
        self._filter = PolyphaseResampler(int(round(in_rate_hz)), int(round(out_rate_hz)), design)
        self._next_in_index: int | None = None
        self._next_out_index = 0
        self.gap_count = 0

    @property
    def passthrough(self) -> bool:
        return self.in_rate_hz == self.out_rate_hz

    @property
    def delay_s(self) -> float:
        """Audio the filter holds back before an output sample can be computed (seconds)."""
        return self._filter.delay_s

    def reset(self) -> None:
        """Forget the filter state and the position (the next block starts a new run)."""
        self._filter.reset()
        self._next_in_index = None

    def process(self, samples: np.ndarray, first_sample_index: int) -> tuple[np.ndarray, int]:
        """Resample one block; returns ``(output float32, absolute index of its first output sample)``."""
        samples = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
        if self._next_in_index is not None and first_sample_index != self._next_in_index:
            if samples.shape[0] == 0:
                return samples, self._next_out_index
            self.gap_count += 1
            log.info("input gap of %d samples; resampler restarts", first_sample_index - self._next_in_index)
            self.reset()
        if self._next_in_index is None:
            self._next_out_index = int(round(first_sample_index * self.out_rate_hz / self.in_rate_hz))
        self._next_in_index = first_sample_index + samples.shape[0]
        out = self._filter.process(samples)
        first_out = self._next_out_index
        self._next_out_index += out.shape[0]
        return out, first_out

    def flush(self) -> tuple[np.ndarray, int]:
        """Return the output the filter still holds back (end of a take); the next block starts a new run."""
        first_out = self._next_out_index
        out = self._filter.flush()
        self._next_out_index += out.shape[0]
        self.reset()
        return out, first_out


def classify_portaudio_error(exc: Exception) -> tuple[str, str]:
    """``(kind, text)`` of a sounddevice.PortAudioError: kind ``"rate"`` (sample rate refused),
    ``"format"`` (channels or sample format refused) or ``"other"`` (unplugged, busy, server gone)."""
    code = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
    text = str(exc.args[0]) if exc.args else str(exc)
    lowered = text.lower()
    if code == -9997 or "sample rate" in lowered:
        return "rate", text
    if code in _FORMAT_ERROR_CODES or "channel" in lowered or "format" in lowered:
        return "format", text
    return "other", text


def _map_portaudio_error(exc: Exception, device: InputDevice, channels: int, sample_rate_hz: float) -> AudioDeviceError:
    """Turn a sounddevice.PortAudioError into the AudioDeviceError a person can act on."""
    kind, text = classify_portaudio_error(exc)
    if kind == "rate":
        return UnsupportedFormatError(
            f"input device {device.label} refuses the sample rate {sample_rate_hz:g} Hz ({text}); use the "
            f"device's own rate ({device.default_samplerate_hz:g} Hz) or leave the rate unset"
        )
    if kind == "format":
        return UnsupportedFormatError(
            f"input device {device.label} refuses {channels} channel(s) of float32 at {sample_rate_hz:g} Hz "
            f"({text}); choose fewer channels (it reports {device.max_input_channels}) or another device"
        )
    return DeviceUnavailableError(
        f"input device {device.label} could not be opened ({text}); it may be unplugged or in use by "
        "another program: reconnect it or close the other program, rescan the devices and try again"
    )


class AudioCapture:
    """One live input stream at a time, feeding a ring buffer; see the module docstring."""

    def __init__(self, config: CaptureConfig | None = None) -> None:
        self.config = config or CaptureConfig()
        self._settings: StreamSettings | None = None
        self._stream = None
        self._ring: RingBuffer | None = None
        self._scratch = np.zeros(self.config.scratch_samples, dtype=np.float32)
        self._inverse_channels = 1.0
        self._started = False  # the user asked the stream to run
        self._finished = False  # PortAudio ended the stream
        self._abandoned: list[object] = []  # streams whose stop/close never returned (dead server)
        self._reset_counters()

    def _reset_counters(self) -> None:
        self._portaudio_overflows = 0
        self._portaudio_underflows = 0
        self._callback_errors = 0
        self._callback_count = 0
        self._last_callback_monotonic_s = 0.0
        self._anchor: tuple[int, float] = (0, 0.0)  # (end index of the latest block, its monotonic time)

    # --- opening and closing ----------------------------------------------------------------------
    def resolve(
        self,
        device: int | str | InputDevice | None = None,
        channel: int | None = None,
        sample_rate_hz: float | None = None,
        block_size_samples: int = 0,
    ) -> StreamSettings:
        """Check the settings against the device without opening anything; raises AudioDeviceError."""
        resolved = default_input_device() if device is None else find_device(device)
        rate = resolved.default_samplerate_hz if sample_rate_hz is None else sample_rate_hz
        if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
            raise UnsupportedFormatError(
                f"sample rate {sample_rate_hz!r} for input device {resolved.label} is not a positive number "
                f"of Hz; use the device's own rate ({resolved.default_samplerate_hz:g} Hz)"
            )
        if channel is not None and (not isinstance(channel, int) or not 0 <= channel < resolved.max_input_channels):
            raise UnsupportedFormatError(
                f"input channel {channel!r} does not exist on {resolved.label}, which has "
                f"{resolved.max_input_channels} input channel(s) numbered 0..{resolved.max_input_channels - 1}; "
                "pick one of those or None to mix them"
            )
        if not isinstance(block_size_samples, int) or block_size_samples < 0:
            raise UnsupportedFormatError(
                f"block size {block_size_samples!r} for {resolved.label} must be 0 (let PortAudio choose) or a "
                "positive number of samples such as 256"
            )
        if channel is None:
            stream_channels = min(resolved.max_input_channels, self.config.mix_max_channels)
        else:
            stream_channels = channel + 1
        sd = portaudio()
        try:
            sd.check_input_settings(
                device=resolved.index, channels=stream_channels, dtype="float32", samplerate=float(rate)
            )
        except sd.PortAudioError as exc:
            raise _map_portaudio_error(exc, resolved, stream_channels, float(rate)) from exc
        except ValueError as exc:  # sounddevice raises ValueError for unknown devices
            raise DeviceUnavailableError(
                f"input device {resolved.label} is not available any more ({exc}); rescan the devices"
            ) from exc
        return StreamSettings(resolved, channel, float(rate), block_size_samples, stream_channels)

    def open(
        self,
        device: int | str | InputDevice | None = None,
        channel: int | None = None,
        sample_rate_hz: float | None = None,
        block_size_samples: int = 0,
    ) -> StreamSettings:
        """Open ``device`` (None = the default input); a stream already open is replaced.

        ``channel`` is a 0-based input channel, or None for the mean of the first channels;
        ``sample_rate_hz`` None means the device's own rate. If anything fails the previous stream is
        kept (or reopened) in the state it was in, and the AudioDeviceError is raised.
        """
        return self.switch_device(device, channel, sample_rate_hz, block_size_samples)

    def switch_device(
        self,
        device: int | str | InputDevice | None = None,
        channel: int | None = None,
        sample_rate_hz: float | None = None,
        block_size_samples: int = 0,
    ) -> StreamSettings:
        """Replace the current stream by one on ``device``; on failure restore the previous one."""
        settings = self.resolve(device, channel, sample_rate_hz, block_size_samples)  # raises early
        previous = self._settings
        was_running = self._started
        self._close_stream()
        try:
            self._open_stream(settings)
            if was_running:
                self.start()
        except AudioDeviceError:
            self._close_stream()
            if previous is not None:
                try:
                    self._open_stream(previous)
                    if was_running:
                        self.start()
                    log.warning("restored the previous input device %s", previous.device.label)
                except AudioDeviceError as restore_error:
                    self._settings = None
                    self._ring = None
                    log.error("the previous input device %s could not be reopened: %s", previous.device.label, restore_error)
            else:
                self._settings = None
            raise
        return settings

    def _open_stream(self, settings: StreamSettings) -> None:
        sd = portaudio()
        capacity = max(int(round(self.config.ring_duration_s * settings.sample_rate_hz)), 1)
        ring = RingBuffer(capacity)
        self._reset_counters()
        self._finished = False
        self._ring = ring
        self._inverse_channels = 1.0 / settings.stream_channels
        try:
            stream = sd.InputStream(
                device=settings.device.index,
                channels=settings.stream_channels,
                samplerate=settings.sample_rate_hz,
                blocksize=settings.block_size_samples,
                dtype="float32",
                latency=self.config.latency,
                callback=self._callback,
                finished_callback=self._on_finished,
            )
        except sd.PortAudioError as exc:
            self._ring = None
            raise _map_portaudio_error(exc, settings.device, settings.stream_channels, settings.sample_rate_hz) from exc
        self._stream = stream
        self._settings = settings
        log.info(
            "opened %s: %d channel(s) at %g Hz, block %d, input latency %.1f ms",
            settings.device.label,
            settings.stream_channels,
            settings.sample_rate_hz,
            settings.block_size_samples,
            1000.0 * float(stream.latency),
        )

    def _call_bounded(self, action: str, function: Callable[[], None], stream: object) -> None:
        """Run a PortAudio call that may never return on a dead device (see devices.call_bounded)."""
        call_bounded(action, function, stream, what="input stream", timeout_s=self.config.close_timeout_s,
                     abandoned=self._abandoned)

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        self._started = False
        if stream is None:
            return

        def abort_and_close() -> None:
            stream.abort(ignore_errors=True)
            stream.close(ignore_errors=True)

        self._call_bounded("closing", abort_and_close, stream)

    def start(self) -> None:
        """Start the callbacks (the ring keeps its position; indices continue)."""
        if self._stream is None:
            raise DeviceUnavailableError("no input device is open; open one before pressing start")
        sd = portaudio()
        try:
            self._stream.start()
        except sd.PortAudioError as exc:
            settings = self._settings
            raise _map_portaudio_error(exc, settings.device, settings.stream_channels, settings.sample_rate_hz) from exc
        self._started = True
        self._last_callback_monotonic_s = time.monotonic()

    def stop(self) -> None:
        """Stop the callbacks; the stream stays open and can be started again."""
        self._started = False
        stream = self._stream
        if stream is not None:
            self._call_bounded("stopping", lambda: stream.stop(ignore_errors=True), stream)

    def close(self) -> None:
        """Stop and release the device."""
        self._close_stream()
        self._settings = None
        self._ring = None

    def __enter__(self) -> AudioCapture:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the audio thread ---------------------------------------------------------------------------
    def _callback(self, indata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        try:
            if status:
                if status.input_overflow:
                    self._portaudio_overflows += 1
                if status.input_underflow:
                    self._portaudio_underflows += 1
            now = time.monotonic()
            ring = self._ring
            channel = self._settings.channel
            if channel is not None:
                ring.write(indata[:, channel])
            elif indata.shape[1] == 1:
                ring.write(indata[:, 0])
            else:
                scratch = self._scratch
                step = scratch.shape[0]
                for begin in range(0, frames, step):
                    part = indata[begin : begin + step]
                    mixed = scratch[: part.shape[0]]
                    np.add.reduce(part, axis=1, out=mixed)
                    np.multiply(mixed, self._inverse_channels, out=mixed)
                    ring.write(mixed)
            self._anchor = (ring._written, now)
            self._last_callback_monotonic_s = now
            self._callback_count += 1
        except Exception:  # nothing may escape into PortAudio; the GUI shows the count
            self._callback_errors += 1

    def _on_finished(self) -> None:
        self._finished = True

    # --- the consumer ---------------------------------------------------------------------------------
    def read(self, max_samples: int | None = None) -> tuple[np.ndarray, int, float]:
        """Return ``(samples, first_sample_index, capture_time_s)`` of up to ``max_samples`` new samples.

        Samples are float32 mono at :attr:`sample_rate_hz`; ``first_sample_index`` counts every sample
        delivered since the stream was opened (it jumps forward after an overflow); ``capture_time_s``
        is the :func:`time.monotonic` time at which that sample entered the callback's block,
        extrapolated from the latest callback at the device rate (hardware input latency not included:
        see :attr:`latency_s`).
        """
        ring = self._ring
        if ring is None:
            raise DeviceUnavailableError("no input device is open; open one before reading audio")
        samples, first = ring.read_available(max_samples)
        return samples, first, self.capture_time_s(first)

    def capture_time_s(self, sample_index: int) -> float:
        """Monotonic time at which absolute sample ``sample_index`` was recorded (see :meth:`read`)."""
        end_index, anchor_time_s = self._anchor
        rate = self._settings.sample_rate_hz if self._settings else 1.0
        return anchor_time_s - (end_index - sample_index) / rate

    def make_resampler(self, out_rate_hz: float = MODEL_SAMPLE_RATE_HZ) -> Resampler:
        """A resampler from this stream's rate to ``out_rate_hz`` for the consumer thread."""
        if self._settings is None:
            raise DeviceUnavailableError("no input device is open; open one before making a resampler")
        return Resampler(self._settings.sample_rate_hz, out_rate_hz)

    # --- what the GUI polls ----------------------------------------------------------------------------
    @property
    def settings(self) -> StreamSettings | None:
        return self._settings

    @property
    def device(self) -> InputDevice | None:
        return self._settings.device if self._settings else None

    @property
    def sample_rate_hz(self) -> float | None:
        return self._settings.sample_rate_hz if self._settings else None

    @property
    def state(self) -> CaptureState:
        """CLOSED / STOPPED / RUNNING / STALLED / DIED, computed now from the stream and the callbacks."""
        stream = self._stream
        if stream is None:
            return CaptureState.CLOSED
        if not self._started:
            return CaptureState.STOPPED
        try:
            active = bool(stream.active)
        except Exception:
            active = False
        if self._finished or not active:
            return CaptureState.DIED
        if time.monotonic() - self._last_callback_monotonic_s > self.config.stall_timeout_s:
            return CaptureState.STALLED
        return CaptureState.RUNNING

    @property
    def is_running(self) -> bool:
        return self.state is CaptureState.RUNNING

    @property
    def overflow_count(self) -> int:
        """Ring overflows (the reader fell behind) plus PortAudio input-overflow flags (the driver dropped)."""
        ring_overflows = self._ring.overflow_count if self._ring else 0
        return ring_overflows + self._portaudio_overflows

    @property
    def portaudio_overflow_count(self) -> int:
        return self._portaudio_overflows

    @property
    def dropped_block_count(self) -> int:
        """Callback blocks not stored at all (an error inside the callback)."""
        return self._callback_errors

    @property
    def callback_error_count(self) -> int:
        return self._callback_errors

    @property
    def callback_count(self) -> int:
        return self._callback_count

    @property
    def lost_samples(self) -> int:
        """Samples overwritten in the ring before the consumer read them."""
        return self._ring.lost_samples if self._ring else 0

    @property
    def samples_captured(self) -> int:
        """Samples the callback delivered since the stream was opened."""
        return self._ring.samples_written if self._ring else 0

    @property
    def latency_s(self) -> float | None:
        """The stream's input latency as PortAudio reports it (seconds)."""
        if self._stream is None:
            return None
        try:
            return float(self._stream.latency)
        except Exception:
            return None
