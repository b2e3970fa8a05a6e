import numpy as np
import pytest

from models.annotations.types import Annotation, ChordSegment, DrumHit, F0Track, Note
from models.errors import EvaluationError
from models.evaluation.metrics import chord_metrics, drum_metrics, metrics_for, onset_metrics, pitch_metrics


def _track(f0_hz, hop_s=0.01):
    f0 = np.asarray(f0_hz, dtype=float)
    return F0Track(np.arange(f0.size) * hop_s, f0, np.ones(f0.size))


def test_pitch_perfect_estimate_scores_one():
    f0 = [0, 0, 220, 220, 220, 440, 440, 0, 0, 0]
    ref = Annotation(f0=_track(f0))
    m = pitch_metrics(ref, Annotation(f0=_track(f0)))
    assert m["rpa"] == 1.0 and m["rca"] == 1.0 and m["oa"] == 1.0
    assert m["voicing_recall"] == 1.0 and m["voicing_false_alarm"] == 0.0
    assert m["n_ref_frames"] == 10 and m["n_voiced_ref_frames"] == 5 and m["n_unvoiced_ref_frames"] == 5


def test_pitch_negative_f0_is_unvoiced_guess():
    ref = Annotation(f0=_track([220, 220, 220, 220, 0, 0]))
    # all pitch guesses right, but two voiced frames marked unvoiced (negative) and one false alarm
    est = Annotation(f0=_track([220, 220, -220, -220, 300, 0]))
    m = pitch_metrics(ref, est)
    assert m["rpa"] == 1.0  # RPA counts the guesses of unvoiced frames
    assert m["voicing_recall"] == 0.5
    assert m["voicing_false_alarm"] == 0.5
    assert m["oa"] == pytest.approx(3 / 6)  # 2 voiced right + 1 unvoiced right


def test_pitch_octave_error_counts_for_chroma_only():
    ref = Annotation(f0=_track([220.0] * 4))
    m = pitch_metrics(ref, Annotation(f0=_track([440.0] * 4)))
    assert m["rpa"] == 0.0 and m["rca"] == 1.0
    assert "voicing_false_alarm" not in m  # no unvoiced reference frame: undefined, absent


def test_pitch_estimate_resampled_to_reference_times():
    ref = Annotation(f0=_track([440.0] * 10, hop_s=0.01))
    est = Annotation(f0=_track([440.0] * 20, hop_s=0.005))
    assert pitch_metrics(ref, est)["rpa"] == 1.0


def test_pitch_missing_side_leaves_keys_out():
    ref = Annotation(f0=_track([440.0] * 4), notes=(Note(0.0, 0.5, 69),))
    assert pitch_metrics(ref, Annotation(notes=(Note(0.0, 0.5, 69),))).keys() == {
        "note_f1", "note_precision", "note_recall", "note_tp", "note_n_ref", "note_n_est"}
    assert set(pitch_metrics(ref, Annotation(f0=_track([440.0] * 4)))) >= {"rpa", "oa"}
    assert "note_f1" not in pitch_metrics(ref, Annotation(f0=_track([440.0] * 4)))
    no_notes = pitch_metrics(ref, Annotation(notes=()))
    assert no_notes == {"note_f1": 0.0, "note_precision": 0.0, "note_recall": 0.0, "note_tp": 0.0,
                        "note_n_ref": 1.0, "note_n_est": 0.0}


def test_notes_onset_60ms_late_misses_at_50ms():
    ref = Annotation(notes=(Note(0.5, 1.0, 60), Note(1.5, 2.0, 64)))
    est = Annotation(notes=(Note(0.56, 1.0, 60), Note(1.52, 1.7, 64)))  # offsets ignored
    m = pitch_metrics(ref, est)
    assert m["note_tp"] == 1 and m["note_precision"] == 0.5 and m["note_recall"] == 0.5
    assert m["note_f1"] == 0.5
    perfect = pitch_metrics(ref, ref)
    assert perfect["note_f1"] == 1.0


