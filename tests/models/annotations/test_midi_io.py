"""models.annotations.midi_io: notes and GM drums as MIDI, checked independently with mido."""

from __future__ import annotations

import logging

import mido
import pytest

from models.annotations.midi_io import load_drums_midi, load_notes_midi, write_drums_midi, write_notes_midi
from models.annotations.types import DRUM_CLASS_TO_GM_KEY, DRUM_CLASSES, DrumHit, Note
from models.errors import AnnotationFormatError, OverwriteError


def _note_ons(path):
    """(absolute time s, channel, key, velocity) of every note-on, read with mido."""
    events, now = [], 0.0
    for msg in mido.MidiFile(path):
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            events.append((now, msg.channel, msg.note, msg.velocity))
    return events


def test_notes_round_trip_within_1ms(tmp_path):
    notes = (Note(0.0, 0.5, 60.0, 100), Note(0.1234, 0.9876, 64.0, 1), Note(1.0005, 1.0015, 72.0, 127),
             Note(2.3333, 4.0, 21.0, 64))
    path = write_notes_midi(tmp_path / "n.mid", notes)
    back = load_notes_midi(path)
    assert len(back) == len(notes)
    for a, b in zip(notes, back):
        assert abs(a.onset_s - b.onset_s) <= 1e-3
        assert abs(a.offset_s - b.offset_s) <= 1e-3
        assert (a.pitch_midi, a.velocity) == (b.pitch_midi, b.velocity)
    assert all(ch != 9 for _, ch, _, _ in _note_ons(path))


def test_drums_on_channel_10_with_gm_keys(tmp_path):
    hits = tuple(DrumHit(0.1 * i + 0.0007, drum, 40 + i) for i, drum in enumerate(DRUM_CLASSES))
    path = write_drums_midi(tmp_path / "d.mid", hits)
    ons = _note_ons(path)
    assert [ch for _, ch, _, _ in ons] == [9] * len(DRUM_CLASSES)  # mido counts channels from 0
    assert [key for _, _, key, _ in ons] == [36, 38, 42, 45, 49, 51]
    assert [key for _, _, key, _ in ons] == [DRUM_CLASS_TO_GM_KEY[d] for d in DRUM_CLASSES]
    assert [vel for _, _, _, vel in ons] == [40, 41, 42, 43, 44, 45]
    back = load_drums_midi(path)
    assert [h.drum for h in back] == list(DRUM_CLASSES)
    assert [h.velocity for h in back] == [40, 41, 42, 43, 44, 45]
    assert max(abs(a.time_s - b.time_s) for a, b in zip(hits, back)) <= 1e-3


def test_fast_repeated_hits_survive(tmp_path):
    hits = tuple(DrumHit(0.5 + 0.01 * i, "snare") for i in range(5))  # a 10 ms roll
    back = load_drums_midi(write_drums_midi(tmp_path / "roll.mid", hits))
    assert len(back) == 5
    assert max(abs(a.time_s - b.time_s) for a, b in zip(hits, back)) <= 1e-3


def _handmade_midi(path):
    """A type-1 file from another tool: a bass track, a second melody track and a drum track with
    one cowbell (key 56, unmapped) and one pedal hi-hat (44, mapped)."""
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    tempo = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000, time=0)])
    bass = mido.MidiTrack([mido.Message("note_on", channel=0, note=40, velocity=90, time=0),
                           mido.Message("note_off", channel=0, note=40, velocity=0, time=480)])
    lead = mido.MidiTrack([mido.Message("note_on", channel=1, note=76, velocity=70, time=240),
                           mido.Message("note_on", channel=1, note=76, velocity=0, time=240)])
    drums = mido.MidiTrack([mido.Message("note_on", channel=9, note=56, velocity=80, time=0),
                            mido.Message("note_on", channel=9, note=44, velocity=81, time=480),
                            mido.Message("note_off", channel=9, note=56, velocity=0, time=10),
                            mido.Message("note_off", channel=9, note=44, velocity=0, time=0)])
    mid.tracks.extend([tempo, bass, lead, drums])
    mid.save(path)


def test_reading_merges_tracks_and_counts_unmapped_drum_keys(tmp_path, caplog):
    path = tmp_path / "song.mid"
    _handmade_midi(path)
    assert load_notes_midi(path) == (Note(0.0, 0.5, 40.0, 90), Note(0.25, 0.5, 76.0, 70))
    with caplog.at_level(logging.WARNING):
        hits = load_drums_midi(path)
    assert hits == (DrumHit(0.5, "hihat", 81),)
    assert "skipped 1 drum note" in caplog.text and "key 56" in caplog.text


@pytest.mark.parametrize("content", [b"", b"MThd garbage", b"not midi at all" * 10])
def test_malformed_midi(tmp_path, content):
    path = tmp_path / "bad.mid"
    path.write_bytes(content)
    with pytest.raises(AnnotationFormatError, match="bad.mid"):
        load_notes_midi(path)


def test_refuses_overwrite(tmp_path):
    write_notes_midi(tmp_path / "n.mid", [Note(0, 1, 60)])
    with pytest.raises(OverwriteError):
        write_notes_midi(tmp_path / "n.mid", [Note(0, 1, 62)])
    assert load_notes_midi(tmp_path / "n.mid")[0].pitch_midi == 60.0
