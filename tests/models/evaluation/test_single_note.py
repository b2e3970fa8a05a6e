import math

import numpy as np
import pytest
import soundfile as sf

from models.annotations.types import Annotation, F0Track, Note
from models.errors import DatasetError, EvaluationError
from models.evaluation.single_note import (
    aggregate_single_note, discover_single_note_items, read_single_note_labels, single_note_metrics,
    wrap_octave_cents,
)


def _wav(path, sr=16000):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(160, np.float32), sr)
    return path


def test_discovers_generic_tinysol_and_egfxset_layouts(tmp_path):
    _wav(tmp_path / "guitar" / "audio" / "a.flac")
    (tmp_path / "guitar" / "labels.csv").write_text("file,fret,midi_pitch\na.flac,0,45\n")
    _wav(tmp_path / "tinysol" / "audio" / "Winds" / "Fl-C4.wav")
    (tmp_path / "tinysol" / "annotation").mkdir(parents=True)
    (tmp_path / "tinysol" / "annotation" / "meta.csv").write_text("Path,Pitch,Pitch ID\nWinds/Fl-C4.wav,C4,60\n")
    _wav(tmp_path / "egfx" / "Clean" / "Middle" / "6-22.wav")
    _wav(tmp_path / "other" / "6-22.wav")  # not in a pickup folder: ignored
    (tmp_path / "song.f0.csv").write_text("file,midi_pitch\n")  # annotation CSVs are never labels
    items = discover_single_note_items(tmp_path)
    assert sorted((i.audio_path.name, i.midi_pitch) for i in items) == [
        ("6-22.wav", 62.0), ("Fl-C4.wav", 60.0), ("a.flac", 45.0)]


def test_bad_rows_are_all_listed(tmp_path):
    _wav(tmp_path / "a.wav")
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text("file,midi_pitch\na.wav,high\nb.wav,60\na.wav,61\n")
    with pytest.raises(DatasetError) as info:
        read_single_note_labels(csv_path)
    assert len(info.value.problems) == 2
    assert "labels.csv:2" in info.value.problems[0] and "'high'" in info.value.problems[0]
    assert "'b.wav' not found" in info.value.problems[1]


def test_unknown_header_names_the_fix(tmp_path):
    csv_path = tmp_path / "x.csv"
    csv_path.write_text("name,pitch\n")
    with pytest.raises(EvaluationError, match="file,midi_pitch"):
        read_single_note_labels(csv_path)


def test_generic_file_relative_to_data_dir(tmp_path):
    _wav(tmp_path / "data" / "sub" / "n.wav")
    csv_path = tmp_path / "elsewhere" / "labels.csv"
    csv_path.parent.mkdir()
    csv_path.write_text("file,midi_pitch\nsub/n.wav,62\n")
    items = read_single_note_labels(csv_path, tmp_path / "data")
    assert items[0].audio_path == tmp_path / "data" / "sub" / "n.wav"


def _f0(hz):
    hz = np.asarray(hz, float)
    return Annotation(f0=F0Track(np.arange(hz.size) * 0.01, hz, np.ones(hz.size)))


def test_scores_median_voiced_pitch():
    # median of the voiced frames; unvoiced guesses (negative) ignored
    m = single_note_metrics(69.0, _f0([-100.0, 440.0, 440.0, 445.0, -2000.0]))
    assert m["est_midi"] == pytest.approx(69.0)
    assert m["cents_error"] == pytest.approx(0.0, abs=1e-6)
    assert m["voiced_fraction"] == pytest.approx(0.6)
    assert m["correct"] == 1.0 and m["chroma_correct"] == 1.0


def test_octave_error_is_chroma_correct_only():
    m = single_note_metrics(57.0, _f0([440.0] * 3))
    assert m["cents_error"] == pytest.approx(1200.0)
    assert m["correct"] == 0.0 and m["chroma_correct"] == 1.0
    assert wrap_octave_cents(1230.0) == pytest.approx(30.0)
    assert wrap_octave_cents(-1180.0) == pytest.approx(20.0)


def test_no_pitch_counts_as_wrong_and_notes_fallback():
    m = single_note_metrics(60.0, _f0([-440.0, 0.0]))
    assert math.isnan(m["cents_error"]) and m["correct"] == 0.0
    m2 = single_note_metrics(60.0, Annotation(notes=(Note(0, 0.1, 59), Note(0.1, 1.0, 60))))
    assert m2["est_midi"] == 60.0
    totals = aggregate_single_note([m, m2, single_note_metrics(60.0, _f0([440.0 * 2 ** (-8.7 / 12)]))])
    assert totals["accuracy_50c"] == pytest.approx(2 / 3)  # 0 and 30 cents right, no pitch wrong
    assert totals["chroma_accuracy_50c"] == pytest.approx(2 / 3)
    assert totals["median_abs_cents"] == pytest.approx(15.0)  # median of |0| and |30|
    assert totals["n_no_pitch"] == 1
