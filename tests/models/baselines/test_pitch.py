import numpy as np
import pytest

from models.annotations.types import F0Track
from models.baselines import BASELINES, get_baseline
from models.baselines.note_segmentation import NoteSegmentationConfig, segment_notes
from models.baselines.pitch_pyin import PitchRangeConfig, frame_length_for, pyin_baseline
from models.baselines.pitch_yin import yin_baseline
from models.errors import ConfigError, EvaluationError, SampleRateError



def tone(freq_hz: float, dur_s: float, amp: float = 0.4, sr: int = 16000) -> np.ndarray:
    t = np.arange(int(dur_s * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def _signal(sr):
    # 0.2 s silence, 0.8 s of A4, 0.2 s silence
    silence = np.zeros(int(0.2 * sr), np.float32)
    return np.concatenate([silence, tone(440.0, 0.8), silence])


@pytest.mark.parametrize("baseline", [pyin_baseline, yin_baseline])
def test_tone_is_found_near_440_hz(baseline, sr):
    a = baseline(_signal(sr), sr)
    f0 = a.f0
    assert f0.times_s[1] - f0.times_s[0] == pytest.approx(0.01)
    assert a.duration_s == pytest.approx(1.2)
    inside = (f0.times_s > 0.3) & (f0.times_s < 0.9)
    assert np.mean(f0.voiced[inside]) > 0.9
    assert np.all(np.abs(f0.f0_hz[inside & f0.voiced] - 440.0) < 440.0 * (2 ** (0.5 / 12) - 1))
    silent = f0.times_s < 0.1
    assert not np.any(f0.voiced[silent])
    assert np.all(f0.f0_hz[silent] <= 0)  # unvoiced frames: negative guess (or 0)
    assert [n.pitch_midi for n in a.notes] == [69.0]
    assert a.notes[0].onset_s == pytest.approx(0.2, abs=0.06)
    assert a.notes[0].offset_s == pytest.approx(1.0, abs=0.06)


def test_pyin_confidence_is_voiced_probability(sr):
    f0 = pyin_baseline(_signal(sr), sr).f0
    assert np.all((f0.confidence >= 0) & (f0.confidence <= 1))
    assert f0.confidence[50] > 0.5 and f0.confidence[5] < 0.5


def test_pitch_range_checks(sr):
    with pytest.raises(ConfigError, match="fmax_hz=9000"):
        pyin_baseline(tone(440, 0.1), sr, PitchRangeConfig(fmin_hz=50.0, fmax_hz=9000.0))
    with pytest.raises(ConfigError, match="fmin"):
        pyin_baseline(tone(440, 0.1), sr, PitchRangeConfig(fmin_hz=500.0, fmax_hz=100.0))
    with pytest.raises(SampleRateError, match="-5"):
        yin_baseline(tone(440, 0.1), -5)
    assert frame_length_for(32.703, 16000) == 1024


def test_segment_notes_splits_on_pitch_jumps_and_drops_blips():
    f0 = np.concatenate([np.full(30, 220.0), np.full(5, -220.0), np.full(2, 330.0), np.full(30, 440.0)])
    track = F0Track(np.arange(f0.size) * 0.01, f0, np.ones(f0.size))
    notes = segment_notes(track, NoteSegmentationConfig(min_duration_s=0.06))
    assert [(n.pitch_midi, round(n.onset_s, 2), round(n.offset_s, 2)) for n in notes] == [
        (57.0, 0.0, 0.3), (69.0, 0.37, 0.67)]


def test_registry():
    assert set(BASELINES) == {"pitch", "chords", "drums", "onsets"}
    assert get_baseline("pitch", "yin") is yin_baseline
    with pytest.raises(EvaluationError, match="'crepe'.*pyin, yin"):
        get_baseline("pitch", "crepe")
