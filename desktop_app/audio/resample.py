"""A low-delay streaming resampler for the live path: polyphase FIR, Kaiser-windowed sinc (numpy only).

Why not soxr here: the models only use bins up to 7.04 kHz (``models.frontend``: 27.5 Hz * 2**(288/36)),
so at 16 kHz a passband to 0.45 * 16 kHz = 7.2 kHz and a stopband from 0.55 * 16 kHz = 8.8 kHz are enough
(what lands in 8-8.8 kHz aliases to 7.2-8 kHz, above the top bin). With 80 dB of stopband attenuation
that is about 150 taps at 48 kHz, i.e. ~1.6 ms of audio held back, where soxr holds 16 ms (MQ) or
30 ms (HQ). Files (``models.audio``) and playback keep soxr HQ.

How it works: the two integer rates give ``up / down = out_rate / in_rate`` reduced by their gcd
(44100 -> 16000: 160 / 441). Output sample ``k`` describes time ``k / out_rate`` exactly, that is input
position ``p = k * down / up`` (in input samples); with ``n0 = floor(p)`` and phase ``(k * down) % up``
it is the dot product of the ``2 * half + 1`` inputs ``x[n0 - half .. n0 + half]`` with that phase's
taps, sampled from the continuous kernel ``2 fc sinc(2 fc tau) * kaiser(tau / half)`` at
``tau = p - n``. So the filter's delay is compensated (output index = input time, as soxr does);
samples before the first input are zeros; output ``k`` can only be computed once input ``n0 + half``
has arrived, which is the constant delay :attr:`PolyphaseResampler.delay_s` (``half / in_rate``).
Each phase is normalised to unit DC gain. The cutoff is the output Nyquist when downsampling (the
input Nyquist when upsampling), the transition band is ``passband_fraction .. stopband_fraction``
of the lower rate.

:meth:`PolyphaseResampler.process` takes float32 blocks of any length (0 included) and returns the
outputs they complete, vectorised (windows gathered per chunk of outputs, no Python loop per sample);
:meth:`~PolyphaseResampler.flush` pads the input with zeros, returns the held-back tail (outputs up to
the time of the last input sample: ``ceil(n_in * up / down)`` in all) and starts a new run. Streaming
output equals one-shot output for any block sizes. Equal rates pass samples through unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.errors import ConfigError

__all__ = ["PolyphaseResampler", "ResamplerDesign"]


@dataclass(frozen=True)
class ResamplerDesign:
    """Filter specification of :class:`PolyphaseResampler` (defaults live here only).

    Band edges are fractions of the lower of the two rates (16 kHz: 7.2 and 8.8 kHz); the cutoff is
    their middle (the lower rate's Nyquist with the defaults).
    """

    passband_fraction: float = 0.45
    stopband_fraction: float = 0.55
    attenuation_db: float = 80.0  # Kaiser design target for the stopband (and passband ripple)
    chunk_outputs: int = 4096  # outputs computed per vectorised step (bounds the gathered windows' memory)

    def __post_init__(self) -> None:
        if not 0.0 < self.passband_fraction < self.stopband_fraction <= 1.0:
            raise ConfigError(
                f"resampler band edges must satisfy 0 < passband_fraction < stopband_fraction <= 1, got "
                f"{self.passband_fraction} and {self.stopband_fraction}; the defaults are 0.45 and 0.55"
            )
        if not self.attenuation_db > 21.0:
            raise ConfigError(f"attenuation_db must be above 21 dB (a Kaiser design), got {self.attenuation_db}; "
                              "the default is 80")
        if self.chunk_outputs < 1:
            raise ConfigError(f"chunk_outputs must be at least 1, got {self.chunk_outputs}")


def _whole_rate(name: str, value: float) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"resampler {name} must be a whole number of Hz, got {value!r}")
    if not (math.isfinite(value) and value > 0 and float(value) == round(value)):
        raise ConfigError(f"resampler {name} must be a positive whole number of Hz (such as 48000), got {value!r}")
    return int(round(value))


def _kaiser_beta(attenuation_db: float) -> float:
    """Kaiser's empirical window parameter for a stopband of ``attenuation_db``."""
    a = attenuation_db
    if a > 50.0:
        return 0.1102 * (a - 8.7)
    return 0.5842 * (a - 21.0) ** 0.4 + 0.07886 * (a - 21.0)


def design_phases(up: int, down: int, design: ResamplerDesign) -> tuple[np.ndarray, int]:
    """``(taps (up, 2 * half + 1) float64, half)``: the polyphase filter for the ratio ``up / down``.

    Row ``phase`` holds the taps for an output at input position ``n0 + phase / up``; column ``i``
    multiplies input ``n0 + i - half``. ``half`` (input samples) is half the filter's span.
    """
    lower = min(up, down)  # the lower rate, in units where the input rate is ``down``
    transition = (design.stopband_fraction - design.passband_fraction) * lower / down  # cycles per input sample
    cutoff = 0.5 * (design.passband_fraction + design.stopband_fraction) * lower / down
    # Kaiser: span in input samples for this transition width and attenuation
    span = (design.attenuation_db - 7.95) / (2.285 * 2.0 * math.pi * transition)
    half = max(1, int(math.ceil(span / 2.0)))
    beta = _kaiser_beta(design.attenuation_db)
    offsets = np.arange(-half, half + 1, dtype=np.float64)  # i - half
    tau = np.arange(up, dtype=np.float64)[:, None] / up - offsets[None, :]  # position - input index
    inside = np.abs(tau) <= half
    ratio = np.where(inside, tau / half, 0.0)
    window = np.where(inside, np.i0(beta * np.sqrt(np.clip(1.0 - ratio * ratio, 0.0, None))) / np.i0(beta), 0.0)
    taps = 2.0 * cutoff * np.sinc(2.0 * cutoff * tau) * window
    taps /= taps.sum(axis=1, keepdims=True)  # unit DC gain per phase
    return taps, half


class PolyphaseResampler:
    """Streaming resampler from ``in_rate_hz`` to ``out_rate_hz`` (whole numbers of Hz); see the module doc.

    Not thread-safe: one consumer thread feeds it.
    """

    def __init__(self, in_rate_hz: int, out_rate_hz: int, design: ResamplerDesign = ResamplerDesign()) -> None:
        self.in_rate_hz = _whole_rate("in_rate_hz", in_rate_hz)
        self.out_rate_hz = _whole_rate("out_rate_hz", out_rate_hz)
        self.design = design
        common = math.gcd(self.in_rate_hz, self.out_rate_hz)
        self.up = self.out_rate_hz // common
        self.down = self.in_rate_hz // common
        if self.passthrough:
            self._taps = np.ones((1, 1))
            self._half = 0
        else:
            self._taps, self._half = design_phases(self.up, self.down, design)
        self._offsets = np.arange(self._taps.shape[1], dtype=np.int64)
        self.reset()

    # --- what it is ---------------------------------------------------------------------------------
    @property
    def passthrough(self) -> bool:
        return self.in_rate_hz == self.out_rate_hz

    @property
    def taps_per_phase(self) -> int:
        return int(self._taps.shape[1])

    @property
    def delay_samples(self) -> int:
        """Input samples held back: half the filter's span (0 when passing through)."""
        return self._half

    @property
    def delay_s(self) -> float:
        """The constant delay before an output can be computed: half the filter span / the input rate."""
        return self._half / self.in_rate_hz

    @property
    def samples_in(self) -> int:
        """Input samples fed since the run started."""
        return self._n_in

    @property
    def samples_out(self) -> int:
        """Output samples returned since the run started."""
        return self._k_next

    # --- streaming ----------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the input held back; the next block starts a new run at output time 0."""
        self._buffer = np.zeros(self._half, dtype=np.float64)  # zeros before the first input
        self._buffer_start = -self._half  # absolute input index of self._buffer[0]
        self._n_in = 0
        self._k_next = 0

    def process(self, block: np.ndarray) -> np.ndarray:
        """Feed consecutive input samples (1-D, any length); return the float32 outputs they complete."""
        x = np.asarray(block, dtype=np.float32).reshape(-1)
        if self.passthrough:
            self._n_in += x.size
            self._k_next += x.size
            return x.copy()
        if x.size:
            self._buffer = np.concatenate([self._buffer, x.astype(np.float64)])
            self._n_in += x.size
        ready = self._n_in - self._half  # inputs whose whole right half-window has arrived
        k_end = -(-(ready * self.up) // self.down) if ready > 0 else 0  # outputs with floor(k*down/up) < ready
        return self._emit(k_end)

    def flush(self) -> np.ndarray:
        """Return the held-back outputs (input padded with zeros) up to the last input's time; ends the run."""
        if self.passthrough:
            self.reset()
            return np.zeros(0, dtype=np.float32)
        k_end = -(-(self._n_in * self.up) // self.down)
        if self._n_in:
            self._buffer = np.concatenate([self._buffer, np.zeros(self._half, dtype=np.float64)])
        out = self._emit(k_end)
        self.reset()
        return out

    def _emit(self, k_end: int) -> np.ndarray:
        count = k_end - self._k_next
        if count <= 0:
            return np.zeros(0, dtype=np.float32)
        out = np.empty(count, dtype=np.float32)
        chunk = self.design.chunk_outputs
        for begin in range(0, count, chunk):
            k = np.arange(self._k_next + begin, self._k_next + min(begin + chunk, count), dtype=np.int64)
            position = k * self.down
            first = position // self.up - self._half - self._buffer_start  # buffer index of each window's start
            windows = self._buffer[first[:, None] + self._offsets[None, :]]
            out[begin : begin + k.size] = np.einsum("ij,ij->i", windows, self._taps[position % self.up])
        self._k_next = k_end
        keep_from = (self._k_next * self.down) // self.up - self._half - self._buffer_start
        if keep_from > 0:  # inputs no future output needs
            self._buffer = self._buffer[keep_from:]
            self._buffer_start += keep_from
        return out
