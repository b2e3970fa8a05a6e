"""models.annotations.dataset: a user folder is checked as a whole, every problem reported at once."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from models.annotations.csv_io import write_drums_csv
from models.annotations.dataset import DatasetItem, find_audio_files, load_dataset
from models.annotations.jams_io import write_jams
from models.annotations.lab import write_lab
from models.annotations.types import Annotation, ChordSegment, DrumHit
from models.audio import write_audio
from models.errors import ConfigError, DatasetError


def tone(path, duration_s=2.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(16000 * duration_s)) / 16000
    write_audio(path, (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    return path


def good_folder(root):
    tone(root / "a.wav")
    write_lab(root / "a.chords.lab", [ChordSegment(0, 2, "C:maj")])
    write_drums_csv(root / "a.drums.csv", [DrumHit(0.5, "kick")])
    tone(root / "sub" / "b.wav", 3.0)
    write_jams(root / "sub" / "b.jams", Annotation(chords=(ChordSegment(0, 3, "A:min7"),),
                                                   drums=(DrumHit(1.0, "snare"),)))
    return root


def test_good_folder_loads_sorted_items(tmp_path):
    items = load_dataset(good_folder(tmp_path), tasks=["chords", "drums"])
    assert [i.audio_path.relative_to(tmp_path).as_posix() for i in items] == ["a.wav", "sub/b.wav"]
    assert all(isinstance(i, DatasetItem) for i in items)
    assert items[0].stem == "a" and items[0].duration_s == pytest.approx(2.0)
    assert items[1].annotation.chords == (ChordSegment(0, 3, "A:min7"),)
    assert items[1].annotation.drums == (DrumHit(1.0, "snare"),)
    assert [i.stem for i in load_dataset(tmp_path)] == ["a", "b"]  # tasks=None: anything annotated


def test_find_audio_files_recurses_and_skips_hidden(tmp_path):
    tone(tmp_path / "x" / "y" / "deep.wav")
    tone(tmp_path / ".hidden" / "h.wav")
    tone(tmp_path / ".h.wav")
    (tmp_path / "notes.txt").write_text("not audio")
    assert [p.name for p in find_audio_files(tmp_path)] == ["deep.wav"]


def test_every_problem_in_one_error(tmp_path):
    good_folder(tmp_path)
    tone(tmp_path / "nolabels.wav")                                    # 1: no chord labels, 2: no drums
    tone(tmp_path / "long.wav", 1.0)
    write_lab(tmp_path / "long.chords.lab", [ChordSegment(0, 3.0, "C:maj")])  # 3: past the end
    write_drums_csv(tmp_path / "long.drums.csv", [DrumHit(0.2, "kick")])
    tone(tmp_path / "bad.wav")
    (tmp_path / "bad.chords.lab").write_text("0 1 C:maj\n1 2 H:min\n")          # 4: unparsable
    write_drums_csv(tmp_path / "bad.drums.csv", [DrumHit(0.2, "kick")])
    (tmp_path / "broken.wav").write_bytes(b"RIFF....garbage")                  # 5: unreadable audio
    write_lab(tmp_path / "orphan.chords.lab", [ChordSegment(0, 1, "N")])       # 6: no audio
    with pytest.raises(DatasetError) as err:
        load_dataset(tmp_path, tasks=["chords", "drums"])
    problems = err.value.problems
    assert len(problems) == 6, problems
    text = "\n".join(problems)
    assert "nolabels.wav: no chord labels; add nolabels.chords.lab or nolabels.jams" in text
    assert "nolabels.wav: no drum labels" in text
    assert "long.chords.lab: chord labels reach 3.000 s, past the end of long.wav (1.000 s)" in text
    assert "bad.chords.lab:2:" in text and "'H:min'" in text
    assert "broken.wav" in text and "cannot read audio" in text
    assert "orphan.chords.lab: annotation file with no audio" in text
    message = str(err.value)
    assert "6 problems" in message and "song.wav with song.jams" in message


def test_events_within_tolerance_are_fine(tmp_path):
    tone(tmp_path / "a.wav", 2.0)
    write_lab(tmp_path / "a.chords.lab", [ChordSegment(0, 2.4, "C:maj")])
    assert len(load_dataset(tmp_path, tasks=["chords"])) == 1


def test_not_strict_returns_good_items_and_logs(tmp_path, caplog):
    good_folder(tmp_path)
    tone(tmp_path / "nolabels.wav")
    with caplog.at_level(logging.WARNING):
        items = load_dataset(tmp_path, tasks=["chords"], strict=False)
    assert [i.stem for i in items] == ["a", "b"]
    assert "nolabels.wav: no chord labels" in caplog.text


def test_folder_missing_or_without_audio(tmp_path):
    with pytest.raises(DatasetError, match="does not exist") as err:
        load_dataset(tmp_path / "nope")
    assert len(err.value.problems) == 1
    (tmp_path / "a.chords.lab").write_text("0 1 C:maj\n")
    with pytest.raises(DatasetError, match="no audio files"):
        load_dataset(tmp_path)
    with pytest.raises(ConfigError, match="'melody'"):
        load_dataset(tmp_path, tasks=["melody"])


def test_tasks_none_needs_some_annotation(tmp_path):
    tone(tmp_path / "a.wav")
    with pytest.raises(DatasetError) as err:
        load_dataset(tmp_path)
    assert err.value.problems == [
        "a.wav: no annotation files; add a.jams (or a.chords.lab, a.notes.mid, a.drums.mid, a.onsets.csv ...) "
        "beside it"
    ]
