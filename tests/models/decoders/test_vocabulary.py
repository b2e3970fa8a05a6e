"""Pitch bins, chord classes, Harte label reduction and frame-array checks."""

from __future__ import annotations

import mir_eval.chord
import numpy as np
import pytest

from models.decoders.vocabulary import (
    FULL_QUALITIES,
    QUALITY_REDUCTION,
    ChordVocabulary,
    PitchBins,
    check_frames,
    parse_harte,
    reduce_quality,
)
from models.errors import AnnotationFormatError, ConfigError


# --- pitch bins ------------------------------------------------------------------------------------
def test_pitch_bins_grid():
    bins = PitchBins()
    assert bins.n_bins == 360
    assert bins.fmin_hz == pytest.approx(32.70319566, abs=1e-8)
    assert bins.fmin_midi == pytest.approx(24.0, abs=1e-12)
    assert bins.cents[:3].tolist() == [0.0, 20.0, 40.0]
    assert bins.cents[-1] == 7180.0
    assert bins.bin_to_hz(225) == pytest.approx(440.0, rel=1e-12)  # A4 = 45 semitones above C1 = 225 bins
    assert bins.fmax_hz == pytest.approx(1975.533 * 2 ** (80 / 1200), rel=1e-5)  # B6 + 80 cents


def test_pitch_bins_conversions_round_trip():
    bins = PitchBins()
    hz = np.array([32.70319566, 55.0, 261.6255653, 440.0, 1000.0])
    frac = bins.hz_to_bin(hz)
    assert np.allclose(bins.bin_to_hz(frac), hz, rtol=1e-12)
    assert frac[3] == pytest.approx(225.0, abs=1e-9)
    assert np.allclose(bins.midi_to_bin(bins.bin_to_midi(frac)), frac)
    assert bins.bin_to_midi(225) == pytest.approx(69.0)
    assert np.isnan(bins.hz_to_bin(0.0)) and np.isnan(bins.hz_to_bin(-440.0))
    assert bins.frequencies_hz.shape == (360,)


def test_pitch_bins_reject_bad_values():
    with pytest.raises(ConfigError, match="positive"):
        PitchBins(n_bins=0)


# --- chord vocabulary ------------------------------------------------------------------------------
def test_vocabulary_layout():
    full, majmin = ChordVocabulary(), ChordVocabulary.majmin()
    assert full.n_classes == 133 and full.no_chord_index == 132
    assert majmin.n_classes == 25
    assert majmin.labels[0] == "C:maj" and majmin.labels[13] == "Db:min" and majmin.labels[24] == "N"
    assert majmin.label_to_index("B:min") == 23
    assert full.label_to_index("D:7") == 2 * 12 + 2
    assert full.labels[-2] == "B:hdim7"


@pytest.mark.parametrize("vocabulary", [ChordVocabulary(), ChordVocabulary.majmin()], ids=["full", "majmin"])
def test_every_class_label_round_trips_and_mir_eval_agrees_on_roots(vocabulary):
    for index, label in enumerate(vocabulary.labels):
        assert vocabulary.label_to_index(label) == index, label
        assert vocabulary.index_to_label(index) == label
        root, bitmap, bass = mir_eval.chord.encode(label)
        if label == "N":
            assert root == -1
            continue
        assert root == index % 12, label
        assert bass == 0
        # mir_eval's pitch classes for the label reduce back to the class's quality
        assert reduce_quality(set(np.flatnonzero(bitmap).tolist())) == vocabulary.qualities[index // 12]


def test_reduction_table_covers_every_mir_eval_quality_and_matches_the_rules():
    named = {q for q in mir_eval.chord.QUALITIES if q}
    assert named <= set(QUALITY_REDUCTION)
    vocabulary = ChordVocabulary()
    for quality, target in QUALITY_REDUCTION.items():
        assert target in FULL_QUALITIES
        assert vocabulary.reduce_label(f"E:{quality}") == f"E:{target}", quality


@pytest.mark.parametrize(
    ("label", "full", "majmin"),
    [
        ("C:maj6/3", "C:maj", "C:maj"),
        ("Bb:min9", "Bb:min7", "Bb:min"),
        ("C:sus4(b7)", "C:sus4", "C:maj"),
        ("G:13", "G:7", "G:maj"),
        ("F:maj9", "F:maj7", "F:maj"),
        ("A:min11", "A:min7", "A:min"),
        ("C#:hdim7", "Db:hdim7", "Db:min"),
        ("C:dim(b7)", "C:hdim7", "C:min"),
        ("E:aug(b7)", "E:aug", "E:maj"),
        ("C:minmaj7", "C:min", "C:min"),
        ("C:maj/b7", "C:maj", "C:maj"),  # the bass is dropped, not added as a seventh
        ("G:7/3", "G:7", "G:maj"),
        ("C:9(*3)", "C:7", "C:maj"),
        ("D:5", "D:maj", "D:maj"),
        ("Cb:maj", "B:maj", "B:maj"),
        ("C:(1,b3,5)", "C:min", "C:min"),
        ("C", "C:maj", "C:maj"),
        ("X", "N", "N"),
        ("N", "N", "N"),
        (" A:min ", "A:min", "A:min"),
    ],
)
def test_label_reduction(label, full, majmin):
    assert ChordVocabulary().reduce_label(label) == full
    assert ChordVocabulary.majmin().reduce_label(label) == majmin


def test_labels_to_indices_vectorised():
    vocabulary = ChordVocabulary.majmin()
    assert vocabulary.labels_to_indices(["C:maj", "A:min7", "N", "C:maj"]).tolist() == [0, 21, 24, 0]


def test_bad_label_names_the_label_and_the_fix():
    with pytest.raises(AnnotationFormatError, match=r"'Cmaj7x'.*C:maj"):
        ChordVocabulary().label_to_index("Cmaj7x")
    with pytest.raises(AnnotationFormatError, match="H:min"):
        parse_harte("H:min")


def test_vocabulary_config_errors():
    with pytest.raises(ConfigError, match="add9"):
        ChordVocabulary(("maj", "min", "add9"))
    with pytest.raises(ConfigError, match="'maj' and 'min'"):
        ChordVocabulary(("maj", "7"))
    with pytest.raises(IndexError, match="25"):
        ChordVocabulary.majmin().index_to_label(25)


def test_quality_fallback_for_partial_vocabularies():
    vocabulary = ChordVocabulary(("maj", "min", "dim"))
    assert vocabulary.reduce_label("C:hdim7") == "C:dim"
    assert vocabulary.reduce_label("C:min7") == "C:min"
    assert vocabulary.reduce_label("C:aug") == "C:maj"


# --- frame arrays ----------------------------------------------------------------------------------
def test_check_frames():
    assert check_frames(np.arange(4.0), 1, "x").shape == (4, 1)
    with pytest.raises(ConfigError, match="3 outputs per frame but the decoder expects 2"):
        check_frames(np.zeros((5, 3)), 2, "chord posteriors")
    bad = np.zeros((5, 2))
    bad[3, 1] = np.nan
    with pytest.raises(ConfigError, match="NaN or infinity .*frame 3"):
        check_frames(bad, 2, "x")
    with pytest.raises(ConfigError, match=r"\(2, 2, 2\)"):
        check_frames(np.zeros((2, 2, 2)), None, "x")
