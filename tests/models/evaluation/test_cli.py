"""``featherlight eval`` end to end on tiny folders written in tmp_path."""

import json

import numpy as np
import pytest
import soundfile as sf

from desktop_app.cli import main
from models.annotations.types import Annotation, ChordSegment

SR = 16000


def _tone(path, freq_hz, dur_s=0.6):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(dur_s * SR)) / SR
    sf.write(path, (0.4 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32), SR)


def _single_note_folder(tmp_path):
    data = tmp_path / "notes"
    _tone(data / "audio" / "a4.wav", 440.0)
    _tone(data / "audio" / "e3.wav", 164.81)
    (data / "labels.csv").write_text("file,midi_pitch\na4.wav,69\ne3.wav,52\n")
    return data


def test_single_note_collection_with_yin_baseline(tmp_path, capsys):
    data = _single_note_folder(tmp_path)
    out = tmp_path / "scores.json"
    rc = main(["eval", "--task", "pitch", "--data", str(data), "--baseline", "yin", "--json", str(out),
               "--per-file", "--no-progress"])
    printed = capsys.readouterr().out
    assert rc == 0
    assert "single-note" in printed and "accuracy_50c" in printed and "a4" in printed
    report = json.loads(out.read_text())
    assert report["task"] == "pitch" and report["baseline"] == "yin" and report["layout"] == "single-note"
    assert report["counts"] == {"files": 2, "scored": 2, "ok": 2, "missing": 0, "failed": 0}
    assert report["totals"]["accuracy_50c"] == 1.0
    by_stem = {f["stem"]: f["metrics"] for f in report["files"]}
    assert abs(by_stem["a4"]["cents_error"]) < 50 and by_stem["e3"]["ref_midi"] == 52.0


def test_json_is_not_overwritten_without_flag(tmp_path, capsys):
    data = _single_note_folder(tmp_path)
    out = tmp_path / "scores.json"
    out.write_text("keep me")
    rc = main(["eval", "--task", "pitch", "--data", str(data), "--baseline", "yin", "--json", str(out),
               "--no-progress"])
    assert rc == 2
    assert out.read_text() == "keep me"
    assert "--overwrite" in capsys.readouterr().err


