"""Rendering from source folders: tiny POP909 / Groove look-alikes built in tmp_path, and (when the
shared data is present) a couple of real POP909 songs and Groove sessions."""

from __future__ import annotations

import csv
import json

import numpy as np
import pretty_midi
import pytest

from models.annotations.csv_io import load_drums_csv, load_notes_csv
from models.annotations.lab import load_lab
from models.corpus.config import CorpusConfig
from models.corpus.harte import transpose_label
from models.corpus.render import render_corpus
from models.corpus.sources import detect_source
from models.errors import CorpusError

SONG_S = 60.0


def _fake_pop909(root, songs=("001", "002", "003", "004")):
    root.mkdir()
    for k, song in enumerate(songs):
        pm = pretty_midi.PrettyMIDI(initial_tempo=120)
        mel, bridge, piano = (pretty_midi.Instrument(0, name=n) for n in ("MELODY", "BRIDGE", "PIANO"))
        t = 1.0
        while t < SONG_S - 1:
            mel.notes.append(pretty_midi.Note(90, 67 + (int(t) % 5), t, t + 0.45))
            t += 0.5
        for bar in range(int(SONG_S // 2)):
            start = bar * 2.0
            for p in (48, 52, 55):  # C major triads
                piano.notes.append(pretty_midi.Note(70, p, start, start + 1.9))
            bridge.notes.append(pretty_midi.Note(60, 72, start + 1.0, start + 1.5))
        pm.instruments += [mel, bridge, piano]
        (root / song).mkdir()
        pm.write(str(root / song / f"{song}.mid"))
        lines = ["0.0\t1.0\tN"] + [f"{b * 2.0 + 1.0:.3f}\t{b * 2.0 + 3.0:.3f}\tC:maj" for b in range(int(SONG_S // 2) - 1)]
        (root / song / "chord_midi.txt").write_text("\n".join(lines) + "\n")
    return root


def _fake_groove(root, sessions=("drummer1/session1", "drummer1/session2", "drummer2/session1")):
    root.mkdir()
    rows = []
    for s_i, session in enumerate(sessions):
        for take in range(2):
            pm = pretty_midi.PrettyMIDI(initial_tempo=100)
            drums = pretty_midi.Instrument(0, is_drum=True)
            for step in range(160):
                t = step * 0.15
                keys = [22 if step % 2 else 26]  # Roland-only hi-hat keys
                if step % 4 == 0:
                    keys.append(36)
                if step % 8 == 4:
                    keys.append(38)
                if step % 32 == 31:
                    keys.append(58)
                for key in keys:
                    drums.notes.append(pretty_midi.Note(100, key, t, t + 0.05))
            pm.instruments.append(drums)
            rel = f"{session}/{take + 1}_rock_100_beat_4-4.mid"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            pm.write(str(root / rel))
            rows.append({"drummer": session.split("/")[0], "session": session, "id": f"{session}/{take + 1}",
                         "style": "rock", "bpm": 100, "beat_type": "beat", "time_signature": "4-4",
                         "midi_filename": rel, "audio_filename": "", "duration": 24.0, "split": "train"})
    with open(root / "info.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_detect_sources_by_layout(tmp_path):
    pop = detect_source(_fake_pop909(tmp_path / "pop"))
    assert (pop.kind, pop.pieces) == ("pop909", ("001", "002", "003", "004"))
    groove = detect_source(_fake_groove(tmp_path / "groove"))
    assert groove.kind == "groove" and groove.pieces == ("drummer1/session1", "drummer1/session2", "drummer2/session1")
    (tmp_path / "other").mkdir()
    with pytest.raises(CorpusError, match="neither a POP909 folder") as err:
        detect_source(tmp_path / "other")
    assert str(tmp_path / "other") in str(err.value)
    with pytest.raises(CorpusError, match="not found"):
        detect_source(tmp_path / "missing")


@pytest.mark.needs_fluidsynth
def test_chords_from_pop909_follow_tempo_and_transposition(tmp_path, font):
    pop = _fake_pop909(tmp_path / "pop")
    cfg = CorpusConfig(task="chords", minutes=1.5, seed=1, sources=(str(pop),), soundfonts=(font,),
                       procedural_fraction=0.0)
    manifest = render_corpus(cfg, tmp_path / "out", progress=False)
    assert {i["source"] for i in manifest["items"]} == {"pop909"}
    for item in manifest["items"]:
        segs = load_lab(tmp_path / "out" / item["split"] / f"{item['stem']}.chords.lab")
        expected = transpose_label("C:maj", item["transpose_semitones"])
        assert {s.label for s in segs} <= {"N", expected}
        assert segs[0].start_s == 0.0 and segs[-1].end_s == pytest.approx(item["duration_s"], abs=1e-3)
        start, tempo = item["excerpt_start_s"], item["tempo_factor"]
        # the source chord runs from 1.0 s to the end; its start maps through the excerpt start and tempo
        chord = [s for s in segs if s.label != "N"]
        source_first = max(1.0, start)
        assert chord[0].start_s == pytest.approx(max(0.0, (source_first - start) / tempo), abs=2e-3)


@pytest.mark.needs_fluidsynth
def test_pitch_from_pop909_melody_is_transposed_into_range(tmp_path, font):
    pop = _fake_pop909(tmp_path / "pop")
    cfg = CorpusConfig(task="pitch", minutes=1.0, seed=2, sources=(str(pop),), soundfonts=(font,),
                       procedural_fraction=0.0)
    manifest = render_corpus(cfg, tmp_path / "out", progress=False)
    from models.corpus.instruments import MELODIC

    ranges = {i.program: (i.low_midi, i.high_midi) for i in MELODIC}
    for item in manifest["items"]:
        notes = load_notes_csv(tmp_path / "out" / item["split"] / f"{item['stem']}.notes.csv")
        pitches = {int(n.pitch_midi) - item["transpose_semitones"] for n in notes}
        assert pitches <= {67, 68, 69, 70, 71}
        lo, hi = ranges[item["melody_program"]]
        assert all(lo <= n.pitch_midi <= hi for n in notes)
        gaps = np.diff([n.onset_s for n in notes])
        assert np.allclose(gaps, 0.5 / item["tempo_factor"], atol=0.005)


@pytest.mark.needs_fluidsynth
def test_drums_from_groove_map_roland_keys_and_split_by_session(tmp_path, font):
    groove = _fake_groove(tmp_path / "groove")
    pop = _fake_pop909(tmp_path / "pop")
    cfg = CorpusConfig(task="drums", minutes=2.0, seed=0, sources=(str(groove), str(pop)), soundfonts=(font,),
                       procedural_fraction=0.0)
    manifest = render_corpus(cfg, tmp_path / "out", progress=False)
    split_of_session = {}
    for item in manifest["items"]:
        assert item["source"] == "groove"
        split_of_session.setdefault(item["piece"], set()).add(item["split"])
        hits = load_drums_csv(tmp_path / "out" / item["split"] / f"{item['stem']}.drums.csv")
        classes = {h.drum for h in hits}
        assert {"kick", "snare", "hihat"} <= classes
        assert classes <= {"kick", "snare", "hihat", "tom"}
        if "music_bed" in item:
            assert item["music_bed"]["level_db"] <= -6
    assert all(len(v) == 1 for v in split_of_session.values())
    assert json.loads((tmp_path / "out" / "corpus.json").read_text())["sources"][0]["kind"] == "groove"


@pytest.mark.needs_fluidsynth
@pytest.mark.needs_shared_data
def test_real_pop909_and_groove(tmp_path, font, shared_data):
    sources = (str(shared_data / "pop909"), str(shared_data / "groove_midi"))
    for task in ("chords", "drums"):
        cfg = CorpusConfig(task=task, minutes=1.0, seed=7, sources=sources, soundfonts=(font,),
                           procedural_fraction=0.0)
        manifest = render_corpus(cfg, tmp_path / task, progress=False)
        assert manifest["complete"]
        kinds = {i["source"] for i in manifest["items"]}
        assert kinds == {"pop909" if task == "chords" else "groove"}
        for item in manifest["items"]:
            folder = tmp_path / task / item["split"]
            if task == "chords":
                segs = load_lab(folder / f"{item['stem']}.chords.lab")
                assert any(s.label != "N" for s in segs)
            else:
                assert len(load_drums_csv(folder / f"{item['stem']}.drums.csv")) > 20


@pytest.mark.needs_fluidsynth
def test_music_bed_settings_put_unlabelled_accompaniment_under_groove_and_procedural_drums(tmp_path, font):
    groove = _fake_groove(tmp_path / "groove")
    pop = _fake_pop909(tmp_path / "pop", songs=("001", "002", "027"))  # a piece in every split
    cfg = CorpusConfig(task="drums", minutes=1.5, seed=0, sources=(str(groove), str(pop)), soundfonts=(font,),
                       procedural_fraction=0.5, music_bed_probability=1.0, music_bed_level_db=(-3.0, 0.0),
                       music_bed_on_procedural=True)
    manifest = render_corpus(cfg, tmp_path / "out", progress=False)
    kinds = {item["kind"] for item in manifest["items"]}
    assert kinds == {"groove", "proc_drums"}
    for item in manifest["items"]:
        bed = item["music_bed"]  # every item: probability 1, procedural ones included
        assert -3.0 <= bed["level_db"] <= 0.0 and bed["programs"]
        assert [s["name"] for s in item["stems"]] == ["drums", "music"]
        # the accompaniment's notes never become drum labels: as many hits as the drum stem has notes
        hits = load_drums_csv(tmp_path / "out" / item["split"] / f"{item['stem']}.drums.csv")
        drum_notes = sum(p["notes"] for p in item["stems"][0]["parts"])
        assert 0 < len(hits) <= drum_notes
    assert manifest["config"]["music_bed_level_db"] == [-3.0, 0.0]
    # the defaults: no bed on procedural items
    plain = CorpusConfig(task="drums", minutes=1.5, seed=0, sources=(str(groove), str(pop)), soundfonts=(font,),
                         procedural_fraction=0.5, music_bed_probability=1.0)
    from models.corpus.plan import plan_items

    planned = plan_items(plain, [detect_source(groove), detect_source(pop)], [font])
    assert all(("music_bed" in i) == (i["kind"] == "groove") for i in planned)


def test_melody_accompaniment_probability_changes_only_the_accompaniment(tmp_path):
    from models.corpus.items import build_item
    from models.corpus.plan import plan_items

    pop = _fake_pop909(tmp_path / "pop")

    def built(probability):
        cfg = CorpusConfig(task="pitch", minutes=3.0, seed=0, sources=(str(pop),), soundfonts=("font.sf2",),
                           procedural_fraction=0.0, melody_accompaniment_probability=probability)
        specs = plan_items(cfg, [detect_source(pop)], ["font.sf2"])
        return specs, [build_item(spec, cfg) for spec in specs]

    plan_default, default = built(0.4)
    for probability, expected in ((0.0, False), (1.0, True)):
        plan, contents = built(probability)
        assert plan == plan_default  # the same items, pieces, excerpts and fonts
        for content, reference in zip(contents, default):
            assert ("accompaniment" in [s.name for s in content.stems]) is expected
            assert content.stems[0].parts[0].notes == reference.stems[0].parts[0].notes  # the same melody
    from models.errors import ConfigError

    with pytest.raises(ConfigError, match="--melody-accompaniment-probability"):
        CorpusConfig(task="pitch", minutes=1, melody_accompaniment_probability=1.5)


def test_onsets_label_the_accompaniment_of_melody_items_too(tmp_path):
    """Onset labels hold every note that sounds: a pop909 melody item's accompaniment as well (it used to
    be left out, so the onset model learnt to ignore audible notes); pitch keeps the melody alone."""
    from models.corpus.items import build_item
    from models.corpus.labels import all_onsets
    from models.corpus.plan import plan_items

    pop = _fake_pop909(tmp_path / "pop")
    for task in ("onsets", "pitch"):
        cfg = CorpusConfig(task=task, minutes=3.0, seed=0, sources=(str(pop),), soundfonts=("font.sf2",),
                           procedural_fraction=0.0)
        melody_items = [s for s in plan_items(cfg, [detect_source(pop)], ["font.sf2"]) if s["kind"] == "pop909_melody"]
        assert melody_items
        always = CorpusConfig(task=task, minutes=3.0, seed=0, sources=(str(pop),), soundfonts=("font.sf2",),
                              procedural_fraction=0.0, melody_accompaniment_probability=1.0)
        for spec in melody_items:
            content = build_item(spec, always)
            names = [s.name for s in content.stems]
            assert names == ["melody", "accompaniment"]
            if task == "onsets":
                assert content.labelled_stems == (0, 1)
                melody_only = {round(n.onset_s, 6) for n in content.stems[0].parts[0].notes}
                # the fake song's piano chords fall between melody notes once the tempo is changed
                assert len(all_onsets(content)) >= len(melody_only)
                accomp = [n.onset_s for p in content.stems[1].parts for n in p.notes]
                assert accomp and all(np.min(np.abs(all_onsets(content) - t)) <= 0.03 + 1e-9 for t in accomp)
            else:
                assert content.labelled_stems == (0,)
