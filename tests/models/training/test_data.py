"""Feature cache, exact gain augmentation, reproducible excerpts, transposition."""

from __future__ import annotations

import os

import numpy as np
import pytest

from models.audio import write_audio
from models.decoders.vocabulary import ChordVocabulary
from models.errors import DatasetError
from models.frontend import FrontEnd, FrontEndConfig
from models.training.data import TrainExcerpts, apply_gain, cached_features, feature_cache_key, load_task_files


def _sine(tmp_path, name="a.wav", hz=440.0, seconds=1.0):
    t = np.arange(int(16000 * seconds)) / 16000
    path = tmp_path / name
    write_audio(path, (0.25 * np.sin(2 * np.pi * hz * t)).astype(np.float32), 16000)
    return path


def test_cache_builds_once_and_follows_the_file(tmp_path):
    audio = _sine(tmp_path)
    cache = tmp_path / "cache"
    first = cached_features(audio, cache)
    assert first.shape == (100, 288) and first.dtype == np.float32
    assert isinstance(first, np.memmap)
    assert len(list(cache.glob("*.npy"))) == 1
    again = cached_features(audio, cache)
    np.testing.assert_array_equal(first, again)
    assert len(list(cache.glob("*.npy"))) == 1
    # a changed file (new mtime) gets a new key; another front-end config too
    key = feature_cache_key(audio, FrontEndConfig())
    os.utime(audio, ns=(1, 1))
    assert feature_cache_key(audio, FrontEndConfig()) != key
    assert feature_cache_key(audio, FrontEndConfig(log_gain=10.0)) != feature_cache_key(audio, FrontEndConfig())


def test_cached_features_equal_the_runtime_front_end(tmp_path):
    audio_path = _sine(tmp_path)
    from models.audio import load_audio

    expected = FrontEnd().compute(load_audio(audio_path, 16000))
    np.testing.assert_array_equal(cached_features(audio_path, tmp_path / "c"), expected)


@pytest.mark.parametrize("gain_db", [-12.0, 6.0])
def test_gain_on_features_equals_gain_on_audio(tmp_path, gain_db):
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal(8000)).astype(np.float64)
    f = FrontEnd().compute(audio)
    expected = FrontEnd().compute(audio * 10 ** (gain_db / 20))
    got = apply_gain(f, gain_db)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert np.max(np.abs(got - f)) > 0.1  # it did change something
    np.testing.assert_array_equal(apply_gain(f, 0.0), f)


def test_load_task_files_and_excerpts(tmp_path, dataset_factory):
    root = dataset_factory("onsets", n_train=2, n_valid=1)
    files = load_task_files(root / "train", "onsets", tmp_path / "cache")
    assert [f.stem for f in files] == ["clicks0", "clicks1"]
    assert files[0].features.shape == (300, 288) and files[0].targets.shape == (300, 1)
    ds = TrainExcerpts(files, task="onsets", excerpt_frames=128, seed=3, gain_db_range=(-6.0, 6.0))
    assert len(ds) == 5  # ceil(600 / 128)
    x, y, m = ds[0]
    assert x.shape == (128, 288) and y.shape == (128, 1) and m.shape == (128, 1)
    ds.set_epoch(1)
    x1, _, _ = ds[0]
    ds.set_epoch(0)
    x0, _, _ = ds[0]
    np.testing.assert_array_equal(x0, x)  # same (seed, epoch, index) -> same excerpt
    assert not np.array_equal(x1, x)


def test_load_task_files_can_leave_out_hidden_onsets(tmp_path, dataset_factory):
    """A label where the audio is silent is a hidden onset: no target, mask 0 around it; the clicks stay."""
    from models.annotations.csv_io import load_onsets_csv, write_onsets_csv

    root = dataset_factory("onsets", n_train=1, n_valid=1)
    labels = root / "train" / "clicks0.onsets.csv"
    clicks = load_onsets_csv(labels)
    gaps = np.diff(np.concatenate([[0.0], clicks, [3.0]]))
    k = int(np.argmax(gaps))
    silent = round(float(np.concatenate([[0.0], clicks])[k] + gaps[k] / 2), 2)  # middle of the longest gap
    assert gaps[k] > 0.3
    write_onsets_csv(labels, np.sort(np.append(clicks, silent)), overwrite=True)
    plain = load_task_files(root / "train", "onsets", tmp_path / "cache")[0]
    left_out = load_task_files(root / "train", "onsets", tmp_path / "cache", ignore_hidden_onsets=True)[0]
    f = int(round(silent * 100))
    assert plain.targets[f, 0] == 1 and np.all(plain.mask == 1)
    assert left_out.targets[f, 0] == 0
    np.testing.assert_array_equal(np.flatnonzero(left_out.mask[:, 0] == 0), np.arange(f - 1, f + 6))
    for t in np.rint(clicks * 100).astype(int):
        assert left_out.targets[t, 0] == 1 and left_out.mask[t, 0] == 1


