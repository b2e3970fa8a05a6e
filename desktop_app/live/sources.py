"""Where the live pipeline's samples come from (no Qt): the :class:`AudioSource` protocol and a file source.

A source hands out mono samples at its own rate in the order they were captured. The live capture
(``desktop_app.audio``) is one; :class:`FileAudioSource` is another that plays a loaded signal paced
by the monotonic clock, so the very same worker runs on a file (the demo, tests, benchmarks). With
``realtime=False`` it delivers everything as fast as it is read.

Contract of :meth:`AudioSource.read`: ``(samples, first_sample_index, capture_time_monotonic_s)`` where
``samples`` is 1-D float32 (possibly empty), ``first_sample_index`` counts samples since the source
started (a jump means samples were dropped), and ``capture_time_monotonic_s`` is the
``time.monotonic()`` instant at which the *first* returned sample entered the program.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from models.audio import audio_info, load_audio
from models.errors import ConfigError, SampleRateError

__all__ = ["AudioSource", "FileAudioSource"]

log = logging.getLogger(__name__)


@runtime_checkable
class AudioSource(Protocol):
    """What the analysis worker pulls from (``desktop_app.audio.AudioCapture`` has it).

    Optional: ``at_end`` (bool), True only for a source that has run dry for good (a file); the worker
    then flushes the analyser and reports the end of the stream. A capture never ends.
    """

    @property
    def sample_rate_hz(self) -> int: ...

    @property
    def overflow_count(self) -> int: ...

    def read(self, max_samples: int) -> tuple[np.ndarray, int, float]: ...


class FileAudioSource:
    """Plays ``samples`` (mono, at ``sample_rate_hz``) as if they were being captured now.

    ``realtime=True``: sample ``k`` becomes readable once ``k / sample_rate_hz`` seconds have passed on
    ``clock`` since :meth:`start` (or since the first :meth:`read`), and its capture time is that
    instant. When ``buffer_s`` is set, samples older than that many seconds that were not read in time
    are dropped (a ring buffer overflow) and counted in :attr:`overflow_count`, like a real capture.
    ``realtime=False``: every sample is readable at once; a block is stamped as if it had just been
    recorded (its last sample arriving at the read time).

    ``clock`` is injectable (a function returning seconds) so pacing is testable without sleeping.
    """

    def __init__(
        self,
        samples: np.ndarray,
        sample_rate_hz: int,
        *,
        realtime: bool = True,
        buffer_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        name: str = "signal",
    ) -> None:
        x = np.asarray(samples)
        if x.ndim == 2 and 1 in x.shape:
            x = x.reshape(-1)
        if x.ndim != 1:
            raise ConfigError(f"FileAudioSource takes mono samples (a 1-D array), got shape {x.shape}; load the "
                              "file with load_audio(..., mono=True)")
        if int(sample_rate_hz) != sample_rate_hz or sample_rate_hz <= 0:
            raise SampleRateError(f"sample_rate_hz must be a positive whole number, got {sample_rate_hz!r}")
        if buffer_s is not None and buffer_s <= 0:
            raise ConfigError(f"buffer_s must be positive (seconds of audio kept unread), got {buffer_s}")
        self._samples = np.ascontiguousarray(x, dtype=np.float32)
        self._rate = int(sample_rate_hz)
        self.realtime = bool(realtime)
        self._buffer_samples = None if buffer_s is None else max(1, int(round(buffer_s * self._rate)))
        self._clock = clock
        self.name = name
        self._start_time: float | None = None
        self._position = 0
        self._overflows = 0
        self._dropped_samples = 0

    @classmethod
    def from_file(cls, path: str | os.PathLike, *, sample_rate_hz: int | None = None, realtime: bool = True,
                  buffer_s: float | None = None, clock: Callable[[], float] = time.monotonic) -> FileAudioSource:
        """Load ``path`` (any format :func:`models.audio.load_audio` reads) at its own rate, or at ``sample_rate_hz``."""
        rate = int(sample_rate_hz) if sample_rate_hz is not None else int(audio_info(path).sample_rate_hz)
        samples = load_audio(path, rate, mono=True)
        return cls(samples, rate, realtime=realtime, buffer_s=buffer_s, clock=clock, name=os.fspath(path))

    # --- AudioSource -------------------------------------------------------------------------------
    @property
    def sample_rate_hz(self) -> int:
        return self._rate

    @property
    def overflow_count(self) -> int:
        """Times samples were dropped because they were not read within ``buffer_s``."""
        return self._overflows

    @property
    def dropped_samples(self) -> int:
        return self._dropped_samples

    @property
    def at_end(self) -> bool:
        return self._position >= self._samples.size

    @property
    def duration_s(self) -> float:
        return self._samples.size / self._rate

    @property
    def position(self) -> int:
        """Index of the next sample :meth:`read` returns."""
        return self._position

    def start(self) -> None:
        """Start the clock (a no-op once started); :meth:`read` starts it too."""
        if self._start_time is None:
            self._start_time = self._clock()

    def stop(self) -> None:
        """Nothing to release; present so a file source can stand in for a capture."""

    def rewind(self) -> None:
        """Back to the first sample; the clock restarts on the next :meth:`start` or :meth:`read`."""
        self._start_time = None
        self._position = 0

    def available(self) -> int:
        """Samples readable right now."""
        if not self.realtime:
            return self._samples.size - self._position
        self.start()
        elapsed_s = self._clock() - self._start_time
        # the epsilon absorbs clock arithmetic rounding (2.3 s can come out as 2.2999999 s)
        arrived = min(self._samples.size, int(np.floor(max(0.0, elapsed_s) * self._rate + 1e-6)))
        return max(0, arrived - self._position)

    def read(self, max_samples: int) -> tuple[np.ndarray, int, float]:
        """Up to ``max_samples`` samples that have 'arrived'; see the module docstring for the tuple."""
        if max_samples < 0:
            raise ConfigError(f"max_samples must be >= 0, got {max_samples}")
        waiting = self.available()
        if self.realtime and self._buffer_samples is not None and waiting > self._buffer_samples:
            dropped = waiting - self._buffer_samples
            self._position += dropped
            self._dropped_samples += dropped
            self._overflows += 1
            waiting = self._buffer_samples
            log.debug("file source %s: dropped %d unread samples", self.name, dropped)
        n = min(int(max_samples), waiting)
        first = self._position
        block = self._samples[first : first + n]
        self._position += n
        if self.realtime:
            capture_time_s = self._start_time + first / self._rate
        else:  # as if the block had just been recorded, its last sample arriving now
            capture_time_s = self._clock() - max(0, n - 1) / self._rate
        return block, first, capture_time_s
