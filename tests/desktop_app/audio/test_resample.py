"""The live path's polyphase resampler: streaming == one-shot, passband, stopband, time alignment, lengths,
and the front-end features it gives against soxr HQ (what files are read with)."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_app.audio.resample import PolyphaseResampler, ResamplerDesign
from models.errors import ConfigError
from models.frontend import FrontEnd

RATE_PAIRS = [(48000, 16000), (44100, 16000), (16000, 48000), (16000, 44100)]


def _resample_all(resampler: PolyphaseResampler, x: np.ndarray) -> np.ndarray:
    return np.concatenate([resampler.process(x), resampler.flush()])


def _tone(frequency_hz: float, rate_hz: int, count: int, phase: float = 0.3, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * frequency_hz * np.arange(count) / rate_hz + phase)


def _fit(y: np.ndarray, frequency_hz: float, rate_hz: int) -> tuple[float, float, float]:
    """(amplitude, phase, relative rms residual) of the least-squares sine at ``frequency_hz`` (index 0 = t 0)."""
    t = np.arange(y.size) / rate_hz
    basis = np.stack([np.sin(2 * np.pi * frequency_hz * t), np.cos(2 * np.pi * frequency_hz * t)], axis=1)
    (a, b), *_ = np.linalg.lstsq(basis, y, rcond=None)
    residual = y - basis @ np.array([a, b])
    amplitude = float(np.hypot(a, b))
    return amplitude, float(np.arctan2(b, a)), float(np.sqrt(np.mean(residual**2)) / (amplitude / np.sqrt(2)))


@pytest.mark.parametrize("rate_in, rate_out", RATE_PAIRS + [(22050, 16000)])
def test_streaming_with_random_blocks_equals_one_shot(rate_in, rate_out):
    rng = np.random.default_rng(rate_in + rate_out)
    x = rng.standard_normal(rate_in // 2 + 37).astype(np.float32) * 0.3
    one_shot = _resample_all(PolyphaseResampler(rate_in, rate_out), x)
    resampler = PolyphaseResampler(rate_in, rate_out)
    pieces, position = [], 0
    while position < x.size:
        size = int(rng.choice([0, 1, 2, 7, 160, 441, 512, 1000, 4097]))
        pieces.append(resampler.process(x[position : position + size]))
        position += size
    pieces.append(resampler.flush())
    assert all(p.dtype == np.float32 for p in pieces)
    streamed = np.concatenate(pieces)
    assert streamed.shape == one_shot.shape
    np.testing.assert_allclose(streamed, one_shot, rtol=0, atol=1e-6)
    # after flush a new run starts: the same input gives the same output again
    np.testing.assert_allclose(_resample_all(resampler, x), one_shot, rtol=0, atol=1e-6)


@pytest.mark.parametrize("rate_in, rate_out", RATE_PAIRS)
@pytest.mark.parametrize("frequency_hz", [1000.0, 6500.0])
def test_a_passband_sine_keeps_frequency_amplitude_and_phase(rate_in, rate_out, frequency_hz):
    """The output is the ideal sine at the output times k / out_rate: no delay, no gain change."""
    x = _tone(frequency_hz, rate_in, rate_in).astype(np.float32)  # 1 s
    y = _resample_all(PolyphaseResampler(rate_in, rate_out), x).astype(np.float64)
    edge = rate_out // 50  # 20 ms: the filter sees the zeros before the start and after the end
    steady = y[edge:-edge]
    t0 = edge / rate_out
    amplitude, phase, residual = _fit(steady, frequency_hz, rate_out)
    assert abs(20 * np.log10(amplitude / 0.5)) < 0.1
    expected_phase = 0.3 + 2 * np.pi * frequency_hz * t0
    phase_error = np.angle(np.exp(1j * (phase - expected_phase)))
    assert abs(phase_error) < 1e-3, f"phase off by {phase_error:.2e} rad = {phase_error / (2 * np.pi * frequency_hz) * 1e6:.2f} us"
    assert residual < 1e-3  # the right frequency: nothing else is left
    ideal = _tone(frequency_hz, rate_out, y.size)
    np.testing.assert_allclose(steady, ideal[edge:-edge], rtol=0, atol=2e-3)


def test_samples_before_the_first_input_are_zeros_and_an_impulse_lands_at_its_time():
    x = np.zeros(4800, dtype=np.float32)
    x[2400] = 1.0  # 50 ms
    y = _resample_all(PolyphaseResampler(48000, 16000), x)
    assert int(np.argmax(y)) == 800  # 50 ms at 16 kHz: the delay is compensated
    assert y[800 - 30 : 800 + 31].sum() == pytest.approx(1 / 3, abs=1e-3)  # unit DC gain spread over 3:1
    np.testing.assert_allclose(y[800 - 5 : 800], y[801 : 800 + 6][::-1], atol=1e-7)  # linear phase: symmetric


def test_a_10k_tone_at_48k_is_attenuated_by_75_db():
    x = _tone(10000.0, 48000, 48000).astype(np.float32)
    y = _resample_all(PolyphaseResampler(48000, 16000), x)[400:-400]
    level_db = 20 * np.log10(np.sqrt(np.mean(y.astype(np.float64) ** 2)) / (0.5 / np.sqrt(2)))
    assert level_db <= -75.0, f"10 kHz alias at {level_db:.1f} dB"


def test_every_phase_has_unit_dc_gain():
    resampler = PolyphaseResampler(44100, 16000)  # 160 phases
    y = _resample_all(resampler, np.ones(44100, dtype=np.float32))
    np.testing.assert_allclose(y[100:-100], 1.0, atol=1e-6)


@pytest.mark.parametrize("rate_in, rate_out", RATE_PAIRS + [(16000, 16000), (22050, 16000)])
@pytest.mark.parametrize("count", [0, 1, 2, 3, 100, 441, 1000, 4799, 44101])
def test_output_length_after_flush(rate_in, rate_out, count):
    x = np.full(count, 0.1, dtype=np.float32)
    y = _resample_all(PolyphaseResampler(rate_in, rate_out), x)
    assert abs(y.size - round(count * rate_out / rate_in)) <= 1


def test_equal_rates_pass_through():
    resampler = PolyphaseResampler(16000, 16000)
    x = np.random.default_rng(1).standard_normal(1000).astype(np.float32)
    assert resampler.passthrough and resampler.delay_s == 0.0
    np.testing.assert_array_equal(resampler.process(x), x)
    assert resampler.flush().size == 0


def test_empty_blocks_and_rate_ratio():
    resampler = PolyphaseResampler(44100, 16000)
    assert (resampler.up, resampler.down) == (160, 441)
    out = resampler.process(np.zeros(0, dtype=np.float32))
    assert out.dtype == np.float32 and out.size == 0
    assert resampler.flush().size == 0  # nothing fed, nothing out


def test_delay_is_half_the_span_and_below_2_ms_at_48k():
    resampler = PolyphaseResampler(48000, 16000)
    assert resampler.delay_s < 0.002
    assert resampler.delay_s == pytest.approx((resampler.taps_per_phase - 1) / 2 / 48000)
    # the output for time t is available once t + delay_s of input has arrived, not earlier
    y = resampler.process(np.zeros(4800, dtype=np.float32))
    assert y.size == int(np.ceil((4800 - resampler.delay_samples) / 3))
    for rate_in in (44100, 96000):
        assert PolyphaseResampler(rate_in, 16000).delay_s < 0.002


def test_bad_rates_and_design_name_the_value():
    with pytest.raises(ConfigError, match="in_rate_hz"):
        PolyphaseResampler(0, 16000)
    with pytest.raises(ConfigError, match="out_rate_hz"):
        PolyphaseResampler(48000, 16000.5)
    with pytest.raises(ConfigError, match="passband_fraction"):
        ResamplerDesign(passband_fraction=0.6)


def _rendered_like(rate_hz: int, seconds: float) -> np.ndarray:
    """Tones across the front-end's range (and above it), plus short noise clicks every 250 ms."""
    rng = np.random.default_rng(0)
    n = int(seconds * rate_hz)
    t = np.arange(n) / rate_hz
    x = np.zeros(n)
    for frequency_hz, amplitude in [(110, 0.2), (440, 0.15), (1318.5, 0.1), (3520, 0.05), (6271.9, 0.03),
                                    (7900, 0.02), (9000, 0.02), (12000, 0.02)]:
        x += amplitude * np.sin(2 * np.pi * frequency_hz * t + rng.uniform(0, 2 * np.pi))
    for start in range(0, n, rate_hz // 4):
        x[start + 100 : start + 120] += rng.uniform(-0.5, 0.5, 20)
    return x.astype(np.float32)


def test_live_features_match_those_of_soxr_hq():
    """Measured (3 s, 48 kHz): max |difference| 5.8e-5 away from the first and last frames, 8.8e-3 at the
    abrupt start (top bins), mean 1.5e-5; features reach 4.6. Tolerances: 1e-3 interior, 2e-2 overall."""
    soxr = pytest.importorskip("soxr")
    x = _rendered_like(48000, 3.0)
    ours = _resample_all(PolyphaseResampler(48000, 16000), x)
    reference = soxr.resample(x, 48000, 16000, quality="HQ").astype(np.float32)
    assert ours.size == reference.size
    frontend = FrontEnd()
    a, b = frontend.compute(ours), frontend.compute(reference)
    assert a.max() > 3.0  # the features are not trivially small
    difference = np.abs(a - b)
    assert difference[4:-4].max() < 1e-3
    assert difference.max() < 2e-2
    assert difference.mean() < 1e-4