def test_notes_wrong_pitch_does_not_match():
    ref = Annotation(notes=(Note(0.5, 1.0, 60),))
    assert pitch_metrics(ref, Annotation(notes=(Note(0.5, 1.0, 61),)))["note_f1"] == 0.0


def test_chords_maj_vs_maj7():
    ref = Annotation(chords=(ChordSegment(0.0, 2.0, "C:maj"),))
    est = Annotation(chords=(ChordSegment(0.0, 2.0, "C:maj7"),))
    m = chord_metrics(ref, est)
    assert m["root"] == 1.0 and m["majmin"] == 1.0 and m["thirds"] == 1.0
    assert m["sevenths"] == 0.0
    assert m["duration_s"] == 2.0


def test_chords_duration_weighted_and_clipped_to_reference_span():
    ref = Annotation(chords=(ChordSegment(0.0, 1.0, "C:maj"), ChordSegment(1.0, 4.0, "A:min")))
    # estimate runs past the end and gets the first second wrong
    est = Annotation(chords=(ChordSegment(0.0, 1.0, "G:maj"), ChordSegment(1.0, 9.0, "A:min")))
    m = chord_metrics(ref, est)
    assert m["majmin"] == pytest.approx(0.75)
    assert m["root"] == pytest.approx(0.75)
    assert chord_metrics(ref, ref)["mirex"] == 1.0


def test_chords_empty_estimate_is_no_chord():
    ref = Annotation(chords=(ChordSegment(0.0, 1.0, "C:maj"), ChordSegment(1.0, 2.0, "N")))
    m = chord_metrics(ref, Annotation(chords=()))
    assert m["majmin"] == pytest.approx(0.5)  # N vs N scores on majmin


def test_chords_bad_label_names_it():
    ref = Annotation(chords=(ChordSegment(0.0, 1.0, "C:maj"),))
    with pytest.raises(EvaluationError, match="Cmajor|invalid chord"):
        chord_metrics(ref, Annotation(chords=(ChordSegment(0.0, 1.0, "C:notachord"),)))


def test_drums_per_class_and_means():
    ref = Annotation(drums=(DrumHit(0.0, "kick"), DrumHit(0.5, "snare"), DrumHit(1.0, "kick"), DrumHit(0.25, "hihat")))
    est = Annotation(drums=(DrumHit(0.01, "kick"), DrumHit(1.06, "kick"), DrumHit(0.5, "snare"), DrumHit(0.25, "snare")))
    m = drum_metrics(ref, est)
    assert m["kick_f1"] == 0.5 and m["kick_tp"] == 1
    assert m["snare_precision"] == 0.5 and m["snare_recall"] == 1.0
    assert m["hihat_f1"] == 0.0 and m["hihat_n_est"] == 0
    assert m["mean_f1_ksh"] == pytest.approx((0.5 + 2 / 3 + 0.0) / 3)
    assert m["mean_f1_ref"] == pytest.approx(m["mean_f1_ksh"])
    assert m["tp"] == 2 and m["f1"] == pytest.approx(2 * 2 / 8)
    assert drum_metrics(ref, ref)["mean_f1_ksh"] == 1.0


def test_onsets_windows():
    ref = Annotation(onsets=np.array([0.5, 1.0, 1.5]))
    est = Annotation(onsets=np.array([0.5, 1.03, 1.56, 2.0]))
    m = onset_metrics(ref, est)
    assert m["tp_50ms"] == 2 and m["tp_25ms"] == 1
    assert m["precision_50ms"] == 0.5 and m["recall_50ms"] == pytest.approx(2 / 3)
    assert m["f1_25ms"] == pytest.approx(2 / 7)
    assert onset_metrics(ref, ref)["f1_50ms"] == 1.0
    assert onset_metrics(ref, Annotation(onsets=np.zeros(0)))["f1_50ms"] == 0.0


def test_metrics_for_unknown_task():
    with pytest.raises(EvaluationError, match="beats"):
        metrics_for("beats", Annotation(), Annotation())