def test_explicit_labels_csv_outside_the_data_folder(tmp_path, capsys):
    data = tmp_path / "data"
    _tone(data / "Clean" / "x" / "note.wav", 293.66)
    labels = tmp_path / "labels.csv"
    labels.write_text("file,midi_pitch\nClean/x/note.wav,62\n")
    rc = main(["eval", "--task", "pitch", "--data", str(data), "--baseline", "yin", "--single-note-labels",
               str(labels), "--no-progress"])
    assert rc == 0
    assert "1 of 1 file(s) scored" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--task", "pitch", "--data", "{missing}", "--baseline", "pyin"], ["data folder not found", "missing"]),
        (["--task", "chords", "--data", "{data}", "--baseline", "pyin"], ["'pyin'", "chroma-templates"]),
        (["--task", "onsets", "--data", "{data}", "--estimates", "{data}", "--save-estimates", "{data}"],
         ["--save-estimates needs --baseline"]),
        (["--task", "onsets", "--data", "{data}", "--baseline", "librosa-onset", "--single-note-labels", "x.csv"],
         ["--single-note-labels", "'onsets'"]),
    ],
)
def test_user_errors_exit_2_with_one_line(tmp_path, capsys, argv, words):
    data = tmp_path / "d"
    data.mkdir()
    argv = [a.format(missing=tmp_path / "missing", data=data) for a in argv]
    assert main(["eval", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("featherlight: error:")
    for word in words:
        assert word in err


def test_help_is_real(capsys):
    with pytest.raises(SystemExit) as info:
        main(["eval", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for word in ("--estimates", "--baseline", "--allow-missing", "--single-note-labels", "file,midi_pitch",
                 "exit status"):
        assert word in text


# --- dataset folders in the output contract (needs the annotation contract module) ------------------
def _contract():
    return pytest.importorskip("models.annotations.contract"), pytest.importorskip("models.annotations.dataset")


def _onset_dataset(tmp_path):
    contract, _ = _contract()
    data = tmp_path / "data"
    est = tmp_path / "est"
    data.mkdir()
    for stem, onsets in (("one", [0.2, 0.6]), ("two", [0.3, 0.9])):
        _tone(data / f"{stem}.wav", 440.0, 1.2)
        contract.write_analysis(Annotation(duration_s=1.2, onsets=np.array(onsets)), data, stem)
    contract.write_analysis(Annotation(duration_s=1.2, onsets=np.array([0.21, 0.8])), est, "one")
    return data, est


def test_dataset_estimates_missing_file_listed_and_exit_1(tmp_path, capsys):
    data, est = _onset_dataset(tmp_path)
    out = tmp_path / "o.json"
    rc = main(["eval", "--task", "onsets", "--data", str(data), "--estimates", str(est), "--json", str(out)])
    captured = capsys.readouterr()
    assert rc == 1
    assert "1 missing" in captured.out and "two.wav" in captured.out
    report = json.loads(out.read_text())
    assert report["missing"] == [str(data / "two.wav")]
    assert report["totals"]["tp_50ms"] == 1 and report["totals"]["n_ref_50ms"] == 4  # missing scored empty
    assert report["totals"]["f1_50ms"] == pytest.approx(2 * 1 / 6)
    # file bootstrap: resamples of {one (F1 0.5), two (0)} give 0, 1/3 or 0.5, the extremes a quarter each
    assert report["intervals"]["f1_50ms"] == [0.0, 0.5]
    assert "95% interval (2 files)" in captured.out and "0.000-0.500" in captured.out


def test_dataset_allow_missing_skips_and_exits_0(tmp_path, capsys):
    data, est = _onset_dataset(tmp_path)
    rc = main(["eval", "--task", "onsets", "--data", str(data), "--estimates", str(est), "--allow-missing",
               "--json", str(tmp_path / "o.json")])
    assert rc == 0
    totals = json.loads((tmp_path / "o.json").read_text())["totals"]
    assert totals["f1_50ms"] == 0.5 and totals["n_files"] == 1


def test_dataset_no_estimates_at_all_is_an_error(tmp_path, capsys):
    data, _ = _onset_dataset(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    rc = main(["eval", "--task", "onsets", "--data", str(data), "--estimates", str(empty), "--allow-missing"])
    assert rc == 2
    assert "nothing to score" in capsys.readouterr().err


def test_dataset_without_task_labels_is_an_error(tmp_path, capsys):
    data, est = _onset_dataset(tmp_path)
    rc = main(["eval", "--task", "chords", "--data", str(data), "--estimates", str(est)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "chords" in err


def test_baseline_save_estimates_round_trip(tmp_path, capsys):
    contract, _ = _contract()
    data = tmp_path / "data"
    data.mkdir()
    clicks = np.zeros(2 * SR, np.float32)
    for c in (0.25, 0.75, 1.25):
        clicks[int(c * SR):int(c * SR) + 40] = np.hanning(40)
    sf.write(data / "clicks.wav", clicks, SR)
    contract.write_analysis(Annotation(duration_s=2.0, onsets=np.array([0.25, 0.75, 1.25])), data, "clicks")
    saved = tmp_path / "saved"
    rc = main(["eval", "--task", "onsets", "--data", str(data), "--baseline", "librosa-onset", "--save-estimates",
               str(saved), "--no-progress", "--per-file"])
    out = capsys.readouterr().out
    assert rc == 0 and "clicks" in out
    assert (saved / "clicks.onsets.csv").is_file()
    rc = main(["eval", "--task", "onsets", "--data", str(data), "--estimates", str(saved), "--json",
               str(tmp_path / "o.json")])
    assert rc == 0
    assert json.loads((tmp_path / "o.json").read_text())["totals"]["f1_50ms"] == 1.0


def test_chords_dataset_with_baseline(tmp_path, capsys):
    contract, _ = _contract()
    data = tmp_path / "data"
    data.mkdir()
    t = np.arange(SR) / SR
    y = sum(np.sin(2 * np.pi * 440 * 2 ** ((m - 69) / 12) * t) for m in (60, 64, 67)) * 0.1
    sf.write(data / "c.wav", y.astype(np.float32), SR)
    contract.write_analysis(Annotation(duration_s=1.0, chords=(ChordSegment(0.0, 1.0, "C:maj"),)), data, "c")
    rc = main(["eval", "--task", "chords", "--data", str(data), "--baseline", "chroma-templates", "--json",
               str(tmp_path / "o.json"), "--no-progress"])
    assert rc == 0
    totals = json.loads((tmp_path / "o.json").read_text())["totals"]
    assert totals["majmin"] >= 0.9 and totals["duration_s"] == 1.0


def test_unreadable_audio_is_listed_as_failed_and_exit_1(tmp_path, capsys):
    data = _single_note_folder(tmp_path)
    (data / "audio" / "broken.wav").write_bytes(b"not audio")
    with open(data / "labels.csv", "a") as fh:
        fh.write("broken.wav,60\n")
    rc = main(["eval", "--task", "pitch", "--data", str(data), "--baseline", "yin", "--no-progress",
               "--json", str(tmp_path / "o.json")])
    out = capsys.readouterr().out
    assert rc == 1
    assert "1 failed" in out and "broken.wav" in out
    report = json.loads((tmp_path / "o.json").read_text())
    assert report["counts"]["failed"] == 1
    assert report["totals"]["accuracy_50c"] == pytest.approx(2 / 3)  # the broken file counts as wrong
    assert report["totals"]["n_no_pitch"] == 1


def test_pitch_dataset_with_baseline(tmp_path, capsys):
    contract, _ = _contract()
    from models.annotations.types import F0Track, Note

    data = tmp_path / "data"
    _tone(data / "a.wav", 440.0, 1.0)
    times = np.arange(100) * 0.01
    ref = Annotation(duration_s=1.0, f0=F0Track(times, np.full(100, 440.0), np.ones(100)),
                     notes=(Note(0.0, 1.0, 69),))
    contract.write_analysis(ref, data, "a")
    rc = main(["eval", "--task", "pitch", "--data", str(data), "--baseline", "yin", "--json",
               str(tmp_path / "o.json"), "--no-progress"])
    assert rc == 0
    report = json.loads((tmp_path / "o.json").read_text())
    assert report["layout"] == "dataset"
    assert report["totals"]["rpa"] >= 0.9 and report["totals"]["note_f1"] == 1.0
    assert "rpa" in capsys.readouterr().out
