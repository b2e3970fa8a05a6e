"""The shared front-end: one log-frequency magnitude spectrogram per 10 ms hop, for every task.

numpy and scipy only (runtime side; float32 from the FFT on, like the torch front-end). Frame ``i``
describes time ``i * hop / sample_rate`` and is computed from a Hann window *centred* on that time, so
the front-end looks ``window/2`` samples ahead (32 ms with the defaults); samples before t = 0 are zeros.
The same :class:`FrontEnd` object serves offline analysis (feed the whole file, then
:meth:`FrontEnd.flush`) and streaming (feed blocks of any size), and both give the same frames: a frame
is computed once its window is complete, from exactly the same samples.

Bins are spaced ``bins_per_octave`` per octave from ``fmin_hz`` (3 per semitone by default, A0 upwards,
8 octaves). Each bin is a triangular filter over the zero-padded FFT; where the FFT is coarser than the
bin spacing (low frequencies) the filter degrades gracefully to interpolation between FFT bins.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property

import numpy as np
from scipy import fft as scipy_fft

from models.errors import ConfigError


@dataclass(frozen=True)
class FrontEndConfig:
    sample_rate_hz: int = 16000
    hop_samples: int = 160
    window_samples: int = 1024
    n_fft: int = 2048
    fmin_hz: float = 27.5
    bins_per_octave: int = 36
    n_bins: int = 288
    log_gain: float = 1000.0  # features are log1p(log_gain * magnitude), magnitude of a unit sine = 0.5

    def __post_init__(self) -> None:
        if self.sample_rate_hz <= 0 or self.hop_samples <= 0:
            raise ConfigError(f"sample rate and hop must be positive, got {self.sample_rate_hz}, {self.hop_samples}")
        if self.window_samples % 2 or self.window_samples > self.n_fft:
            raise ConfigError(
                f"window_samples must be even and <= n_fft, got window {self.window_samples}, n_fft {self.n_fft}"
            )
        if self.fmax_hz >= self.sample_rate_hz / 2:
            raise ConfigError(
                f"the top bin ({self.fmax_hz:.0f} Hz) must stay below Nyquist ({self.sample_rate_hz / 2:.0f} Hz); "
                "lower n_bins or fmin_hz"
            )

    @property
    def hop_s(self) -> float:
        return self.hop_samples / self.sample_rate_hz

    @property
    def lookahead_samples(self) -> int:
        return self.window_samples // 2

    @property
    def lookahead_s(self) -> float:
        return self.lookahead_samples / self.sample_rate_hz

    @property
    def fmax_hz(self) -> float:
        return float(self.bin_frequencies_hz()[-1])

    def bin_frequencies_hz(self) -> np.ndarray:
        return self.fmin_hz * 2.0 ** (np.arange(self.n_bins) / self.bins_per_octave)

    def to_dict(self) -> dict:
        return asdict(self)


def log_filterbank(config: FrontEndConfig) -> np.ndarray:
    """(n_fft // 2 + 1, n_bins) weights; each column sums to 1."""
    fft_hz = np.fft.rfftfreq(config.n_fft, 1.0 / config.sample_rate_hz)
    centres = config.bin_frequencies_hz()
    ratio = 2.0 ** (1.0 / config.bins_per_octave)
    lower, upper = centres / ratio, centres * ratio
    weights = np.zeros((fft_hz.size, config.n_bins), dtype=np.float64)
    for k, (lo, c, hi) in enumerate(zip(lower, centres, upper)):
        rising = (fft_hz - lo) / (c - lo)
        falling = (hi - fft_hz) / (hi - c)
        tri = np.clip(np.minimum(rising, falling), 0.0, None)
        if np.count_nonzero(tri) < 2:  # narrower than the FFT grid: interpolate between neighbours
            tri[:] = 0.0
            pos = c / (fft_hz[1] - fft_hz[0])
            j = int(np.floor(pos))
            frac = pos - j
            tri[j] += 1.0 - frac
            tri[j + 1] += frac
        weights[:, k] = tri / tri.sum()
    return weights


class FrontEnd:
    """Stateful front-end. ``process`` returns the frames completed by a block; ``flush`` the rest."""

    def __init__(self, config: FrontEndConfig | None = None) -> None:
        self.config = config or FrontEndConfig()
        self.reset()

    @cached_property
    def _window(self) -> np.ndarray:
        w = np.hanning(self.config.window_samples + 1)[:-1]
        return w / w.sum()  # a unit-amplitude sine at a bin centre gives magnitude 0.5

    @cached_property
    def _filterbank(self):
        """The rows of :func:`log_filterbank` up to its last non-zero one (FFT bins above the top filter carry
        no weight) as a float32 sparse matrix (about 2k of 260k weights are non-zero). The sparse product
        adds each output's terms in a fixed order whatever the number of frames, so a frame's features
        do not depend on the block it came in (a dense BLAS product's do, in the last bits)."""
        from scipy.sparse import csc_matrix

        weights = log_filterbank(self.config)
        used = int(np.flatnonzero(weights.any(axis=1))[-1]) + 1
        return csc_matrix(weights[:used].astype(np.float32))

    def reset(self) -> None:
        half = self.config.window_samples // 2
        self._buffer = np.zeros(half, dtype=np.float64)  # zeros before t = 0
        self._next_frame = 0  # index of the next frame to emit
        self._buffer_start = -half  # absolute sample index of self._buffer[0]
        self._samples_in = 0

    @property
    def frames_emitted(self) -> int:
        return self._next_frame

    def process(self, block: np.ndarray) -> np.ndarray:
        """Append samples (1-D, at the configured rate); return (n_new_frames, n_bins) float32."""
        block = np.asarray(block, dtype=np.float64).reshape(-1)
        self._buffer = np.concatenate([self._buffer, block])
        self._samples_in += block.size
        return self._emit(available_end=self._buffer_start + self._buffer.size)

    def flush(self) -> np.ndarray:
        """Finish the stream: frames up to the last input sample, the window padded with zeros."""
        n_frames_total = -(-self._samples_in // self.config.hop_samples)  # ceil
        half = self.config.window_samples // 2
        last_end = (n_frames_total - 1) * self.config.hop_samples + half
        pad = max(0, last_end - (self._buffer_start + self._buffer.size))
        self._buffer = np.concatenate([self._buffer, np.zeros(pad)])
        return self._emit(available_end=self._buffer_start + self._buffer.size, limit=n_frames_total)

    def compute(self, audio: np.ndarray) -> np.ndarray:
        """Offline: all frames of ``audio`` (starts over first)."""
        self.reset()
        head = self.process(audio)
        tail = self.flush()
        return np.concatenate([head, tail]) if tail.size else head

    def _emit(self, available_end: int, limit: int | None = None) -> np.ndarray:
        cfg = self.config
        half = cfg.window_samples // 2
        # frame i needs samples [i*hop - half, i*hop + half)
        last_ready = (available_end - half) // cfg.hop_samples  # largest i with i*hop + half <= end
        stop = last_ready + 1 if limit is None else min(last_ready + 1, limit)
        n_new = max(0, stop - self._next_frame)
        if n_new == 0:
            return np.zeros((0, cfg.n_bins), dtype=np.float32)
        first = self._next_frame * cfg.hop_samples - half - self._buffer_start
        span = self._buffer[first : first + (n_new - 1) * cfg.hop_samples + cfg.window_samples]
        frames = np.lib.stride_tricks.sliding_window_view(span, cfg.window_samples)[:: cfg.hop_samples] * self._window
        filterbank = self._filterbank
        # float32 from here on, as the torch front-end and the networks (the FFT of a frame is computed
        # alone, in the same operations whatever the block: streaming frames equal offline ones)
        spectrum = scipy_fft.rfft(frames.astype(np.float32), n=cfg.n_fft, axis=1, workers=1)
        spectrum = np.abs(spectrum[:, : filterbank.shape[0]])
        features = np.log1p(np.float32(cfg.log_gain) * (spectrum @ filterbank))
        self._next_frame += n_new
        # drop samples no future frame needs
        keep_from = self._next_frame * cfg.hop_samples - half - self._buffer_start
        if keep_from > 0:
            self._buffer = self._buffer[keep_from:]
            self._buffer_start += keep_from
        return features
