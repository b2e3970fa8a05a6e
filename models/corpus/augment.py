"""Augmentation after rendering: EQ, room reverb, coloured noise, mild saturation, loudness.

Nothing here moves an onset: filters are causal biquads (small group delay), the reverb's impulse
response keeps the direct sound at lag 0, and noise/saturation/gain are sample-wise or additive.
"""

from __future__ import annotations

import numpy as np
from scipy import signal


def _biquad(kind: str, f_hz: float, gain_db: float, q: float, sample_rate_hz: int) -> np.ndarray:
    """RBJ audio-EQ-cookbook biquad as one second-order section."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f_hz / sample_rate_hz
    cw, sw = np.cos(w0), np.sin(w0)
    alpha = sw / (2 * q)
    if kind == "peak":
        b = [1 + alpha * a, -2 * cw, 1 - alpha * a]
        den = [1 + alpha / a, -2 * cw, 1 - alpha / a]
    else:
        sq = 2 * np.sqrt(a) * alpha
        if kind == "lowshelf":
            b = [a * ((a + 1) - (a - 1) * cw + sq), 2 * a * ((a - 1) - (a + 1) * cw), a * ((a + 1) - (a - 1) * cw - sq)]
            den = [(a + 1) + (a - 1) * cw + sq, -2 * ((a - 1) + (a + 1) * cw), (a + 1) + (a - 1) * cw - sq]
        else:  # highshelf
            b = [a * ((a + 1) + (a - 1) * cw + sq), -2 * a * ((a - 1) + (a + 1) * cw), a * ((a + 1) + (a - 1) * cw - sq)]
            den = [(a + 1) - (a - 1) * cw + sq, 2 * ((a - 1) - (a + 1) * cw), (a + 1) - (a - 1) * cw - sq]
    return np.concatenate([np.array(b) / den[0], np.array(den) / den[0]])


def random_eq(rng: np.random.Generator, sample_rate_hz: int) -> list[dict]:
    nyq = sample_rate_hz / 2
    bands = [{"kind": "lowshelf", "f_hz": float(rng.uniform(80, 400)), "gain_db": float(rng.uniform(-8, 8)), "q": 0.707},
             {"kind": "highshelf", "f_hz": float(rng.uniform(1500, min(6000, 0.7 * nyq))),
              "gain_db": float(rng.uniform(-10, 6)), "q": 0.707}]
    for _ in range(int(rng.integers(0, 3))):
        bands.append({"kind": "peak", "f_hz": float(rng.uniform(150, min(5000, 0.6 * nyq))),
                      "gain_db": float(rng.uniform(-8, 8)), "q": float(rng.uniform(0.7, 2.5))})
    return bands


def apply_eq(x: np.ndarray, bands: list[dict], sample_rate_hz: int) -> np.ndarray:
    if not bands:
        return x
    sos = np.stack([_biquad(b["kind"], b["f_hz"], b["gain_db"], b["q"], sample_rate_hz) for b in bands])
    return signal.sosfilt(sos, x).astype(np.float32)


def room_ir(rng: np.random.Generator, rt60_s: float, drr_db: float, sample_rate_hz: int) -> np.ndarray:
    """Direct sound at lag 0 plus exponentially decaying, darkening noise after a short pre-delay."""
    n = int(min(1.5 * rt60_s, 2.0) * sample_rate_hz)
    t = np.arange(n) / sample_rate_hz
    tail = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60_s)
    tail = signal.lfilter([0.35], [1, -0.65], tail)  # air absorption: darker tail
    predelay = int(rng.uniform(0.005, 0.025) * sample_rate_hz)
    tail[:predelay] = 0.0
    energy = float(np.sum(tail ** 2)) + 1e-12
    tail *= np.sqrt(10 ** (-drr_db / 10) / energy)
    tail[0] = 1.0  # the direct path (the tail is zero there because of the pre-delay)
    return tail


def coloured_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise with a 1/f**exponent power spectrum (0 white, 1 pink, 2 brown)."""
    spec = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.arange(n // 2 + 1, dtype=float)
    f[0] = 1.0
    spec /= f ** (exponent / 2)
    spec[0] = 0
    noise = np.fft.irfft(spec, n)
    return noise / (np.std(noise) + 1e-12)


def active_rms(x: np.ndarray, sample_rate_hz: int) -> float:
    """RMS over the 20 ms frames that are within 50 dB of the loudest one (silence does not count)."""
    hop = max(1, int(0.02 * sample_rate_hz))
    frames = x[: x.size // hop * hop].reshape(-1, hop) if x.size >= hop else x.reshape(1, -1)
    p = np.mean(frames.astype(np.float64) ** 2, axis=1)
    if p.size == 0 or p.max() <= 0:
        return 0.0
    return float(np.sqrt(np.mean(p[p > p.max() * 1e-5])))


def augment(x: np.ndarray, rng: np.random.Generator, sample_rate_hz: int) -> tuple[np.ndarray, dict]:
    """The augmentation chain with parameters drawn from ``rng``; returns the audio and the parameters."""
    params: dict = {}
    y = x.astype(np.float64)
    if rng.random() < 0.8:
        bands = random_eq(rng, sample_rate_hz)
        y = apply_eq(y, bands, sample_rate_hz).astype(np.float64)
        params["eq"] = [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in b.items()} for b in bands]
    if rng.random() < 0.6:
        rt60 = float(rng.uniform(0.15, 1.5))
        drr = float(rng.uniform(0.0, 15.0))
        ir = room_ir(rng, rt60, drr, sample_rate_hz)
        y = signal.fftconvolve(y, ir)[: y.size]
        params["reverb"] = {"rt60_s": round(rt60, 3), "drr_db": round(drr, 2)}
    level = active_rms(y, sample_rate_hz)
    if level > 0:
        y = y / level * 0.1  # -20 dBFS working level
    if rng.random() < 0.1:
        drive = float(rng.uniform(1.5, 4.0))
        y = np.tanh(drive * y) / drive
        params["saturation_drive"] = round(drive, 3)
    if rng.random() < 0.85:
        snr = float(rng.uniform(20, 50))
        exponent = float(rng.uniform(0.0, 2.0))
        noise = coloured_noise(rng, y.size, exponent)
        y = y + noise * active_rms(y, sample_rate_hz) * 10 ** (-snr / 20)
        params["noise"] = {"snr_db": round(snr, 2), "exponent": round(exponent, 3)}
    target_db = float(rng.uniform(-30, -14))
    level = active_rms(y, sample_rate_hz)
    if level > 0:
        y = y * (10 ** (target_db / 20) / level)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 0.97:
        y *= 0.97 / peak
        target_db = round(target_db + 20 * np.log10(0.97 / peak), 2)
    params["loudness_db"] = round(target_db, 2)
    return y.astype(np.float32), params
