"""models.annotations.lab: chord .lab round trips and Harte validation."""

from __future__ import annotations

import pytest

from models.annotations.lab import load_lab, write_lab
from models.annotations.types import ChordSegment
from models.errors import AnnotationError, AnnotationFormatError, OverwriteError

LABELS = ["C:maj", "A:min7", "F#:hdim7", "Bb:sus4/5", "N", "E:7", "G:maj(9)", "Db:dim7", "B:aug", "X", "C#:min/b3"]


def test_round_trip_harte_labels(tmp_path):
    chords = tuple(ChordSegment(0.5 * i, 0.5 * (i + 1), label) for i, label in enumerate(LABELS))
    path = write_lab(tmp_path / "song.chords.lab", chords)
    first = path.read_text().splitlines()[0]
    assert first == "0\t0.5\tC:maj"
    assert load_lab(path) == chords


def test_reader_accepts_any_whitespace_and_comments(tmp_path):
    (tmp_path / "a.lab").write_text("# a comment\n0.000   1.250 C:maj\n\n1.25\t2.0\tN\n")
    assert load_lab(tmp_path / "a.lab") == (ChordSegment(0.0, 1.25, "C:maj"), ChordSegment(1.25, 2.0, "N"))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0 1 C:maj\n1 2 H:maj\n", [":2:", "'H:maj'", "Harte"]),
        ("0 1 C:maj\n1 x C:min\n", [":2:", "end time", "'x'"]),
        ("0 1 C:maj\n2 1.5 C:min\n", [":2:", "before start"]),
        ("0 1\n", [":1:", "expected 3 fields"]),
        ("0 1 C:maj extra\n", [":1:", "got 4"]),
        ("-1 1 C:maj\n", [":1:", ">= 0"]),
        ("0 1 C:majj\n", [":1:", "'C:majj'"]),
    ],
)
def test_malformed_lab(tmp_path, text, words):
    (tmp_path / "bad.lab").write_text(text)
    with pytest.raises(AnnotationFormatError) as err:
        load_lab(tmp_path / "bad.lab")
    for word in ("bad.lab", *words):
        assert word in str(err.value)


def test_writer_refuses_bad_label_and_overwrite(tmp_path):
    with pytest.raises(AnnotationError, match="'Q:maj'"):
        write_lab(tmp_path / "x.lab", [ChordSegment(0, 1, "Q:maj")])
    assert not (tmp_path / "x.lab").exists()
    write_lab(tmp_path / "x.lab", [ChordSegment(0, 1, "C:maj")])
    with pytest.raises(OverwriteError):
        write_lab(tmp_path / "x.lab", [ChordSegment(0, 1, "D:maj")])
    assert load_lab(tmp_path / "x.lab")[0].label == "C:maj"
