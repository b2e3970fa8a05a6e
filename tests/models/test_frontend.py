import numpy as np
import pytest

from models.errors import ConfigError
from models.frontend import FrontEnd, FrontEndConfig, log_filterbank

SR = 16000


def tone(freq_hz, seconds=1.0, amp=0.5):
    t = np.arange(int(seconds * SR)) / SR
    return amp * np.sin(2 * np.pi * freq_hz * t)


def test_default_config_covers_c1_to_past_c7_at_three_bins_per_semitone():
    cfg = FrontEndConfig()
    freqs = cfg.bin_frequencies_hz()
    assert cfg.bins_per_octave == 36
    assert freqs[0] < 32.70 and freqs[-1] > 2093.0 * 3  # room for harmonics of C7
    assert cfg.hop_s == pytest.approx(0.010)
    assert cfg.lookahead_s == pytest.approx(0.032)


def test_filterbank_columns_are_normalised_and_nonempty():
    fb = log_filterbank(FrontEndConfig())
    assert fb.shape == (1025, 288)
    np.testing.assert_allclose(fb.sum(axis=0), 1.0, rtol=1e-12)
    assert (fb >= 0).all()


@pytest.mark.parametrize("midi", [36, 45, 57, 69, 81, 93])
def test_tone_peaks_at_its_bin(midi):
    freq = 440.0 * 2 ** ((midi - 69) / 12)
    feats = FrontEnd().compute(tone(freq))
    mid = feats[30:70].mean(axis=0)
    cfg = FrontEndConfig()
    expected_bin = 36 * np.log2(freq / cfg.fmin_hz)
    # low tones are blurred by the 64 ms window, but the peak must sit within a semitone
    assert abs(int(np.argmax(mid)) - expected_bin) <= 3


def test_frame_count_and_times():
    audio = np.zeros(SR + 1)  # 100 hops and one sample
    feats = FrontEnd().compute(audio)
    assert feats.shape == (101, 288)
    assert feats.dtype == np.float32
    assert np.all(feats == 0)


def test_streaming_equals_offline_for_random_block_sizes():
    rng = np.random.default_rng(0)
    audio = rng.standard_normal(SR * 2) * 0.1 + tone(220.0, 2.0)
    offline = FrontEnd().compute(audio)
    fe = FrontEnd()
    parts, pos = [], 0
    while pos < audio.size:
        n = int(rng.choice([1, 7, 160, 333, 1024, 5000]))
        parts.append(fe.process(audio[pos:pos + n]))
        pos += n
    parts.append(fe.flush())
    streamed = np.concatenate(parts)
    assert streamed.shape == offline.shape
    # bit-identical: the filterbank product adds each bin's terms in the same order whatever the block
    np.testing.assert_array_equal(streamed, offline)


def test_frames_are_released_after_the_lookahead():
    fe = FrontEnd()
    assert fe.process(np.zeros(511)).shape[0] == 0  # frame 0 needs 512 samples after t=0
    assert fe.process(np.zeros(1)).shape[0] == 1
    assert fe.process(np.zeros(159)).shape[0] == 0
    assert fe.process(np.zeros(1)).shape[0] == 1


def test_onset_shows_no_energy_before_the_lookahead():
    audio = np.zeros(SR)
    audio[8000:] = tone(1000.0, 0.5)
    feats = FrontEnd().compute(audio)
    energy = feats.sum(axis=1)
    first = int(np.argmax(energy > 1e-3))
    assert 50 - 4 <= first <= 50  # 32 ms lookahead = 3.2 hops before the onset at frame 50


def test_bad_config_is_refused():
    with pytest.raises(ConfigError, match="Nyquist"):
        FrontEndConfig(n_bins=400)
    with pytest.raises(ConfigError, match="n_fft"):
        FrontEndConfig(window_samples=4096)
