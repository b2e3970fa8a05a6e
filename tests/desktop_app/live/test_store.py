"""AnalysisStore: versions and change ranges, time windows, the tuner readout, export, clear."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from desktop_app.live.store import LAYERS, AnalysisStore, SpectrogramConfig, note_name, tuner_reading_for
from models.annotations.types import ChordSegment, DrumHit, F0Track, Note
from models.errors import ConfigError
from models.runtime.analyzer import AnalysisEvents


def events(f0_times=(), f0_hz=(), notes=(), chords=(), current=None, drums=(), onsets=(), latest_s=0.0):
    n = len(f0_times)
    return AnalysisEvents(
        f0=F0Track(np.asarray(f0_times, float), np.asarray(f0_hz, float), np.ones(n)),
        notes=tuple(notes), chords=tuple(chords), current_chord=current, drums=tuple(drums),
        onsets_s=np.asarray(onsets, float), frames_done=int(round(latest_s * 100)), latest_time_s=latest_s,
    )


def test_note_names_and_tuner_readings():
    assert [note_name(m) for m in (21, 60, 61, 69, 108)] == ["A0", "C4", "C#4", "A4", "C8"]
    assert tuner_reading_for(440.0).as_tuple() == ("A4", 0.0, 440.0)
    r = tuner_reading_for(452.0)
    assert r.note == "A4" and round(r.cents) == 47 and r.cents == pytest.approx(46.583, abs=1e-3)
    r = tuner_reading_for(430.0)
    assert r.note == "A4" and round(r.cents) == -40
    assert tuner_reading_for(261.6256).note == "C4"
    assert tuner_reading_for(27.5).note == "A0"
    with pytest.raises(ConfigError, match="positive finite"):
        tuner_reading_for(0.0)


def test_versions_and_changes_since():
    store = AnalysisStore()
    v0 = store.version
    assert not store.changes_since(v0).any
    v1 = store.add(events(f0_times=[0.0, 0.01, 0.02], f0_hz=[440, 440, -300], onsets=[0.005], latest_s=0.03))
    assert v1 == v0 + 1 == store.version
    v2 = store.add(events(f0_times=[0.03], f0_hz=[441], notes=[Note(0.0, 0.03, 69)],
                          drums=[DrumHit(0.01, "kick"), DrumHit(0.02, "snare")], current="C:maj", latest_s=0.04))
    assert v2 == v1 + 1
    # nothing new -> version unchanged
    assert store.add(events(current="C:maj", latest_s=0.04)) == v2
    c = store.changes_since(v0)
    assert (c.f0, c.notes, c.chords, c.drums, c.onsets) == ((0, 4), (0, 1), (0, 0), (0, 2), (0, 1))
    assert not c.cleared and c.current_changed and c.version == v2
    c = store.changes_since(v1)
    assert (c.f0, c.notes, c.drums, c.onsets) == ((3, 4), (0, 1), (0, 2), (1, 1))
    assert c.changed_layers() == ("f0", "notes", "drums")
    assert not store.changes_since(v2).any
    assert store.current_chord == "C:maj"
    assert store.counts() == dict(zip(LAYERS, (4, 1, 0, 2, 1)))
    with pytest.raises(ConfigError, match="newer than the store"):
        store.changes_since(v2 + 5)


def test_clear_marks_everything_for_redraw():
    store = AnalysisStore()
    store.add(events(f0_times=[0.0], f0_hz=[440], latest_s=0.01))
    before = store.version
    store.clear()
    assert store.version == before + 1
    c = store.changes_since(before)
    assert c.cleared and c.f0 == (0, 0) and c.changed_layers() == LAYERS
    store.add(events(f0_times=[0.0, 0.01], f0_hz=[440, 440], latest_s=0.02))
    assert store.changes_since(before).f0 == (0, 2)
    assert store.changes_since(store.version - 1).f0 == (0, 2)
    assert store.current_chord is None and store.tuner_reading() is not None


def test_time_windows():
    store = AnalysisStore()
    times = np.arange(300) * 0.01
    store.add(events(f0_times=times, f0_hz=np.full(300, 220.0), latest_s=3.0))
    store.add(events(notes=[Note(0.1, 0.5, 60), Note(0.6, 1.0, 62), Note(2.0, 2.5, 64)],
                     chords=[ChordSegment(0.0, 1.0, "C:maj"), ChordSegment(1.0, 2.0, "A:min"), ChordSegment(2.0, 3.0, "N")],
                     drums=[DrumHit(0.25, "kick"), DrumHit(0.5, "snare"), DrumHit(0.75, "kick"), DrumHit(1.0, "hihat")],
                     onsets=[0.1, 0.6, 2.0], latest_s=3.0))
    f0 = store.f0_between(0.5, 0.6)
    np.testing.assert_allclose(f0.times_s, np.arange(50, 60) * 0.01)
    assert len(store.f0_between(5.0, 6.0)) == 0
    assert [n.pitch_midi for n in store.notes_between(0.4, 0.7)] == [60, 62]
    assert [n.pitch_midi for n in store.notes_between(1.0, 2.0)] == []  # touching ends do not overlap
    assert [c.label for c in store.chords_between(0.5, 1.5)] == ["C:maj", "A:min"]
    assert [h.time_s for h in store.drums_between(0.25, 1.0)] == [0.25, 0.5, 0.75]
    assert [h.time_s for h in store.drums_between(0.0, 2.0, drum="kick")] == [0.25, 0.75]
    np.testing.assert_array_equal(store.onsets_between(0.5, 2.0), [0.6])
    assert store.chord_at(1.0) == "A:min" and store.chord_at(0.2) == "C:maj" and store.chord_at(3.5) is None
    with pytest.raises(ConfigError, match="after its end"):
        store.notes_between(2.0, 1.0)


def test_tuner_reading_latest_and_at_time():
    store = AnalysisStore()
    assert store.tuner_reading() is None
    store.add(events(f0_times=[0.0, 0.01, 0.02], f0_hz=[440.0, 452.0, -452.0], latest_s=0.03))
    r = store.tuner_reading()  # the newest frame is unvoiced, the one before is recent enough
    assert r.note == "A4" and round(r.cents) == 47 and r.f0_hz == 452.0 and r.time_s == 0.02 - 0.01
    assert store.tuner_reading(at_s=0.0).as_tuple() == ("A4", 0.0, 440.0)
    store.add(events(f0_times=np.arange(3, 40) * 0.01, f0_hz=np.full(37, -1.0), latest_s=0.4))
    assert store.tuner_reading() is None  # the last voiced frame is 0.38 s old
    assert store.tuner_reading(max_age_s=1.0).f0_hz == 452.0


def test_tuner_reading_looks_back_only_max_age_s_and_agrees_with_a_full_scan():
    rng = np.random.default_rng(3)
    store = AnalysisStore()
    n = 20_000
    times = np.arange(n) * 0.01
    f0 = np.where(rng.random(n) < 0.03, 220.0 + rng.random(n), -1.0)  # sparse voiced frames
    store.add(events(f0_times=times, f0_hz=f0, latest_s=n * 0.01))

    def full_scan(at_s, max_age_s):
        ref = n - 1 if at_s is None else int(np.clip(np.searchsorted(times, at_s, side="right") - 1, 0, n - 1))
        voiced = np.flatnonzero(f0[: ref + 1] > 0)
        if voiced.size == 0 or times[ref] - times[voiced[-1]] > max_age_s:
            return None
        return float(f0[voiced[-1]]), float(times[voiced[-1]])

    for at_s in [None, *rng.uniform(0.0, n * 0.01, 300)]:
        for max_age_s in (0.0, 0.03, 0.1, 0.5, np.inf):
            got = store.tuner_reading(at_s, max_age_s=max_age_s)
            assert (None if got is None else (got.f0_hz, got.time_s)) == full_scan(at_s, max_age_s)


def test_to_annotation_keeps_only_analysed_tasks(tmp_path):
    from models.annotations.contract import write_analysis

    store = AnalysisStore(tasks=("chords", "onsets"))
    store.add(events(chords=[ChordSegment(0.0, 1.0, "G:maj")], onsets=[0.2, 0.7], latest_s=1.0))
    ann = store.to_annotation()
    assert ann.duration_s == 1.0 and ann.f0 is None and ann.notes is None and ann.drums is None
    assert [c.label for c in ann.chords] == ["G:maj"]
    np.testing.assert_array_equal(ann.onsets, [0.2, 0.7])
    written = write_analysis(ann, tmp_path, "take1")
    assert any(p.suffix == ".lab" for p in written)
    lab = next(p for p in written if p.suffix == ".lab").read_text()
    assert "G:maj" in lab
    with pytest.raises(ConfigError, match="unknown task"):
        store.clear(tasks=("melody",))


def test_f0_buffer_grows_amortised():
    store = AnalysisStore()
    for k in range(3000):  # 3000 single-frame adds: past several capacity doublings
        store.add(events(f0_times=[k * 0.01], f0_hz=[100.0 + k], latest_s=(k + 1) * 0.01))
    track = store.f0_track()
    assert len(track) == 3000 and track.f0_hz[-1] == 3099.0 and track.times_s[1234] == pytest.approx(12.34)
    assert store.changes_since(store.version - 10).f0 == (2990, 3000)


# --- spectrogram -------------------------------------------------------------------------------------
def with_features(features, first_frame, f0_times=(), f0_hz=()):
    features = np.asarray(features, dtype=np.float32)
    done = first_frame + features.shape[0]
    base = events(f0_times=f0_times, f0_hz=f0_hz, latest_s=done * 0.01)
    return AnalysisEvents(f0=base.f0, notes=(), chords=(), current_chord=None, drums=(), onsets_s=np.zeros(0),
                          frames_done=done, latest_time_s=done * 0.01, features=features, first_frame=first_frame)


def test_spectrogram_columns_are_quantised_with_change_ranges():
    store = AnalysisStore()
    v0 = store.version
    frames = np.array([[0.0, 8.0, 4.0], [1.0, 2.0, 100.0], [-1.0, 0.015, 0.05]])
    v1 = store.add(with_features(frames, 0))  # features alone are a change
    assert v1 == v0 + 1 and len(store.spectrogram) == 3
    np.testing.assert_array_equal(store.spectrogram.columns(), [[0, 255, 128], [32, 64, 255], [0, 0, 2]])
    v2 = store.add(with_features(np.full((2, 3), 2.0), 3))
    c = store.changes_since(v1)
    assert c.spectrogram == (3, 5) and not c.spectrogram_rebuilt and c.spectrogram_changed and c.any
    assert c.changed_layers() == ()  # the event layers did not change
    assert store.changes_since(v0).spectrogram == (0, 5)
    assert not store.changes_since(v2).spectrogram_changed
    assert store.spectrogram.column_time_s(4) == pytest.approx(0.04) and store.spectrogram.column_s == 0.01
    with pytest.raises(ConfigError, match="clear the store"):
        store.add(with_features(np.zeros((1, 5)), 5))
    store.clear()
    c = store.changes_since(v2)
    assert c.cleared and c.spectrogram_rebuilt and c.spectrogram == (0, 0) and len(store.spectrogram) == 0
    store.add(with_features(np.zeros((1, 5)), 0))  # a new stream may change the bins
    assert store.spectrogram.n_bins == 5


def test_spectrogram_gaps_are_silence_and_overlaps_are_dropped():
    store = AnalysisStore()
    store.add(with_features(np.full((2, 2), 8.0), 0))
    store.add(with_features(np.full((1, 2), 4.0), 4))  # frames 2 and 3 missing
    store.add(with_features(np.full((2, 2), 1.0), 4))  # frame 4 again, then 5
    np.testing.assert_array_equal(store.spectrogram.columns()[:, 0], [255, 255, 0, 0, 128, 32])


def test_spectrogram_merges_columns_at_the_cap_and_says_so():
    store = AnalysisStore(spectrogram=SpectrogramConfig(max_columns=4, level_max=255.0))
    store.add(with_features(np.arange(3)[:, None] * [1.0, 2.0], 0))  # values 0..2 -> levels 0..2
    v = store.version
    store.add(with_features(np.arange(3, 7)[:, None] * [1.0, 2.0], 3))  # 7 frames > 4 columns: merge once
    spec = store.spectrogram
    assert spec.decimation == 2 and spec.rebuilds == 1 and spec.column_s == pytest.approx(0.02)
    np.testing.assert_array_equal(spec.columns(), [[1, 2], [3, 6], [5, 10]])  # pairwise maxima; frame 6 pending
    c = store.changes_since(v)
    assert c.spectrogram_rebuilt and c.spectrogram == (0, 3)
    store.add(with_features([[0.0, 0.0]], 7))  # completes the pending column (max of frames 6 and 7)
    np.testing.assert_array_equal(spec.columns()[-1], [6, 12])
    c = store.changes_since(store.version - 1)
    assert c.spectrogram == (3, 4) and not c.spectrogram_rebuilt
    assert spec.column_time_s(3) == pytest.approx(0.06)
    assert spec.nbytes <= 4 * 2
    with pytest.raises(ConfigError, match="max_columns=1"):
        SpectrogramConfig(max_columns=1)


def test_one_hour_of_spectrogram_stays_under_50_mb():
    store = AnalysisStore()
    chunk = np.ones((6000, 288), dtype=np.float32)  # one minute of 10 ms frames
    for minute in range(60):
        store.add(with_features(chunk * (minute % 7), minute * 6000))
    spec = store.spectrogram
    assert spec.decimation == 4 and len(spec) == 90000  # 40 ms columns
    assert spec.nbytes <= 131072 * 288 < 50e6
    assert spec.column_time_s(len(spec) - 1) == pytest.approx(3600 - 0.04)
    assert spec.columns()[-1, 0] == spec.quantise(np.array([59 % 7]))[0]


def test_whole_file_chords_replace_the_online_ones():
    store = AnalysisStore()
    v0 = store.version
    store.add(events(chords=[ChordSegment(0.0, 1.0, "C:maj"), ChordSegment(1.0, 2.0, "A:min")], latest_s=2.0))
    v1 = store.add(events(f0_times=[2.0], f0_hz=[440], chords=[ChordSegment(2.0, 2.5, "F:maj")], latest_s=2.5))
    revised = (ChordSegment(0.0, 1.1, "C:maj"), ChordSegment(1.1, 2.5, "A:min"))
    final = dataclasses.replace(events(latest_s=2.5), revised_chords=revised)
    assert not final.is_empty
    v2 = store.add(final)
    assert v2 == v1 + 1
    assert store.chords == revised
    assert store.chords_between(2.2, 2.4) == [revised[1]] and store.chord_at(1.05) == "C:maj"
    c = store.changes_since(v1)
    assert c.replaced == ("chords",) and c.chords == (0, 2) and c.any and c.changed_layers() == ("chords",)
    assert c.f0 == (1, 1)  # the other layers keep their incremental ranges
    c = store.changes_since(v0)
    assert c.replaced == ("chords",) and c.chords == (0, 2) and c.f0 == (0, 1)
    assert store.changes_since(v2).replaced == () and not store.changes_since(v2).any
    assert store.to_annotation().chords == revised
    store.clear()
    assert store.chords == () and store.changes_since(v2).cleared and store.changes_since(v2).replaced == ()


def test_whole_file_f0_and_notes_replace_the_online_ones():
    store = AnalysisStore()
    store.add(events(f0_times=[0.0, 0.01, 0.02], f0_hz=[440, -440, 440], notes=[Note(0.0, 0.01, 69)], latest_s=0.03))
    v1 = store.version
    revised_f0 = F0Track(np.array([0.0, 0.01, 0.02]), np.array([440.0, 441.0, 442.0]), np.ones(3))
    revised_notes = (Note(0.0, 0.03, 69),)
    store.add(dataclasses.replace(events(latest_s=0.03), revised_f0=revised_f0, revised_notes=revised_notes))
    np.testing.assert_array_equal(store.f0_track().f0_hz, [440.0, 441.0, 442.0])
    assert store.notes == revised_notes and store.notes_between(0.02, 0.025) == [revised_notes[0]]
    assert store.tuner_reading().note == "A4"
    c = store.changes_since(v1)
    assert c.replaced == ("f0", "notes") and (c.f0, c.notes, c.chords) == ((0, 3), (0, 1), (0, 0))
