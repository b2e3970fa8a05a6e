"""models.annotations.jams_io: all four tasks in one validated JAMS file, and foreign JAMS files."""

from __future__ import annotations

import json

import jams
import numpy as np
import pytest

from models.annotations.jams_io import load_jams, write_jams
from models.annotations.types import DRUM_CLASSES, Annotation, ChordSegment, DrumHit, F0Track, Note
from models.errors import AnnotationError, AnnotationFormatError, OverwriteError

# jams itself calls a deprecated jsonschema API when these tests validate or save with jams directly
pytestmark = pytest.mark.filterwarnings("ignore:Passing a schema to Validator:DeprecationWarning")


def full_annotation() -> Annotation:
    return Annotation(
        duration_s=4.0,
        f0=F0Track(np.array([0.0, 0.01, 0.02, 0.03]), np.array([440.0, -220.0, 0.0, 261.6256]),
                   np.array([0.9, 0.1, 0.0, 1.0])),
        notes=(Note(0.0, 0.5, 69.0, 33), Note(0.5, 1.25, 60.5, 127)),
        chords=(ChordSegment(0.0, 1.0, "C:maj"), ChordSegment(1.0, 2.0, "A:min7"),
                ChordSegment(2.0, 3.0, "F#:hdim7"), ChordSegment(3.0, 4.0, "Bb:sus4/5")),
        drums=tuple(DrumHit(0.5 * i, d, 60 + i) for i, d in enumerate(DRUM_CLASSES)),
        onsets=np.array([0.0, 0.5, 1.0]),
        metadata={"source": "test", "bpm": 120},
    )


def test_all_four_tasks_in_one_file_round_trip(tmp_path):
    ann = full_annotation()
    path = write_jams(tmp_path / "song.jams", ann)
    jam = jams.load(str(path), validate=True, strict=True)  # valid for the jams library itself
    assert sorted(a.namespace for a in jam.annotations) == ["chord", "note_midi", "onset", "pitch_contour", "tag_open"]
    assert jam.file_metadata.duration == 4.0
    back = load_jams(path)
    assert back.duration_s == 4.0
    np.testing.assert_array_equal(back.f0.times_s, ann.f0.times_s)
    np.testing.assert_array_equal(back.f0.f0_hz, ann.f0.f0_hz)  # negative unvoiced guess and 0 kept
    assert str(back.f0.f0_hz[2]) == "0.0"
    np.testing.assert_array_equal(back.f0.confidence, ann.f0.confidence)
    assert back.notes == ann.notes  # velocities too
    assert back.chords == ann.chords
    assert back.drums == ann.drums
    np.testing.assert_array_equal(back.onsets, ann.onsets)
    assert back.metadata == {"source": "test", "bpm": 120}
    for task in ("pitch", "chords", "drums", "onsets"):
        assert back.has(task)


def test_duration_defaults_to_last_event_and_absent_tasks_stay_none(tmp_path):
    ann = Annotation(chords=(ChordSegment(0.0, 2.5, "N"),), onsets=np.array([3.0]))
    back = load_jams(write_jams(tmp_path / "a.jams", ann))
    assert back.duration_s == 3.0
    assert back.f0 is None and back.notes is None and back.drums is None
    assert back.chords == (ChordSegment(0.0, 2.5, "N"),)


def test_foreign_jams_chord_harte_note_hz_pitch_hz(tmp_path):
    jam = jams.JAMS()
    jam.file_metadata.duration = 2.0
    chords = jams.Annotation(namespace="chord_harte")
    chords.append(time=0.0, duration=1.0, value="G:min")
    notes = jams.Annotation(namespace="note_hz")
    notes.append(time=0.5, duration=0.5, value=440.0)
    pitch = jams.Annotation(namespace="pitch_hz")
    pitch.append(time=0.0, duration=0.0, value=220.0)
    pitch.append(time=0.01, duration=0.0, value=-110.0)
    tags = jams.Annotation(namespace="tag_open")  # an ordinary tag annotation, not drums
    tags.append(time=0.0, duration=2.0, value="rock")
    jam.annotations.extend([chords, notes, pitch, tags])
    path = tmp_path / "other.jams"
    jam.save(str(path))
    back = load_jams(path)
    assert back.chords == (ChordSegment(0.0, 1.0, "G:min"),)
    assert back.notes == (Note(0.5, 1.0, 69.0, 100),)
    assert back.f0.f0_hz.tolist() == [220.0, -110.0]
    assert back.drums is None


def test_not_json_names_line(tmp_path):
    path = tmp_path / "bad.jams"
    path.write_text('{\n "annotations": [\n  oops\n]}')
    with pytest.raises(AnnotationFormatError) as err:
        load_jams(path)
    assert "bad.jams" in str(err.value) and "line 3" in str(err.value) and "JSON" in str(err.value)


def test_schema_invalid_annotation(tmp_path):
    path = write_jams(tmp_path / "x.jams", Annotation(duration_s=2.0, chords=(ChordSegment(0, 1, "C:maj"),)))
    doc = json.loads(path.read_text())
    doc["annotations"][0]["data"][0]["value"] = "C:notachord"
    path.write_text(json.dumps(doc))
    with pytest.raises(AnnotationFormatError, match="chord annotation does not validate"):
        load_jams(path)


def test_unknown_drum_in_drum_annotation(tmp_path):
    path = write_jams(tmp_path / "x.jams", Annotation(duration_s=1.0, drums=(DrumHit(0.1, "kick"),)))
    doc = json.loads(path.read_text())
    doc["annotations"][0]["data"][0]["value"] = "gong"
    path.write_text(json.dumps(doc))
    with pytest.raises(AnnotationFormatError, match="'gong'"):
        load_jams(path)


def test_writer_errors(tmp_path):
    with pytest.raises(AnnotationError, match="not JSON-serialisable"):
        write_jams(tmp_path / "m.jams", Annotation(onsets=np.array([1.0]), metadata={"x": object()}))
    with pytest.raises(AnnotationError, match="'H:maj'"):
        write_jams(tmp_path / "c.jams", Annotation(chords=(ChordSegment(0, 1, "H:maj"),)))
    assert not list(tmp_path.iterdir())
    write_jams(tmp_path / "o.jams", Annotation(onsets=np.array([1.0])))
    with pytest.raises(OverwriteError):
        write_jams(tmp_path / "o.jams", Annotation(onsets=np.array([2.0])))
