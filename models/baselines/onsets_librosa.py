"""Onset baseline "librosa-onset": spectral-flux onset strength and librosa's peak picking."""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

from models.annotations.types import Annotation
from models.baselines._frames import DEFAULT_HOP_S, check_input, duration_s, hop_samples


@dataclass(frozen=True)
class OnsetConfig:
    hop_s: float = DEFAULT_HOP_S
    delta: float = 0.07  # peak-picking threshold above the local mean (librosa's default)


def librosa_onset_baseline(audio: np.ndarray, sample_rate_hz: int, config: OnsetConfig = OnsetConfig()) -> Annotation:
    """Onset times in seconds (no backtracking)."""
    y = check_input(audio, sample_rate_hz)
    hop = hop_samples(sample_rate_hz, config.hop_s)
    if y.size == 0 or not np.any(y):
        return Annotation(duration_s=duration_s(y, sample_rate_hz), onsets=np.zeros(0))
    times = librosa.onset.onset_detect(
        y=y, sr=sample_rate_hz, hop_length=hop, backtrack=False, units="time", delta=config.delta,
    )
    return Annotation(duration_s=duration_s(y, sample_rate_hz), onsets=np.sort(np.asarray(times, dtype=np.float64)))
