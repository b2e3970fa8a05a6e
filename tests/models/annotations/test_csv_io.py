"""models.annotations.csv_io: round trips, foreign layouts, and clear errors with line numbers."""

from __future__ import annotations

import numpy as np
import pytest

from models.annotations.csv_io import (
    load_drums_csv,
    load_f0_csv,
    load_notes_csv,
    load_onsets_csv,
    write_drums_csv,
    write_f0_csv,
    write_notes_csv,
    write_onsets_csv,
)
from models.annotations.types import DRUM_CLASSES, DrumHit, F0Track, Note
from models.errors import AnnotationError, AnnotationFormatError, OverwriteError


def test_f0_round_trip_keeps_unvoiced_guesses_to_1e6(tmp_path):
    times = np.arange(6) * 0.01 + 1234.5
    f0_hz = np.array([440.0, -220.5, 0.0, 123.456789, 1000 / 3, -55.0001])
    conf = np.array([1.0, 0.2, 0.0, 0.5, 1 / 3, 0.999999])
    path = write_f0_csv(tmp_path / "x.f0.csv", F0Track(times, f0_hz, conf))
    assert path.read_text().splitlines()[0] == "time_s,f0_hz,confidence"
    back = load_f0_csv(path)
    np.testing.assert_allclose(back.times_s, times, rtol=1e-6, atol=0)
    np.testing.assert_allclose(back.f0_hz, f0_hz, rtol=1e-6, atol=0)
    np.testing.assert_allclose(back.confidence, conf, rtol=1e-6, atol=0)
    assert list(back.voiced) == [True, False, False, True, True, False]
    assert back.f0_hz[1] == -220.5 and back.f0_hz[2] == 0.0


def test_f0_without_header_and_columns_in_any_order(tmp_path):
    (tmp_path / "a.csv").write_text("0.00,440\n0.01,-441\n")
    back = load_f0_csv(tmp_path / "a.csv")
    assert back.f0_hz.tolist() == [440.0, -441.0]
    assert back.confidence.tolist() == [1.0, 1.0]
    (tmp_path / "b.csv").write_text("# from a tool\nconfidence,f0_hz,time_s\n0.5,220,0.1\n\n0.25,-110,0.2\n")
    back = load_f0_csv(tmp_path / "b.csv")
    assert back.times_s.tolist() == [0.1, 0.2]
    assert back.f0_hz.tolist() == [220.0, -110.0]
    assert back.confidence.tolist() == [0.5, 0.25]


def test_notes_round_trip_with_velocities(tmp_path):
    notes = (Note(0.5, 1.0, 60.0, 1), Note(0.1, 0.35, 64.5, 127), Note(0.1, 0.2, 55.0, 64))
    path = write_notes_csv(tmp_path / "n.csv", notes)
    assert path.read_text().splitlines()[0] == "onset_s,offset_s,pitch_midi,velocity"
    assert load_notes_csv(path) == (notes[2], notes[1], notes[0])  # sorted by onset, then pitch


def test_notes_three_columns_get_default_velocity(tmp_path):
    (tmp_path / "n.csv").write_text("0.1\t0.5\t60\n")
    assert load_notes_csv(tmp_path / "n.csv") == (Note(0.1, 0.5, 60.0, 100),)


def test_drums_round_trip_every_class(tmp_path):
    hits = tuple(DrumHit(0.25 * i, drum, 100) for i, drum in enumerate(DRUM_CLASSES))
    path = write_drums_csv(tmp_path / "d.csv", hits)
    assert path.read_text().splitlines() == ["time_s,drum", "0,kick", "0.25,snare", "0.5,hihat",
                                             "0.75,tom", "1,crash", "1.25,ride"]
    assert load_drums_csv(path) == hits


def test_drums_velocity_column_round_trips(tmp_path):
    hits = (DrumHit(0.5, "snare", 37), DrumHit(0.5, "kick", 120))
    path = write_drums_csv(tmp_path / "d.csv", hits, include_velocity=True)
    assert path.read_text().splitlines()[0] == "time_s,drum,velocity"
    assert load_drums_csv(path) == (DrumHit(0.5, "kick", 120), DrumHit(0.5, "snare", 37))
    (tmp_path / "e.csv").write_text("drum,time_s\nKick,0.1\n")
    assert load_drums_csv(tmp_path / "e.csv") == (DrumHit(0.1, "kick", 100),)


def test_unknown_drum_names_line_name_and_allowed(tmp_path):
    (tmp_path / "d.csv").write_text("time_s,drum\n0.1,kick\n0.2,cowbell\n")
    with pytest.raises(AnnotationFormatError) as err:
        load_drums_csv(tmp_path / "d.csv")
    message = str(err.value)
    assert "d.csv:3:" in message and "'cowbell'" in message
    assert "kick, snare, hihat, tom, crash, ride" in message


def test_onsets_round_trip_sorted_and_sonic_visualiser_labels(tmp_path):
    path = write_onsets_csv(tmp_path / "o.csv", np.array([0.5, 0.125, 2.0]))
    assert path.read_text() == "time_s\n0.125\n0.5\n2\n"
    assert load_onsets_csv(path).tolist() == [0.125, 0.5, 2.0]
    (tmp_path / "sv.csv").write_text('1.5,"New Point"\n0.5,"New Point"\n')
    assert load_onsets_csv(tmp_path / "sv.csv").tolist() == [0.5, 1.5]


def test_empty_files_and_header_only(tmp_path):
    write_notes_csv(tmp_path / "n.csv", [])
    assert load_notes_csv(tmp_path / "n.csv") == ()
    (tmp_path / "o.csv").write_text("")
    assert load_onsets_csv(tmp_path / "o.csv").size == 0


@pytest.mark.parametrize(
    ("loader", "text", "words"),
    [
        (load_f0_csv, "time_s,f0_hz\n0.0,440\n0.01,abc\n", [":3:", "f0_hz", "'abc'"]),
        (load_f0_csv, "time_s,f0_hz\n0.0,440,1,2\n", [":2:", "expected 2 values"]),
        (load_f0_csv, "0.0\n", [":1:", "expected 2 or 3 values"]),
        (load_f0_csv, "time_s,pitch_hz\n0.0,440\n", [":1:", "lacks column(s) f0_hz"]),
        (load_f0_csv, "0.0,440,1.5\n", [":1:", "confidence"]),
        (load_notes_csv, "onset_s,offset_s,pitch_midi\n0.5,0.2,60\n", [":2:", "before onset_s"]),
        (load_notes_csv, "0.1,0.2,60,200\n", [":1:", "velocity", "0..127"]),
        (load_notes_csv, "0.1,0.2,nan\n", [":1:", "finite"]),
        (load_onsets_csv, "time_s\n0.1\n-0.2\n", [":3:", "negative"]),
    ],
)
def test_malformed_csv_raises_with_line_number(tmp_path, loader, text, words):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(AnnotationFormatError) as err:
        loader(path)
    message = str(err.value)
    assert "bad.csv" in message
    for word in words:
        assert word in message


def test_missing_file_and_overwrite(tmp_path):
    with pytest.raises(AnnotationError, match="does not exist"):
        load_onsets_csv(tmp_path / "none.csv")
    write_onsets_csv(tmp_path / "o.csv", np.array([1.0]))
    with pytest.raises(OverwriteError):
        write_onsets_csv(tmp_path / "o.csv", np.array([2.0]))
    write_onsets_csv(tmp_path / "o.csv", np.array([2.0]), overwrite=True)
    assert load_onsets_csv(tmp_path / "o.csv").tolist() == [2.0]
