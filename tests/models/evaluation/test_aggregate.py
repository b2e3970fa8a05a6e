import pytest

from models.evaluation.aggregate import aggregate, bootstrap_interval, is_count_key


def test_pitch_frames_weighted_by_their_frame_counts():
    a = {"rpa": 1.0, "oa": 1.0, "voicing_false_alarm": 0.0, "n_ref_frames": 100.0, "n_voiced_ref_frames": 90.0,
         "n_unvoiced_ref_frames": 10.0}
    b = {"rpa": 0.0, "oa": 0.5, "voicing_false_alarm": 1.0, "n_ref_frames": 20.0, "n_voiced_ref_frames": 10.0,
         "n_unvoiced_ref_frames": 10.0}
    t = aggregate("pitch", [a, b])
    assert t["rpa"] == pytest.approx(0.9)
    assert t["oa"] == pytest.approx((100 + 10) / 120)
    assert t["voicing_false_alarm"] == pytest.approx(0.5)
    assert t["file_mean_rpa"] == 0.5
    assert t["n_files"] == 2 and t["n_ref_frames"] == 120


def test_onsets_micro_from_counts_and_file_mean():
    a = {"f1_50ms": 1.0, "tp_50ms": 10.0, "n_ref_50ms": 10.0, "n_est_50ms": 10.0}
    b = {"f1_50ms": 0.0, "tp_50ms": 0.0, "n_ref_50ms": 0.0, "n_est_50ms": 30.0}
    t = aggregate("onsets", [a, b])
    assert t["precision_50ms"] == 0.25 and t["recall_50ms"] == 1.0
    assert t["f1_50ms"] == pytest.approx(0.4)
    assert t["file_mean_f1_50ms"] == 0.5
    assert "f1_25ms" not in t


def test_chords_weighted_by_scored_duration():
    a = {"majmin": 1.0, "majmin_scored_s": 30.0, "duration_s": 30.0}
    b = {"majmin": 0.0, "majmin_scored_s": 10.0, "duration_s": 12.0}
    t = aggregate("chords", [a, b])
    assert t["majmin"] == 0.75 and t["duration_s"] == 42.0 and t["file_mean_majmin"] == 0.5


def test_drums_per_class_micro_and_ksh_mean():
    a = {"kick_tp": 2.0, "kick_n_ref": 2.0, "kick_n_est": 2.0, "kick_f1": 1.0,
         "snare_tp": 0.0, "snare_n_ref": 2.0, "snare_n_est": 0.0, "snare_f1": 0.0,
         "tp": 2.0, "n_ref": 4.0, "n_est": 2.0, "f1": 2 / 3}
    b = {"kick_tp": 0.0, "kick_n_ref": 2.0, "kick_n_est": 0.0, "kick_f1": 0.0,
         "hihat_tp": 4.0, "hihat_n_ref": 4.0, "hihat_n_est": 4.0, "hihat_f1": 1.0,
         "tp": 4.0, "n_ref": 6.0, "n_est": 4.0, "f1": 0.8}
    t = aggregate("drums", [a, b])
    assert t["kick_f1"] == pytest.approx(2 * 2 / 6)
    assert t["snare_f1"] == 0.0 and t["hihat_f1"] == 1.0
    assert t["mean_f1_ksh"] == pytest.approx((4 / 6 + 0 + 1) / 3)
    assert t["f1"] == pytest.approx(12 / 16)
    assert t["file_mean_kick_f1"] == 0.5


def test_empty_rows_are_ignored_and_count_keys_recognised():
    assert aggregate("onsets", [{}, {}]) == {"n_files": 0.0}
    assert is_count_key("kick_n_ref") and is_count_key("tp_25ms") and is_count_key("n_voiced_ref_frames")
    assert not is_count_key("note_f1") and not is_count_key("voicing_false_alarm") and not is_count_key("rpa")


def _onset_row(tp: float, n_ref: float, n_est: float) -> dict:
    return {"tp_50ms": tp, "n_ref_50ms": n_ref, "n_est_50ms": n_est, "f1_50ms": 2 * tp / (n_ref + n_est)}


def test_bootstrap_interval_spans_the_files_and_narrows_with_more_of_them():
    few = [_onset_row(9, 10, 10), _onset_row(5, 10, 10), _onset_row(10, 10, 10), _onset_row(7, 10, 10)]
    low, high = bootstrap_interval("onsets", few, "f1_50ms")
    total = aggregate("onsets", few)["f1_50ms"]
    # inside what the best and worst file alone would give, and around the total
    assert 0.5 <= low < total < high <= 1.0
    many = few * 25  # the same mix of files, 25 times as many of them
    low_m, high_m = bootstrap_interval("onsets", many, "f1_50ms")
    assert low_m < total < high_m and high_m - low_m < 0.5 * (high - low)
    assert bootstrap_interval("onsets", few, "f1_50ms") == (low, high)  # seeded: the same report each run
    assert bootstrap_interval("onsets", many, "f1_50ms", seed=1) != (low_m, high_m)


def test_bootstrap_interval_of_identical_files_is_a_point_and_missing_keys_give_none():
    same = [_onset_row(8, 10, 10)] * 5
    assert bootstrap_interval("onsets", same, "f1_50ms") == pytest.approx((0.8, 0.8))
    pitch = [{"rpa": 1.0, "n_voiced_ref_frames": 90.0}, {"rpa": 0.0, "n_voiced_ref_frames": 10.0}]
    low, high = bootstrap_interval("pitch", pitch, "rpa", resamples=2000)
    assert low == 0.0 and high == 1.0  # two files: some resamples hold only one of them
    assert bootstrap_interval("onsets", same, "rpa") is None
    assert bootstrap_interval("onsets", [{}, {}], "f1_50ms") is None
    with pytest.raises(ValueError):
        bootstrap_interval("onsets", same, "f1_50ms", level=1.0)
