"""models.annotations.contract: write_analysis then load_annotation_for gives the same events back."""

from __future__ import annotations

import numpy as np
import pytest

from models.annotations.contract import (
    OUTPUT_SUFFIXES,
    annotation_paths_for,
    load_annotation_for,
    write_analysis,
)
from models.annotations.csv_io import write_drums_csv, write_onsets_csv
from models.annotations.jams_io import write_jams
from models.annotations.lab import write_lab
from models.annotations.midi_io import write_notes_midi
from models.annotations.types import DRUM_CLASSES, Annotation, ChordSegment, DrumHit, F0Track, Note
from models.audio import write_audio
from models.errors import AnnotationFormatError, ConfigError, OverwriteError


def make_audio(folder, stem="song", duration_s=5.0):
    path = folder / f"{stem}.wav"
    write_audio(path, np.full(int(16000 * duration_s), 0.1, dtype=np.float32), 16000)
    return path


def full_annotation() -> Annotation:
    return Annotation(
        duration_s=5.0,
        f0=F0Track(np.array([0.0, 0.01, 0.02]), np.array([440.0, -220.0, 0.0]), np.array([1.0, 0.25, 0.0])),
        notes=(Note(0.0, 0.5, 69.0, 80), Note(1.0, 1.5, 72.0, 100)),
        chords=(ChordSegment(0.0, 2.0, "C:maj"), ChordSegment(2.0, 5.0, "F#:hdim7")),
        drums=tuple(DrumHit(0.5 * i, d, 100) for i, d in enumerate(DRUM_CLASSES)),
        onsets=np.array([0.0, 1.0, 2.5]),
        metadata={"model": "test"},
    )


def assert_same_events(a: Annotation, b: Annotation) -> None:
    np.testing.assert_allclose(b.f0.times_s, a.f0.times_s)
    np.testing.assert_allclose(b.f0.f0_hz, a.f0.f0_hz)
    np.testing.assert_allclose(b.f0.confidence, a.f0.confidence)
    assert b.notes == a.notes
    assert b.chords == a.chords
    assert b.drums == a.drums
    np.testing.assert_allclose(b.onsets, a.onsets)


def test_suffixes_are_the_contract():
    assert OUTPUT_SUFFIXES == {
        "jams": ".jams", "f0": ".f0.csv", "notes_csv": ".notes.csv", "notes_mid": ".notes.mid",
        "chords": ".chords.lab", "drums_csv": ".drums.csv", "drums_mid": ".drums.mid", "onsets": ".onsets.csv",
    }


def test_write_analysis_then_load_annotation_for(tmp_path):
    audio = make_audio(tmp_path)
    ann = full_annotation()
    written = write_analysis(ann, tmp_path, "song")
    assert [p.name for p in written] == [f"song{s}" for s in OUTPUT_SUFFIXES.values()]
    assert set(annotation_paths_for(audio)) == set(OUTPUT_SUFFIXES)
    back = load_annotation_for(audio)
    assert back.duration_s == pytest.approx(5.0)
    assert_same_events(ann, back)
    assert back.metadata == {"model": "test"}


def test_each_artifact_alone_gives_the_same_events(tmp_path):
    ann = full_annotation()
    for artifact, field in [("jams", None), ("f0", "f0"), ("notes_csv", "notes"), ("notes_mid", "notes"),
                            ("chords", "chords"), ("drums_csv", "drums"), ("drums_mid", "drums"),
                            ("onsets", "onsets")]:
        folder = tmp_path / artifact
        folder.mkdir()
        audio = make_audio(folder)
        write_analysis(ann, folder, "song", formats=[artifact])
        back = load_annotation_for(audio)
        if field is None:
            assert_same_events(ann, back)
        elif field == "notes":
            assert [(n.pitch_midi, n.velocity) for n in back.notes] == [(69.0, 80), (72.0, 100)]
            assert max(abs(x.onset_s - y.onset_s) for x, y in zip(ann.notes, back.notes)) <= 1e-3
        elif field == "drums":
            assert [h.drum for h in back.drums] == list(DRUM_CLASSES)
            assert max(abs(x.time_s - y.time_s) for x, y in zip(ann.drums, back.drums)) <= 1e-3
        elif field == "f0":
            np.testing.assert_allclose(back.f0.f0_hz, ann.f0.f0_hz)
        elif field == "onsets":
            np.testing.assert_allclose(back.onsets, ann.onsets)
        else:
            assert getattr(back, field) == getattr(ann, field)


