"""Listening-free checks that the rendered audio agrees with its labels."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import soundfile as sf

from models.annotations.csv_io import load_drums_csv, load_f0_csv, load_notes_csv, load_onsets_csv
from models.corpus.config import CorpusConfig
from models.corpus.render import render_corpus

pytestmark = pytest.mark.needs_fluidsynth


def _items(tmp_path, font, task, minutes, seed=0):
    out = tmp_path / task
    manifest = render_corpus(CorpusConfig(task=task, minutes=minutes, seed=seed, soundfonts=(font,)), out,
                             progress=False)
    return [(out / i["split"] / i["stem"], i) for i in manifest["items"]]


def test_pitch_of_rendered_notes_matches_labels(tmp_path, font):
    checked = agree = 0
    for base, item in _items(tmp_path, font, "pitch", 1.5, seed=2):
        audio, sr = sf.read(f"{base}.flac", dtype="float32")
        notes = load_notes_csv(f"{base}.notes.csv")
        f0_label = load_f0_csv(f"{base}.f0.csv")
        lo = min(n.pitch_midi for n in notes) - 3
        hi = max(n.pitch_midi for n in notes) + 3
        hop = 160
        f0, voiced, _ = librosa.pyin(audio, fmin=librosa.midi_to_hz(lo), fmax=librosa.midi_to_hz(hi), sr=sr,
                                     frame_length=2048, hop_length=hop, center=True)
        times = np.arange(f0.size) * hop / sr
        for n in notes:
            if n.offset_s - n.onset_s < 0.25:
                continue
            inside = (times >= n.onset_s + 0.06) & (times < n.offset_s - 0.03) & np.isfinite(f0)
            lab = (f0_label.times_s >= n.onset_s + 0.06) & (f0_label.times_s < n.offset_s - 0.03) & (f0_label.f0_hz > 0)
            if inside.sum() < 5 or lab.sum() < 5:
                continue
            checked += 1
            est = np.median(librosa.hz_to_midi(f0[inside]))
            ref = np.median(librosa.hz_to_midi(f0_label.f0_hz[lab]))
            agree += abs(est - ref) * 100 <= 50
    assert checked >= 20
    assert agree / checked >= 0.9, f"{agree} of {checked} notes within 50 cents"


def _onset_strength(audio, sr):
    env = librosa.onset.onset_strength(y=audio, sr=sr, hop_length=160)
    return env, np.arange(env.size) * 160 / sr


def test_onset_strength_peaks_at_labelled_onsets(tmp_path, font):
    rng = np.random.default_rng(0)
    at_labels, at_random = [], []
    for base, _ in _items(tmp_path, font, "onsets", 1.5, seed=4):
        audio, sr = sf.read(f"{base}.flac", dtype="float32")
        env, times = _onset_strength(audio, sr)
        onsets = load_onsets_csv(f"{base}.onsets.csv")
        for t in onsets:
            k = np.searchsorted(times, t)
            at_labels.append(env[max(0, k - 2): k + 4].max())  # within -20..+40 ms
        for t in rng.uniform(0, times[-1], size=len(onsets)):
            k = np.searchsorted(times, t)
            at_random.append(env[max(0, k - 2): k + 4].max())
    assert len(at_labels) >= 50
    assert np.median(at_labels) > 1.5 * np.median(at_random)


def test_drum_hits_carry_energy(tmp_path, font):
    ratios = []
    for base, _ in _items(tmp_path, font, "drums", 1.0, seed=1):
        audio, sr = sf.read(f"{base}.flac", dtype="float32")
        hits = load_drums_csv(f"{base}.drums.csv")
        assert hits
        assert {h.drum for h in hits} <= {"kick", "snare", "hihat", "tom", "crash", "ride"}
        for h in hits:
            i = int(round(h.time_s * sr))
            before = audio[max(0, i - int(0.03 * sr)): i]
            after = audio[i: i + int(0.03 * sr)]
            if before.size and after.size:
                ratios.append(np.sqrt(np.mean(after ** 2)) / (np.sqrt(np.mean(before ** 2)) + 1e-9))
    assert len(ratios) >= 30
    assert np.median(ratios) > 2.0


def test_chord_labels_match_the_chroma_of_the_audio(tmp_path, font):
    from models.annotations.lab import load_lab
    from models.corpus.harte import QUALITIES, root_to_pitch_class

    best_shifts = []
    for base, _ in _items(tmp_path, font, "chords", 1.0, seed=6):
        audio, sr = sf.read(f"{base}.flac", dtype="float32")
        chroma = librosa.feature.chroma_cqt(y=audio, sr=sr, hop_length=512)
        times = librosa.frames_to_time(np.arange(chroma.shape[1]), sr=sr, hop_length=512)
        for seg in load_lab(f"{base}.chords.lab"):
            if seg.label == "N" or seg.end_s - seg.start_s < 0.8:
                continue
            root, quality = seg.label.split(":")
            template = np.zeros(12)
            template[[(root_to_pitch_class(root) + i) % 12 for i in QUALITIES[quality.split("/")[0]]]] = 1
            c = chroma[:, (times >= seg.start_s + 0.1) & (times < seg.end_s)].mean(axis=1)
            best_shifts.append(int(np.argmax([np.roll(template, k) @ c for k in range(12)])))
    assert len(best_shifts) >= 15
    # the labelled root fits the audio better than any transposition of it, for most chords
    assert best_shifts.count(0) / len(best_shifts) >= 0.8
