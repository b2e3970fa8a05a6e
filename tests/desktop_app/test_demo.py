"""The bundled demo: it loads, lasts 20 s, and its labels agree with each other and with its sound."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from desktop_app import demo
from models.annotations.contract import OUTPUT_SUFFIXES
from models.annotations.types import DRUM_CLASSES
from models.audio import audio_info, load_audio
from models.errors import AudioFileNotFoundError, FeatherlightError

REPO_ROOT = Path(__file__).resolve().parents[2]
PROGRESSION = ["N", "C:maj", "A:min", "F:maj", "G:maj", "C:maj", "A:min", "F:maj", "G:maj", "C:maj", "N"]


def test_demo_file_loads_and_lasts_twenty_seconds():
    path = demo.demo_file()
    assert path.name == "demo.ogg" and path.parent == demo.demo_dir()
    info = audio_info(path)
    assert (info.sample_rate_hz, info.channels) == (22050, 1)
    assert path.stat().st_size < 400_000
    audio = load_audio(path, 16000)
    assert audio.shape == (320_000,)
    assert 0.5 < float(np.max(np.abs(audio))) <= 1.0


def test_description_matches_the_committed_file():
    info = demo.demo_info()
    path = demo.demo_file()
    assert info["audio"] == path.name
    assert info["audio_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (info["duration_s"], info["sample_rate_hz"], info["seed"]) == (20.0, 22050, 2024)
    assert info["soundfont"] and "make_demo.py" in info["command"]
    assert info["labels"] == [f"demo{s}" for s in OUTPUT_SUFFIXES.values()]
    assert all((demo.demo_dir() / name).is_file() for name in info["labels"])


def test_labels_are_consistent_with_each_other():
    ref = demo.demo_reference()
    counts = demo.demo_info()["counts"]
    assert ref.duration_s == pytest.approx(20.0)
    assert (len(ref.notes), len(ref.chords), len(ref.drums), ref.onsets.size) == (
        counts["notes"], counts["chords"], counts["drums"], counts["onsets"]) == (26, 11, 102, 65)
    # chords: the progression, back to back from 0 to the end
    assert [c.label for c in ref.chords] == PROGRESSION
    assert ref.chords[0].start_s == 0.0 and ref.chords[-1].end_s == pytest.approx(20.0)
    assert all(a.end_s == b.start_s for a, b in zip(ref.chords, ref.chords[1:]))
    assert ref.chords[1].start_s == pytest.approx(0.5, abs=0.003)  # the music starts at 0.5 s
    # drums: the groove's classes, 8 bars of 8 hats, 2-3 kicks and 2 snares, then kick + crash
    by_class = {d: sum(h.drum == d for h in ref.drums) for d in DRUM_CLASSES}
    assert by_class == {"kick": 21, "snare": 16, "hihat": 64, "tom": 0, "crash": 1, "ride": 0}
    # notes: monophonic, in the flute's range, inside the music
    assert all(71 <= n.pitch_midi <= 84 for n in ref.notes)
    assert all(a.offset_s <= b.onset_s for a, b in zip(ref.notes, ref.notes[1:]))
    assert ref.notes[0].onset_s == pytest.approx(0.5, abs=0.003) and ref.notes[-1].offset_s < 18.5
    # onsets: every note and drum hit starts at a labelled onset
    for t in [n.onset_s for n in ref.notes] + [h.time_s for h in ref.drums]:
        assert np.min(np.abs(ref.onsets - t)) < 1e-6
    # f0: 10 ms frames; voiced at each note's pitch in the middle of the note
    assert len(ref.f0) == 2001 and ref.f0.times_s[1] == pytest.approx(0.01)
    for n in ref.notes:
        i = int(round((n.onset_s + n.offset_s) / 2 / 0.01))
        assert ref.f0.f0_hz[i] == pytest.approx(440.0 * 2 ** ((n.pitch_midi - 69) / 12), rel=1e-6)
    assert not ref.f0.voiced[ref.f0.times_s < 0.5].any()


def test_the_melody_sounds_at_the_labelled_pitches():
    sr = 22050
    audio = load_audio(demo.demo_file(), sr)
    freqs = np.fft.rfftfreq(16384, 1 / sr)
    band = (freqs > 400) & (freqs < 1100)  # the flute's range; piano and bass sit below
    for n in demo.demo_reference().notes:
        mid = int((n.onset_s + n.offset_s) / 2 * sr)
        spectrum = np.abs(np.fft.rfft(audio[mid - 2048: mid + 2048] * np.hanning(4096), 16384))
        peak_hz = freqs[band][np.argmax(spectrum[band])]
        assert abs(12 * np.log2(peak_hz / 440.0) + 69 - n.pitch_midi) < 0.5, (n, peak_hz)


def test_missing_demo_names_the_file_and_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(demo, "demo_dir", lambda: tmp_path)
    with pytest.raises(demo.DemoMissingError, match="demo.ogg is missing.*make_demo.py") as info:
        demo.demo_file()
    assert isinstance(info.value, AudioFileNotFoundError) and isinstance(info.value, FeatherlightError)
    with pytest.raises(demo.DemoMissingError, match="demo.json is missing"):
        demo.demo_info()


@pytest.mark.needs_fluidsynth
def test_script_regenerates_the_same_labels_and_samples(tmp_path):
    spec = importlib.util.spec_from_file_location("make_demo", REPO_ROOT / "scripts" / "make_demo.py")
    make_demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_demo)
    committed = demo.demo_info()
    font = f"/usr/share/sounds/sf2/{committed['soundfont']}"
    if not Path(font).is_file():
        pytest.skip(f"the demo's soundfont {font} is not installed")
    info = make_demo.build(tmp_path, font)
    for name in committed["labels"]:
        assert (tmp_path / name).read_bytes() == (demo.demo_dir() / name).read_bytes(), name
    assert info["counts"] == committed["counts"]
    if info["synthesiser"] == committed["synthesiser"]:
        assert info["samples_sha256"] == committed["samples_sha256"]
    with pytest.raises(FeatherlightError, match="already exist"):
        make_demo.build(tmp_path, font)
