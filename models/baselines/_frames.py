"""Frame helpers shared by the DSP baselines (10 ms frames unless a config says otherwise)."""

from __future__ import annotations

import numpy as np

from models.errors import ConfigError, SampleRateError

DEFAULT_HOP_S: float = 0.01


def check_input(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Validate a mono signal and its rate; return it as contiguous float32."""
    if not isinstance(sample_rate_hz, (int, np.integer)) or sample_rate_hz <= 0:
        raise SampleRateError(f"sample rate {sample_rate_hz!r} is not a positive integer; pass the rate in Hz")
    y = np.asarray(audio, dtype=np.float32)
    if y.ndim != 1:
        raise ConfigError(f"baselines take mono audio (1-D array); got shape {y.shape}; mix down first")
    return np.ascontiguousarray(y)


def hop_samples(sample_rate_hz: int, hop_s: float = DEFAULT_HOP_S) -> int:
    """Hop length in samples for a hop in seconds (at least 1)."""
    if hop_s <= 0:
        raise ConfigError(f"hop_s={hop_s} must be positive (10 ms = 0.01)")
    return max(1, int(round(hop_s * sample_rate_hz)))


def frame_times_s(n_frames: int, hop_length_samples: int, sample_rate_hz: int) -> np.ndarray:
    """Centre time of each frame (librosa's ``center=True`` framing)."""
    return np.arange(n_frames, dtype=np.float64) * hop_length_samples / float(sample_rate_hz)


def duration_s(audio: np.ndarray, sample_rate_hz: int) -> float:
    return float(len(audio)) / float(sample_rate_hz)