def test_short_files_are_padded_with_mask_zero(tmp_path, dataset_factory):
    root = dataset_factory("chords", n_train=1, n_valid=1)
    files = load_task_files(root / "train", "chords", tmp_path / "cache")
    assert files[0].n_frames == 240
    ds = TrainExcerpts(files, task="chords", excerpt_frames=300, seed=0)
    x, y, m = ds[0]
    assert x.shape == (300, 288) and y.dtype == np.int64
    assert np.all(y[240:] == -1) and np.all(m[240:] == 0) and np.all(m[:240] == 1)
    assert np.all(x[240:] == 0)


def test_pitch_transposition_moves_features_and_targets_together(tmp_path, dataset_factory):
    root = dataset_factory("pitch", n_train=1, n_valid=1)
    files = load_task_files(root / "train", "pitch", tmp_path / "cache")
    f = files[0]
    ds = TrainExcerpts(files, task="pitch", excerpt_frames=f.n_frames, seed=0, transpose_semitones=2)
    for index in range(40):
        x, y, m = ds[index]
        frame = 20  # inside the first note
        plain_peak = int(np.argmax(f.targets[frame, :-1]))
        shift_bins = int(np.argmax(y[frame, :-1])) - plain_peak
        assert shift_bins % 5 == 0 and abs(shift_bins) <= 10
        semis = shift_bins // 5
        if semis:
            feat_plain = np.asarray(f.features[frame])
            np.testing.assert_array_equal(x[frame, 3 * semis + 20:200], feat_plain[20:200 - 3 * semis]) if semis > 0 \
                else np.testing.assert_array_equal(x[frame, 20:200], feat_plain[20 - 3 * semis:200 - 3 * semis])
            assert y[frame, -1] == 1.0
            return
    pytest.fail("no transposed excerpt in 40 draws")


def test_pitch_excerpts_from_lazy_targets_equal_those_from_the_dense_array(tmp_path, dataset_factory):
    import dataclasses

    from models.training.targets import PitchTargetRows

    root = dataset_factory("pitch", n_train=2, n_valid=1)
    files = load_task_files(root / "train", "pitch", tmp_path / "cache")
    assert all(isinstance(f.targets, PitchTargetRows) for f in files)
    dense = [dataclasses.replace(f, targets=np.asarray(f.targets)) for f in files]
    options = dict(task="pitch", excerpt_frames=120, seed=3, gain_db_range=(-6.0, 3.0), transpose_semitones=2)
    lazy_ds, dense_ds = TrainExcerpts(files, **options), TrainExcerpts(dense, **options)
    for index in range(12):
        for a, b in zip(lazy_ds[index], dense_ds[index]):
            np.testing.assert_array_equal(a, b)


def test_chord_transposition_rotates_roots_with_the_features(tmp_path, dataset_factory):
    root = dataset_factory("chords", n_train=1, n_valid=1)
    files = load_task_files(root / "train", "chords", tmp_path / "cache")
    f = files[0]
    vocab = ChordVocabulary()
    ds = TrainExcerpts(files, task="chords", excerpt_frames=f.n_frames, seed=0, transpose_semitones=5)
    seen = set()
    for index in range(30):
        x, y, m = ds[index]
        labelled = f.targets >= 0
        np.testing.assert_array_equal(y < 0, ~labelled)  # unlabelled frames stay unlabelled
        np.testing.assert_array_equal(m, f.mask)
        plain, moved = f.targets[labelled], y[labelled]
        is_n = plain == vocab.no_chord_index
        np.testing.assert_array_equal(moved[is_n], plain[is_n])  # N stays N
        np.testing.assert_array_equal(moved // 12, plain // 12)  # the quality is kept
        semis = {int(s) for s in (moved[~is_n] % 12 - plain[~is_n] % 12) % 12}
        assert len(semis) == 1  # one shift for the whole excerpt
        s = semis.pop()
        seen.add(s)
        signed = s if s <= 5 else s - 12
        frame = 30
        feat_plain = np.asarray(f.features[frame])
        if signed > 0:
            np.testing.assert_array_equal(x[frame, 3 * signed:], feat_plain[:-3 * signed])
        elif signed < 0:
            np.testing.assert_array_equal(x[frame, :3 * signed], feat_plain[-3 * signed:])
        else:
            np.testing.assert_array_equal(x[frame], feat_plain)
    assert len(seen) >= 5  # shifts are drawn at random over the range


def test_missing_labels_are_all_listed(tmp_path, dataset_factory):
    root = dataset_factory("onsets", n_train=2, n_valid=1)
    for p in (root / "train").glob("*.onsets.csv"):
        p.unlink()
    with pytest.raises(DatasetError) as info:
        load_task_files(root / "train", "onsets", tmp_path / "cache")
    assert len(info.value.problems) == 2
    assert "clicks0" in " ".join(info.value.problems) and "clicks1" in " ".join(info.value.problems)