def test_only_present_tasks_are_written(tmp_path):
    ann = Annotation(duration_s=3.0, chords=(ChordSegment(0, 3, "N"),))
    written = write_analysis(ann, tmp_path / "new" / "out", "a")
    assert sorted(p.name for p in written) == ["a.chords.lab", "a.jams"]
    assert write_analysis(Annotation(), tmp_path / "empty", "a") == []


def test_overwrite_is_checked_for_all_before_writing_any(tmp_path):
    ann = full_annotation()
    (tmp_path / "song.drums.mid").write_bytes(b"precious")
    (tmp_path / "song.onsets.csv").write_text("precious")
    with pytest.raises(OverwriteError) as err:
        write_analysis(ann, tmp_path, "song")
    assert "song.drums.mid" in str(err.value) and "song.onsets.csv" in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.drums.mid", "song.onsets.csv"]
    assert len(write_analysis(ann, tmp_path, "song", overwrite=True)) == len(OUTPUT_SUFFIXES)


def test_bad_formats_and_stem(tmp_path):
    with pytest.raises(ConfigError, match="'wav'"):
        write_analysis(full_annotation(), tmp_path, "song", formats=["jams", "wav"])
    with pytest.raises(ConfigError, match="stem"):
        write_analysis(full_annotation(), tmp_path, "a/b")
    with pytest.raises(ConfigError, match="'melody'"):
        load_annotation_for(make_audio(tmp_path), tasks=["melody"])


def test_specific_files_win_over_jams_and_plain_files(tmp_path):
    audio = make_audio(tmp_path)
    write_jams(tmp_path / "song.jams", Annotation(
        chords=(ChordSegment(0, 1, "D:min"),), drums=(DrumHit(1.0, "ride"),), onsets=np.array([4.0]),
        notes=(Note(0, 1, 50.0),)))
    write_lab(tmp_path / "song.lab", [ChordSegment(0, 1, "E:maj")])
    write_lab(tmp_path / "song.chords.lab", [ChordSegment(0, 1, "C:maj")])
    write_drums_csv(tmp_path / "song.drums.csv", [DrumHit(0.5, "kick")])
    write_notes_midi(tmp_path / "song.mid", [Note(0, 1, 60.0)])
    back = load_annotation_for(audio)
    assert back.chords == (ChordSegment(0, 1, "C:maj"),)
    assert back.drums == (DrumHit(0.5, "kick"),)
    assert back.notes == (Note(0.0, 1.0, 60.0, 100),)  # plain .mid beats .jams
    assert back.onsets.tolist() == [4.0]  # only the JAMS file has onsets
    (tmp_path / "song.chords.lab").unlink()
    assert load_annotation_for(audio).chords == (ChordSegment(0, 1, "E:maj"),)  # plain .lab next


def test_plain_csv_used_only_when_its_header_is_clear(tmp_path):
    audio = make_audio(tmp_path)
    write_onsets_csv(tmp_path / "song.csv", np.array([0.5]))
    assert load_annotation_for(audio).onsets.tolist() == [0.5]
    (tmp_path / "song.csv").write_text("0.5,440\n")  # no header: f0? a time-value layer? ambiguous
    assert load_annotation_for(audio).f0 is None


def test_tasks_limit_what_is_read(tmp_path):
    audio = make_audio(tmp_path)
    write_lab(tmp_path / "song.chords.lab", [ChordSegment(0, 1, "C:maj")])
    (tmp_path / "song.drums.csv").write_text("time_s,drum\n0.1,gong\n")  # broken, but not asked for
    back = load_annotation_for(audio, tasks=["chords"])
    assert back.chords == (ChordSegment(0, 1, "C:maj"),) and back.drums is None
    with pytest.raises(AnnotationFormatError, match="song.drums.csv:2:"):
        load_annotation_for(audio)


def test_no_annotation_gives_empty_annotation_with_duration(tmp_path):
    back = load_annotation_for(make_audio(tmp_path, duration_s=2.0))
    assert back.duration_s == pytest.approx(2.0)
    assert not any(back.has(t) for t in ("pitch", "chords", "drums", "onsets"))
