"""Frame targets from hand-made annotations."""

from __future__ import annotations

import numpy as np
import pytest

from models.annotations.types import Annotation, ChordSegment, DrumHit, F0Track, Note
from models.decoders.vocabulary import ChordVocabulary, PitchBins
from models.errors import ConfigError
from models.training.targets import (PitchTargetRows, chord_targets, drum_targets, hidden_onsets, note_start_frames,
                                     onset_targets, pitch_target_rows, pitch_targets, spectral_change, task_targets)

BINS = PitchBins()


def _a4_track(n: int = 10, voiced_from: int = 3) -> F0Track:
    f0 = np.where(np.arange(n) >= voiced_from, 440.0, 0.0)
    return F0Track(np.arange(n) * 0.01, f0, np.ones(n))


def test_pitch_targets_gaussian_on_true_bin_and_voicing():
    targets, mask = pitch_targets(Annotation(f0=_a4_track()), 10)
    assert targets.shape == (10, 361) and targets.dtype == np.float32
    a4_bin = int(round(BINS.hz_to_bin(440.0)))  # 45 semitones above C1 = bin 225
    assert a4_bin == 225
    assert np.all(targets[:3] == 0.0)
    np.testing.assert_array_equal(targets[:, -1], [0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    row = targets[5, :-1]
    assert int(np.argmax(row)) == 225 and row[225] == pytest.approx(1.0)
    # one bin = 20 cents away with std 25 cents
    assert row[224] == pytest.approx(np.exp(-0.5 * (20 / 25) ** 2), rel=1e-5)
    assert row[226] == pytest.approx(row[224], rel=1e-5)
    assert row[215] < 1e-6
    assert np.all(mask == 1.0)


def test_pitch_targets_between_bins_and_std():
    hz = 440.0 * 2 ** (10 / 1200)  # 10 cents above A4: half-way between bins 225 and 226
    track = F0Track(np.arange(3) * 0.01, np.full(3, hz), np.ones(3))
    targets, _ = pitch_targets(Annotation(f0=track), 3, std_cents=50.0)
    row = targets[1, :-1]
    assert row[225] == pytest.approx(row[226], rel=1e-5)
    assert row[225] == pytest.approx(np.exp(-0.5 * (10 / 50) ** 2), rel=1e-5)


def test_pitch_targets_from_notes_and_past_the_track():
    ann = Annotation(notes=(Note(0.05, 0.1, 69.0),))
    targets, mask = pitch_targets(ann, 12)
    np.testing.assert_array_equal(np.flatnonzero(targets[:, -1]), [5, 6, 7, 8, 9])
    assert int(np.argmax(targets[7, :-1])) == 225
    assert np.all(mask == 1.0)
    # an f0 track shorter than the audio: frames past its end are unknown (mask 0), not unvoiced
    _, mask = pitch_targets(Annotation(f0=_a4_track(n=10)), 15)
    np.testing.assert_array_equal(mask[:, 1], [1] * 10 + [0] * 5)


def test_pitch_targets_out_of_range_f0_is_voiced_but_masked():
    track = F0Track(np.arange(3) * 0.01, np.full(3, 20.0), np.ones(3))  # below C1
    targets, mask = pitch_targets(Annotation(f0=track), 3)
    assert np.all(targets[:, :-1] == 0.0) and np.all(targets[:, -1] == 1.0)
    np.testing.assert_array_equal(mask[:, 0], [0, 0, 0])
    np.testing.assert_array_equal(mask[:, 1], [1, 1, 1])


def test_pitch_targets_interpolate_a_coarser_track_in_cents():
    track = F0Track(np.array([0.0, 0.02]), np.array([440.0, 880.0]), np.ones(2))
    targets, _ = pitch_targets(Annotation(f0=track), 3)
    # frame 1 lies half-way: 600 cents above A4 = 30 bins above 225
    assert int(np.argmax(targets[1, :-1])) == 255


def test_pitch_std_must_be_positive():
    with pytest.raises(ConfigError, match="std_cents"):
        pitch_targets(Annotation(f0=_a4_track()), 10, std_cents=0.0)


def test_chord_targets_frame_centres_and_unlabelled_frames():
    voc = ChordVocabulary()
    ann = Annotation(chords=(ChordSegment(0.0, 0.05, "C:maj"), ChordSegment(0.05, 0.1, "A:min7"),
                             ChordSegment(0.1, 0.12, "N")))
    classes, mask = chord_targets(ann, 15)
    assert classes.dtype == np.int64
    c, am7, n = voc.label_to_index("C:maj"), voc.label_to_index("A:min7"), voc.no_chord_index
    np.testing.assert_array_equal(classes, [c] * 5 + [am7] * 5 + [n] * 2 + [-1] * 3)
    np.testing.assert_array_equal(mask, [1] * 12 + [0] * 3)
    assert n == 132 and voc.n_classes == 133


def test_drum_targets_widening_per_class():
    ann = Annotation(drums=(DrumHit(0.1, "kick"), DrumHit(0.104, "snare"), DrumHit(0.126, "kick"),
                            DrumHit(0.0, "hihat")))
    targets, mask = drum_targets(ann, 20)
    assert targets.shape == (20, 6) and mask.shape == (20, 6) and np.all(mask == 1)
    np.testing.assert_array_equal(targets[8:15, 0], [0, 0.5, 1, 0.5, 0.5, 1, 0.5])
    np.testing.assert_array_equal(np.flatnonzero(targets[:, 1]), [9, 10, 11])
    assert targets[10, 1] == 1.0
    np.testing.assert_array_equal(targets[:3, 2], [1.0, 0.5, 0.0])
    assert np.all(targets[:, 3:] == 0)


def test_adjacent_hits_keep_the_full_value():
    targets, _ = onset_targets(Annotation(onsets=np.array([0.05, 0.06])), 10)
    np.testing.assert_array_equal(targets[:, 0], [0, 0, 0, 0, 0.5, 1, 1, 0.5, 0, 0])


def test_onset_targets_ignore_events_past_the_end():
    targets, mask = onset_targets(Annotation(onsets=np.array([0.0, 0.2])), 10)
    assert targets.shape == (10, 1)
    np.testing.assert_array_equal(targets[:, 0], [1, 0.5, 0, 0, 0, 0, 0, 0, 0, 0])


def test_spectral_change_is_the_new_energy_of_the_next_50_ms_over_the_last_30():
    f = np.zeros((20, 3), dtype=np.float32)
    f[10:, 0] = 2.0  # bin 0 rises at frame 10 and stays
    f[12, 1] = 1.0  # bin 1: a one-frame blip
    f[:, 2] = np.linspace(3.0, 1.0, 20)  # bin 2 decays: never adds
    change = spectral_change(f)
    assert change.shape == (20,)
    # frames 5..10 see bin 0's rise within t..t+5; frames 7..12 see bin 1's blip; the pre window of 11+ has bin 0 up
    expected = np.zeros(20)
    expected[5:11] += 2.0
    expected[7:13] += 1.0
    expected[0] += 3.0  # before the file counts as silence, so frame 0 brings bin 2's level (bins 0/1 are 0)
    np.testing.assert_allclose(change, expected, atol=1e-6)
    assert spectral_change(np.zeros((0, 3))).shape == (0,)


def _textured_features(n: int = 400, every: int = 10, seed: int = 0) -> np.ndarray:
    """Decaying features struck (every bin up by 1) every ``every`` frames: onset-free frames change often."""
    rng = np.random.default_rng(seed)
    f = np.zeros((n, 8), dtype=np.float32)
    level = np.zeros(8)
    for t in range(n):
        level = level * 0.8 + (1.0 if t % every == 0 else 0.0) * rng.uniform(0.5, 1.0, 8)
        f[t] = level
    return f


def test_hidden_onsets_are_those_no_clearer_than_the_rest_of_the_file():
    f = _textured_features()
    f[200:, 0] += 5.0  # a loud new partial at frame 200: visible
    onsets = np.array([200, 207, 305])  # 207 and 305 bring no more than the strikes between onsets do
    hidden = hidden_onsets(f, onsets)
    np.testing.assert_array_equal(hidden, [False, True, True])
    # too few onset-free frames to judge by: nothing is hidden
    dense = np.arange(0, 400, 10)
    assert not hidden_onsets(f, dense).any()
    assert hidden_onsets(f, np.zeros(0, dtype=np.int64)).shape == (0,)
    # onsets past the end of the features are never hidden (nothing to measure)
    np.testing.assert_array_equal(hidden_onsets(f, np.array([207, 900])), [True, False])


def test_onset_targets_leave_out_hidden_onsets_and_mask_their_window():
    f = _textured_features()
    f[200:, 0] += 5.0
    annotation = Annotation(onsets=np.array([2.0, 2.07, 3.05]))
    plain, plain_mask = onset_targets(annotation, 400)
    targets, mask = onset_targets(annotation, 400, features=f)
    assert np.all(plain_mask == 1) and plain[207, 0] == 1 and plain[305, 0] == 1
    assert targets[200, 0] == 1 and targets[207, 0] == 0 and targets[305, 0] == 0
    np.testing.assert_array_equal(np.flatnonzero(mask[:, 0] == 0), [*range(206, 213), *range(304, 311)])
    np.testing.assert_array_equal(targets[mask[:, 0] > 0], plain[mask[:, 0] > 0])  # elsewhere unchanged
    via_task = task_targets("onsets", annotation, 400, onset_features=f)
    np.testing.assert_array_equal(via_task[0], targets)
    np.testing.assert_array_equal(via_task[1], mask)
    with pytest.raises(ConfigError, match="features have 10 frames, expected 400"):
        onset_targets(annotation, 400, features=f[:10])
    with pytest.raises(ConfigError, match="onsets task only"):
        task_targets("drums", Annotation(drums=()), 400, onset_features=f)


def test_lazy_pitch_targets_equal_the_dense_array_for_every_index_form():
    rng = np.random.default_rng(0)
    n = 300
    f0 = np.where(rng.random(n) < 0.7, 440.0 * 2.0 ** rng.uniform(-4.0, 3.0, n), 0.0)
    f0[:5] = 20.0  # voiced below the lowest bin: no salience target, still voiced
    track = F0Track(np.arange(n - 20) * 0.01, f0[: n - 20], np.ones(n - 20))  # known only while the track runs
    dense, mask = pitch_targets(Annotation(f0=track), n, std_cents=30.0)
    rows, lazy_mask = pitch_target_rows(Annotation(f0=track), n, std_cents=30.0)
    assert isinstance(rows, PitchTargetRows) and rows.shape == dense.shape and rows.dtype == np.float32
    assert len(rows) == n and rows.ndim == 2
    np.testing.assert_array_equal(lazy_mask, mask)
    np.testing.assert_array_equal(np.asarray(rows), dense)
    for key in (slice(10, 50), slice(None), slice(280, 400), 7, -1, (slice(3, 9), -1), (12, slice(None, -1)),
                np.array([4, 2, 250]), (slice(0, 30, 3), slice(100, 120))):
        np.testing.assert_array_equal(rows[key], dense[key])
    assert np.all(dense[:5, :-1] == 0) and np.all(dense[:5, -1] == 1)
    assert rows.nbytes * 100 < dense.nbytes  # what the lazy form is for
    lazy, _ = task_targets("pitch", Annotation(f0=track), n, lazy=True)
    assert isinstance(lazy, PitchTargetRows)
    assert isinstance(task_targets("pitch", Annotation(f0=track), n)[0], np.ndarray)


def test_note_start_frames_mark_the_first_100_ms_of_each_note():
    f0 = np.zeros(60)
    f0[2:30] = 440.0  # a note from frame 2
    f0[30:45] = 440.0 * 2 ** (1 / 12)  # legato to the next semitone: a new note at frame 30
    f0[45:50] = 440.0 * 2 ** (1.2 / 12)  # a 20-cent bend: the same note
    f0[52:55] = 220.0  # after a gap: a new note, shorter than 10 frames
    expected = np.zeros(60, dtype=bool)
    expected[2:12] = expected[30:40] = expected[52:55] = True
    np.testing.assert_array_equal(note_start_frames(f0), expected)
    assert note_start_frames(np.zeros(0)).shape == (0,)


def test_note_start_weight_scales_the_mask_there_and_nowhere_else():
    notes = [Note(0.05, 0.5, 69), Note(0.5, 0.9, 72)]
    ann = Annotation(notes=notes)
    targets, mask = pitch_targets(ann, 100)
    weighted_targets, weighted = pitch_targets(ann, 100, note_start_weight=3.0)
    np.testing.assert_array_equal(weighted_targets, targets)
    starts = np.zeros(100, dtype=bool)
    starts[5:15] = starts[50:60] = True
    np.testing.assert_array_equal(weighted[starts], 3.0 * mask[starts])
    np.testing.assert_array_equal(weighted[~starts], mask[~starts])
    with pytest.raises(ConfigError, match="note_start_weight"):
        pitch_targets(ann, 100, note_start_weight=0.0)


def test_task_targets_unknown_task():
    with pytest.raises(ConfigError, match="beats"):
        task_targets("beats", Annotation(), 3)
