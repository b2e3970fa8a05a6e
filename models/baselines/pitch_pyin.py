"""Pitch baseline "pyin": librosa's probabilistic YIN, notes from stable-pitch runs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import librosa
import numpy as np

from models.annotations.types import Annotation, F0Track
from models.baselines._frames import DEFAULT_HOP_S, check_input, duration_s, frame_times_s, hop_samples
from models.baselines.note_segmentation import NoteSegmentationConfig, segment_notes
from models.errors import ConfigError


@dataclass(frozen=True)
class PitchRangeConfig:
    fmin_hz: float = 32.703  # C1
    fmax_hz: float = 2093.0  # C7
    hop_s: float = DEFAULT_HOP_S
    notes: NoteSegmentationConfig = NoteSegmentationConfig()

    def check(self, sample_rate_hz: int) -> None:
        if not (0 < self.fmin_hz < self.fmax_hz):
            raise ConfigError(f"pitch range fmin_hz={self.fmin_hz}, fmax_hz={self.fmax_hz}: need 0 < fmin < fmax")
        if self.fmax_hz >= sample_rate_hz / 2:
            raise ConfigError(
                f"fmax_hz={self.fmax_hz} is not below the Nyquist frequency of {sample_rate_hz} Hz audio; "
                "lower fmax_hz or resample"
            )


def frame_length_for(fmin_hz: float, sample_rate_hz: int) -> int:
    """Smallest power-of-two frame that holds two periods of ``fmin_hz`` (what YIN needs)."""
    need = 2.0 * (sample_rate_hz / fmin_hz + 2.0)
    return int(2 ** math.ceil(math.log2(need)))


def pyin_baseline(audio: np.ndarray, sample_rate_hz: int, config: PitchRangeConfig = PitchRangeConfig()) -> Annotation:
    """f0 (negative best guess on unvoiced frames, confidence = voiced probability) and notes."""
    y = check_input(audio, sample_rate_hz)
    config.check(sample_rate_hz)
    hop = hop_samples(sample_rate_hz, config.hop_s)
    if y.size == 0:
        f0 = F0Track(np.zeros(0), np.zeros(0), np.zeros(0))
        return Annotation(duration_s=0.0, f0=f0, notes=())
    f0_hz, voiced, voiced_prob = librosa.pyin(
        y, fmin=config.fmin_hz, fmax=config.fmax_hz, sr=sample_rate_hz,
        frame_length=frame_length_for(config.fmin_hz, sample_rate_hz), hop_length=hop, fill_na=None,
    )
    f0_hz = np.nan_to_num(np.asarray(f0_hz, dtype=np.float64), nan=0.0)
    signed = np.where(voiced, np.abs(f0_hz), -np.abs(f0_hz))
    track = F0Track(frame_times_s(len(signed), hop, sample_rate_hz), signed, np.nan_to_num(voiced_prob))
    return Annotation(duration_s=duration_s(y, sample_rate_hz), f0=track, notes=segment_notes(track, config.notes))
