"""``featherlight analyze`` end to end: folders, mirrored outputs, unreadable files, overwrite refusal,
task subsets, model selection errors and exit codes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from desktop_app.cli import main
from models.annotations.contract import load_annotation_for
from models.errors import ConfigError
from models.runtime import analyze_cli
from models.runtime.analyze_cli import AnalyzeJob, collect_jobs, output_paths, parse_model_overrides, parse_tasks

SR = 16000
ALL_SUFFIXES = (".jams", ".f0.csv", ".notes.csv", ".notes.mid", ".chords.lab", ".drums.csv", ".drums.mid",
                ".onsets.csv")


def _load_fixture_module():
    spec = importlib.util.spec_from_file_location("_analyzer_fixtures", Path(__file__).with_name("test_analyzer.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def model_args(tmp_path_factory) -> list[str]:
    """``--model TASK=PATH`` for the four tiny random-weight models of test_analyzer.py."""
    paths = _load_fixture_module().export_tiny_models(tmp_path_factory.mktemp("cli_models"))
    return [arg for task, path in paths.items() for arg in ("--model", f"{task}={path}")]


def _tone(path: Path, freq_hz: float, duration_s: float = 1.0, rate: int = 22050) -> Path:
    t = np.arange(int(duration_s * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * freq_hz * t)
    x[(np.arange(t.size) % (rate // 4)) < 20] += 0.5  # clicks
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x.astype(np.float32), rate)
    return path


@pytest.fixture
def music_folder(tmp_path) -> Path:
    root = tmp_path / "music"
    _tone(root / "a.wav", 220.0)
    _tone(root / "live" / "b.wav", 330.0, duration_s=0.7)
    (root / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt this is not audio")
    (root / "notes.txt").write_text("not audio, ignored")
    return root


def test_folder_with_two_good_files_and_one_corrupt(music_folder, tmp_path, model_args, capsys):
    out = tmp_path / "out"
    code = main(["analyze", str(music_folder), "--out", str(out), *model_args])
    captured = capsys.readouterr()
    assert code == 1
    errors = [line for line in captured.err.splitlines() if "error" in line]
    assert len(errors) == 1
    assert "broken.wav" in errors[0] and "cannot read audio file" in errors[0]
    assert "analysed 2 of 3 file(s)" in captured.out and "1 failed" in captured.out
    for stem, folder in (("a", out), ("b", out / "live")):  # sub-folders mirrored
        for suffix in ALL_SUFFIXES:
            assert (folder / f"{stem}{suffix}").is_file(), f"{stem}{suffix} missing"
    assert not list(out.glob("broken*"))
    # the outputs read back through the contract; duration from the (copied) audio
    copy = out / "a.wav"
    copy.write_bytes((music_folder / "a.wav").read_bytes())
    ann = load_annotation_for(copy)
    assert ann.duration_s == pytest.approx(1.0)
    assert len(ann.f0) == 100 and ann.chords and ann.chords[-1].end_s == pytest.approx(1.0)
    assert ann.drums is not None and ann.onsets is not None and ann.notes is not None


def test_existing_outputs_are_not_overwritten_without_the_flag(music_folder, tmp_path, model_args, capsys):
    (music_folder / "broken.wav").unlink()
    out = tmp_path / "out"
    assert main(["analyze", str(music_folder), "--out", str(out), *model_args]) == 0
    lab = out / "a.chords.lab"
    lab.write_text("0.0\t1.0\tmine\n")
    capsys.readouterr()
    code = main(["analyze", str(music_folder), "--out", str(out), *model_args])
    err = capsys.readouterr().err
    assert code == 2
    assert "already exist" in err and str(out / "a.jams") in err and str(out / "live" / "b.onsets.csv") in err
    assert "--overwrite" in err
    assert lab.read_text() == "0.0\t1.0\tmine\n"  # untouched
    assert main(["analyze", str(music_folder), "--out", str(out), "--overwrite", *model_args]) == 0
    assert lab.read_text() != "0.0\t1.0\tmine\n"


def test_tasks_subset_writes_only_those_files(tmp_path, model_args):
    audio = _tone(tmp_path / "in" / "solo.flac", 440.0, duration_s=0.5)
    out = tmp_path / "out"
    assert main(["analyze", str(audio), "--out", str(out), "--tasks", "onsets,drums", *model_args]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "solo.drums.csv", "solo.drums.mid", "solo.jams", "solo.onsets.csv"]


def test_chords_are_decoded_over_the_whole_file_unless_online(tmp_path, model_args):
    from models.annotations.lab import load_lab
    from models.audio import load_audio
    from models.runtime.analyzer import Analyzer
    from models.runtime.onnx_model import OnnxTaskModel

    fixtures = _load_fixture_module()
    song = tmp_path / "song.wav"
    sf.write(song, fixtures.test_signal(), SR)
    assert main(["analyze", str(song), "--out", str(tmp_path / "whole"), *model_args]) == 0
    assert main(["analyze", str(song), "--out", str(tmp_path / "online"), "--online", *model_args]) == 0
    whole = load_lab(tmp_path / "whole" / "song.chords.lab")
    online = load_lab(tmp_path / "online" / "song.chords.lab")
    models = {arg.split("=")[0]: OnnxTaskModel(arg.split("=", 1)[1]) for arg in model_args if "=" in arg}
    audio = load_audio(song, SR)
    for found, whole_file in ((whole, True), (online, False)):
        expected = Analyzer(models, whole_file=whole_file).analyze(audio).chords
        assert [(c.label, round(c.start_s, 3)) for c in found] == [(c.label, round(c.start_s, 3)) for c in expected]
    assert [c.label for c in whole] != [c.label for c in online]


def test_parallel_jobs_give_the_same_files(music_folder, tmp_path, model_args):
    (music_folder / "broken.wav").unlink()
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    assert main(["analyze", str(music_folder), "--out", str(serial), "--tasks", "chords,onsets", *model_args]) == 0
    assert main(["analyze", str(music_folder), "--out", str(parallel), "--tasks", "chords,onsets", "--jobs", "2",
                 *model_args]) == 0
    for name in ("a.chords.lab", "a.onsets.csv", "live/b.chords.lab", "live/b.onsets.csv"):
        assert (serial / name).read_text() == (parallel / name).read_text()


def test_missing_model_for_a_task_names_the_task_and_the_fix(tmp_path, monkeypatch, capsys):
    audio = _tone(tmp_path / "x.wav", 220.0, duration_s=0.2)
    monkeypatch.setattr("models.runtime.onnx_model.find_bundled_models",
                        lambda: {"pitch": [], "chords": [], "drums": [], "onsets": []})
    code = main(["analyze", str(audio), "--out", str(tmp_path / "out"), "--tasks", "drums,onsets"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no model for task 'drums'" in err and "--model drums=" in err and "--tasks onsets" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tasks", "pitch,melody"], "unknown task(s) 'melody' in --tasks"),
        (["--tasks", ","], "--tasks is empty"),
        (["--model", "drums"], "--model expects TASK=PATH"),
        (["--model", "kazoo=x.onnx"], "unknown task 'kazoo'"),
        (["--model", "drums=/nonexistent/d.onnx", "--tasks", "drums"], "model file /nonexistent/d.onnx not found"),
        (["--jobs", "0"], "--jobs must be at least 1"),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path, capsys, args, message):
    audio = _tone(tmp_path / "x.wav", 220.0, duration_s=0.2)
    code = main(["analyze", str(audio), "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_model_for_another_task_is_refused(tmp_path, model_args, capsys):
    audio = _tone(tmp_path / "x.wav", 220.0, duration_s=0.2)
    drums_path = dict(a.split("=", 1) for a in model_args if "=" in a)["drums"]
    code = main(["analyze", str(audio), "--out", str(tmp_path / "out"), "--tasks", "onsets",
                 "--model", f"onsets={drums_path}"])
    assert code == 2
    assert "'drums' model but was given for task 'onsets'" in capsys.readouterr().err


def test_missing_input_and_empty_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["analyze", str(tmp_path / "nope.wav"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "input" in err and "nope.wav does not exist" in err
    assert main(["analyze", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "no audio files in folder" in capsys.readouterr().err


def test_collect_jobs_mirrors_folders_and_refuses_clashes(tmp_path):
    root = tmp_path / "in"
    for rel in ("a.wav", "sub/b.flac", "sub/deeper/c.ogg", "sub/readme.md"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    out = tmp_path / "out"
    jobs = collect_jobs([root, root / "a.wav"], out)  # the file given again is analysed once
    assert jobs == [
        AnalyzeJob(root / "a.wav", out, "a"),
        AnalyzeJob(root / "sub" / "b.flac", out / "sub", "b"),
        AnalyzeJob(root / "sub" / "deeper" / "c.ogg", out / "sub" / "deeper", "c"),
    ]
    (root / "a.flac").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"same output files: .*a\.flac and .*a\.wav"):
        collect_jobs([root], out)


def test_output_paths_and_argument_parsers(tmp_path):
    job = AnalyzeJob(tmp_path / "s.wav", tmp_path / "o", "s")
    assert [p.name for p in output_paths(job, ("chords", "onsets"))] == ["s.jams", "s.chords.lab", "s.onsets.csv"]
    assert len(output_paths(job, ("pitch", "chords", "drums", "onsets"))) == 8
    assert parse_tasks("onsets, pitch") == ("pitch", "onsets")
    assert parse_model_overrides(["pitch=a.onnx", "chords=b/c.onnx"]) == {"pitch": Path("a.onnx"),
                                                                          "chords": Path("b/c.onnx")}
    with pytest.raises(ConfigError, match="given twice for pitch"):
        parse_model_overrides(["pitch=a.onnx", "pitch=b.onnx"])


def test_help_describes_the_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--overwrite" in text and "TASK=PATH" in text and "mirrored under --out" in text
    assert analyze_cli.TASK_ARTIFACTS["pitch"] == ("f0", "notes_csv", "notes_mid")
