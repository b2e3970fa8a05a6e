import numpy as np
import pytest

from models.annotations.types import Annotation, ChordSegment, DrumHit
from models.baselines.chords_templates import chord_labels, chroma_templates_baseline
from models.baselines.drums_bands import band_onsets_baseline
from models.baselines.onsets_librosa import librosa_onset_baseline
from models.evaluation.metrics import chord_metrics, drum_metrics, onset_metrics


def test_click_train_onsets(sr):
    y = np.zeros(3 * sr, np.float32)
    times = np.arange(0.25, 2.8, 0.25)
    for t in times:
        i = int(t * sr)
        y[i:i + 40] = np.hanning(40)
    est = librosa_onset_baseline(y, sr)
    m = onset_metrics(Annotation(onsets=times), est)
    assert m["f1_50ms"] >= 0.95
    assert librosa_onset_baseline(np.zeros(sr, np.float32), sr).onsets.size == 0


def _triad(sr, root_midi, minor, dur_s=1.0):
    t = np.arange(int(dur_s * sr)) / sr
    y = np.zeros_like(t)
    for interval in (0, 3 if minor else 4, 7):
        f = 440.0 * 2 ** ((root_midi + interval - 69) / 12)
        y += np.sin(2 * np.pi * f * t) + 0.4 * np.sin(2 * np.pi * 2 * f * t)
    return (0.1 * y).astype(np.float32)


def test_triads_c_f_g_am(sr):
    y = np.concatenate([_triad(sr, 60, False), _triad(sr, 65, False), _triad(sr, 55, False), _triad(sr, 57, True),
                        np.zeros(sr, np.float32)])
    est = chroma_templates_baseline(y, sr)
    ref = Annotation(chords=(ChordSegment(0, 1, "C:maj"), ChordSegment(1, 2, "F:maj"), ChordSegment(2, 3, "G:maj"),
                             ChordSegment(3, 4, "A:min"), ChordSegment(4, 5, "N")))
    m = chord_metrics(ref, est)
    assert m["majmin"] >= 0.85
    assert [s.label for s in est.chords] == ["C:maj", "F:maj", "G:maj", "A:min", "N"]
    assert est.chords[0].start_s == 0.0 and est.chords[-1].end_s == pytest.approx(5.0)
    assert len(chord_labels()) == 25


def _drum_pattern(sr):
    rng = np.random.default_rng(0)
    y = np.zeros(int(2.2 * sr))

    def add(t_s, x):
        i = int(t_s * sr)
        y[i:i + x.size] += x[: y.size - i]

    n = int(0.2 * sr)
    t = np.arange(n) / sr
    kick = np.sin(2 * np.pi * np.cumsum(50 + 70 * np.exp(-t / 0.03)) / sr) * np.exp(-t / 0.06)
    noise = rng.standard_normal(n)
    spec = np.fft.rfft(noise)
    f = np.fft.rfftfreq(n, 1 / sr)
    snare_noise = np.fft.irfft(spec * ((f > 1000) & (f < 5000)), n)
    snare = (0.5 * np.sin(2 * np.pi * 190 * t) + 3 * snare_noise) * np.exp(-t / 0.05)
    hat_noise = np.fft.irfft(spec * (f > 6000), n)
    hat = 3 * hat_noise * np.exp(-t / 0.015)
    hits = []
    for beat in range(4):
        t0 = 0.1 + beat * 0.5
        add(t0, 0.8 * kick if beat % 2 == 0 else 0.6 * snare)
        hits.append(DrumHit(t0, "kick" if beat % 2 == 0 else "snare"))
        for half in (0.0, 0.25):
            add(t0 + half, 0.3 * hat)
            hits.append(DrumHit(t0 + half, "hihat"))
    return (y / np.abs(y).max() * 0.8).astype(np.float32), Annotation(drums=tuple(hits))


def test_band_onsets_finds_kick_snare_hat(sr):
    y, ref = _drum_pattern(sr)
    est = band_onsets_baseline(y, sr)
    m = drum_metrics(ref, est)
    assert m["kick_recall"] == 1.0 and m["snare_recall"] == 1.0 and m["hihat_recall"] == 1.0
    assert m["mean_f1_ksh"] >= 0.75
    assert {h.drum for h in est.drums} == {"kick", "snare", "hihat"}
    assert band_onsets_baseline(np.zeros(sr, np.float32), sr).drums == ()
