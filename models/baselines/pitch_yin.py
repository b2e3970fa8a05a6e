"""Pitch baseline "yin": librosa's YIN with a simple voicing rule (loud enough and stable)."""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
import scipy.ndimage

from models.annotations.types import Annotation, F0Track
from models.baselines._frames import check_input, duration_s, frame_times_s, hop_samples
from models.baselines.note_segmentation import hz_to_midi, segment_notes
from models.baselines.pitch_pyin import PitchRangeConfig, frame_length_for


@dataclass(frozen=True)
class YinVoicingConfig:
    relative_floor_db: float = -35.0  # frames this far below the loudest frame are unvoiced
    absolute_floor_db: float = -60.0  # frames below this level (dBFS RMS) are unvoiced
    max_deviation_midi: float = 0.5  # f0 further than this from its 5-frame median is unvoiced
    trough_threshold: float = 0.1  # YIN's absolute threshold


def yin_baseline(
    audio: np.ndarray,
    sample_rate_hz: int,
    config: PitchRangeConfig = PitchRangeConfig(),
    voicing: YinVoicingConfig = YinVoicingConfig(),
) -> Annotation:
    """f0 (unvoiced frames keep YIN's estimate as a negative guess; confidence 1/0) and notes."""
    y = check_input(audio, sample_rate_hz)
    config.check(sample_rate_hz)
    hop = hop_samples(sample_rate_hz, config.hop_s)
    if y.size == 0:
        return Annotation(duration_s=0.0, f0=F0Track(np.zeros(0), np.zeros(0), np.zeros(0)), notes=())
    frame_length = frame_length_for(config.fmin_hz, sample_rate_hz)
    f0_hz = librosa.yin(
        y, fmin=config.fmin_hz, fmax=config.fmax_hz, sr=sample_rate_hz, frame_length=frame_length,
        hop_length=hop, trough_threshold=voicing.trough_threshold,
    ).astype(np.float64)
    rms = librosa.feature.rms(y=y, frame_length=frame_length, hop_length=hop)[0][: f0_hz.size]
    rms_db = 20.0 * np.log10(np.maximum(rms, 1e-10))
    loud = (rms_db > rms_db.max() + voicing.relative_floor_db) & (rms_db > voicing.absolute_floor_db)
    midi = hz_to_midi(f0_hz)
    smooth = scipy.ndimage.median_filter(np.nan_to_num(midi), size=5, mode="nearest")
    stable = np.abs(np.nan_to_num(midi) - smooth) <= voicing.max_deviation_midi
    voiced = loud & stable & (f0_hz > 0)
    signed = np.where(voiced, f0_hz, -f0_hz)
    track = F0Track(frame_times_s(f0_hz.size, hop, sample_rate_hz), signed, voiced.astype(np.float64))
    return Annotation(duration_s=duration_s(y, sample_rate_hz), f0=track, notes=segment_notes(track, config.notes))
