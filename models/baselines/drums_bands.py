"""Drum baseline "band-onsets": spectral-flux onsets in a low / mid / high band -> kick / snare / hi-hat.

A floor to beat, not a model: any loud broadband hit shows up in several bands.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

from models.annotations.types import Annotation, DrumHit
from models.baselines._frames import DEFAULT_HOP_S, check_input, duration_s, hop_samples


@dataclass(frozen=True)
class DrumBand:
    drum: str
    low_hz: float
    high_hz: float


@dataclass(frozen=True)
class DrumBandsConfig:
    hop_s: float = DEFAULT_HOP_S
    window_s: float = 0.032
    bands: tuple[DrumBand, ...] = (
        DrumBand("kick", 30.0, 150.0),
        DrumBand("snare", 1000.0, 4000.0),
        DrumBand("hihat", 6000.0, 20000.0),
    )
    threshold: float = 0.12  # peak must exceed the local mean by this fraction of the band's largest peak
    min_gap_s: float = 0.05  # at most one hit per band in this time


def _band_flux(log_spec: np.ndarray, freqs_hz: np.ndarray, band: DrumBand) -> np.ndarray:
    rows = (freqs_hz >= band.low_hz) & (freqs_hz < band.high_hz)
    if not np.any(rows):
        return np.zeros(log_spec.shape[1])
    band_spec = log_spec[rows]
    flux = np.maximum(0.0, np.diff(band_spec, axis=1, prepend=band_spec[:, :1])).sum(axis=0)
    return flux


def band_onsets_baseline(audio: np.ndarray, sample_rate_hz: int, config: DrumBandsConfig = DrumBandsConfig()) -> Annotation:
    """Drum hits of the configured classes (kick, snare, hi-hat by default), sorted by time."""
    y = check_input(audio, sample_rate_hz)
    total_s = duration_s(y, sample_rate_hz)
    if y.size == 0 or not np.any(y):
        return Annotation(duration_s=total_s, drums=())
    hop = hop_samples(sample_rate_hz, config.hop_s)
    n_fft = int(2 ** np.ceil(np.log2(max(16, config.window_s * sample_rate_hz))))
    spec = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop))
    log_spec = np.log1p(100.0 * spec / max(float(spec.max()), 1e-12))
    freqs_hz = librosa.fft_frequencies(sr=sample_rate_hz, n_fft=n_fft)
    wait = max(1, int(round(config.min_gap_s / config.hop_s)))
    hits: list[DrumHit] = []
    for band in config.bands:
        flux = _band_flux(log_spec, freqs_hz, band)
        peak = float(flux.max())
        if peak <= 0:
            continue
        flux = flux / peak
        frames = librosa.util.peak_pick(
            flux, pre_max=3, post_max=3, pre_avg=10, post_avg=10, delta=config.threshold, wait=wait,
        )
        hits.extend(DrumHit(time_s=float(f * hop / sample_rate_hz), drum=band.drum) for f in frames)
    hits.sort(key=lambda h: (h.time_s, h.drum))
    return Annotation(duration_s=total_s, drums=tuple(hits))
