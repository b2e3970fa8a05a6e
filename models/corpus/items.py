"""Building one corpus item (stems to render, plus what its labels come from) from its planned spec."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.annotations.types import GM_DRUM_KEY_TO_CLASS, ChordSegment
from models.corpus import instruments as gm
from models.corpus import procedural
from models.corpus.config import CorpusConfig
from models.corpus.harte import transpose_label
from models.corpus.soundfonts import kit_font_key
from models.corpus.score import Part, PartNote, Stem, clip_velocity, snap_stem
from models.corpus.sources import groove_sessions, load_groove_take, load_pop909_song

#: item kinds and the tasks that use them
KINDS: tuple[str, ...] = ("pop909_melody", "pop909_poly", "groove", "proc_line", "proc_chords", "proc_drums")


@dataclass
class ItemContent:
    duration_s: float
    stems: list[Stem]
    #: the line whose f0 and notes are the pitch labels (inside stems[0])
    line: Part | None = None
    chords: list[ChordSegment] | None = None
    #: indices of stems whose notes are labelled (drum notes for drums, every note for onsets)
    labelled_stems: tuple[int, ...] = (0,)
    provenance: dict = field(default_factory=dict)


def _velocity_map(rng: np.random.Generator) -> tuple[float, float]:
    return float(rng.uniform(0.6, 1.3)), float(rng.uniform(-20, 15))


def _excerpt(notes: list[PartNote], start_s: float, tempo: float, duration_s: float, end_margin_s: float,
             transpose: int, vel: tuple[float, float]) -> list[PartNote]:
    """Notes starting in the source span, moved to t=0, time-scaled by 1/tempo, clipped before the end."""
    stop = duration_s - end_margin_s
    out = []
    for n in notes:
        on = (n.onset_s - start_s) / tempo
        if on < 0 or on >= stop - 0.03:
            continue
        off = min((n.offset_s - start_s) / tempo, stop)
        out.append(PartNote(on, max(off, on + 0.03), n.pitch + transpose,
                            clip_velocity(n.velocity * vel[0] + vel[1])))
    return out


def _pedal(events: list[tuple[float, int]], start_s: float, tempo: float, duration_s: float,
           end_margin_s: float) -> list[tuple[float, int, int]]:
    before = [v for t, v in events if t < start_s]
    out = [(0.0, 64, before[-1])] if before and before[-1] >= 64 else []
    stop = duration_s - end_margin_s
    for t, v in events:
        tt = (t - start_s) / tempo
        if 0 <= tt < stop:
            out.append((tt, 64, v))
    out.append((stop, 64, 0))
    return out


def _monophonic(notes: list[PartNote]) -> list[PartNote]:
    notes = sorted(notes, key=lambda n: (n.onset_s, -n.pitch))
    out: list[PartNote] = []
    for n in notes:
        if out and n.onset_s - out[-1].onset_s < 0.03:
            continue  # a second note at the same time: keep the higher one
        if out and out[-1].offset_s > n.onset_s:
            out[-1].offset_s = n.onset_s
        out.append(n)
    return [n for n in out if n.offset_s - n.onset_s >= 0.03]


def _chords_excerpt(chords, start_s: float, tempo: float, duration_s: float, transpose: int) -> list[ChordSegment]:
    segs: list[ChordSegment] = []
    t = 0.0
    for a, b, label in chords:
        aa = max((a - start_s) / tempo, 0.0)
        bb = min((b - start_s) / tempo, duration_s)
        if bb <= aa or bb <= 0 or aa >= duration_s:
            continue
        if aa > t + 1e-6:
            segs.append(ChordSegment(t, aa, "N"))
        segs.append(ChordSegment(aa, bb, transpose_label(label, transpose)))
        t = bb
    if t < duration_s - 1e-6:
        segs.append(ChordSegment(t, duration_s, "N"))
    # merge neighbours with the same label (POP909 repeats a label per beat)
    merged: list[ChordSegment] = []
    for s in segs:
        if merged and merged[-1].label == s.label and abs(merged[-1].end_s - s.start_s) < 1e-6:
            merged[-1] = ChordSegment(merged[-1].start_s, s.end_s, s.label)
        else:
            merged.append(s)
    return merged


def _pick_start(rng, first_s: float, end_s: float, span_s: float) -> float:
    lo = max(0.0, first_s - 1.0)
    hi = max(lo, end_s - span_s)
    return float(rng.uniform(lo, hi))


def _accompaniment(rng, song, start_s, tempo, duration_s, margin, transpose, vel) -> tuple[list[Part], dict]:
    parts: list[Part] = []
    programs = {}
    for track in ("PIANO", "BRIDGE"):
        notes = _excerpt(song.tracks.get(track, []), start_s, tempo, duration_s, margin, transpose, vel)
        if not notes:
            continue
        program = int(rng.choice(gm.ACCOMPANIMENT))
        controls = _pedal(song.pedal.get(track, []), start_s, tempo, duration_s, margin)
        parts.append(Part(program=program, notes=notes, controls=controls))
        programs[track] = program
    return parts, programs


def build_pop909_melody(spec: dict, rng: np.random.Generator, cfg: CorpusConfig) -> ItemContent:
    song = load_pop909_song(spec["source_path"], spec["piece"])
    tempo = spec["tempo"]
    dur = spec["duration_s"]
    melody = song.tracks.get("MELODY", [])
    first = melody[0].onset_s if melody else 0.0
    dur = min(dur, max(5.0, (song.end_s - first + 1.0) / tempo))
    vel = _velocity_map(rng)
    best: tuple[float, float, list[PartNote]] = (-1.0, 0.0, [])
    for _ in range(8):  # an excerpt where the melody sounds at least a third of the time
        start = _pick_start(rng, first, song.end_s, dur * tempo)
        notes = _monophonic(_excerpt(melody, start, tempo, dur, cfg.end_margin_s, 0, vel))
        cover = sum(n.offset_s - n.onset_s for n in notes) / dur
        if cover > best[0]:
            best = (cover, start, notes)
        if cover >= 0.33:
            break
    _, start, notes = best
    lo = min((n.pitch for n in notes), default=60)
    hi = max((n.pitch for n in notes), default=72)
    options = []
    for inst in gm.MELODIC:
        shifts = [s for s in range(-24, 25) if inst.low_midi <= lo + s and hi + s <= inst.high_midi]
        if shifts:
            options.append((inst, shifts))
    inst, shifts = options[int(rng.integers(len(options)))] if options else (gm.MELODIC[0], [0])
    transpose = int(rng.choice(shifts))
    for n in notes:
        n.pitch += transpose
    line = Part(program=inst.program, notes=notes)
    stems = [Stem("melody", [line])]
    prov = {"excerpt_start_s": round(start, 4), "excerpt_end_s": round(start + dur * tempo, 4),
            "transpose_semitones": transpose, "melody_program": inst.program, "melody_instrument": inst.name,
            "velocity_scale": round(vel[0], 4), "velocity_offset": round(vel[1], 3)}
    if rng.random() < cfg.melody_accompaniment_probability:
        parts, programs = _accompaniment(rng, song, start, tempo, dur, cfg.end_margin_s, transpose, vel)
        if parts:
            level = -float(rng.uniform(6, 20))
            stems.append(Stem("accompaniment", parts, level))
            prov.update(accompaniment_programs=programs, accompaniment_level_db=round(level, 2))
    # onsets label every note that sounds: the accompaniment's too (as a music bed's are under drums);
    # labelling the melody alone taught the onset model to ignore audible notes and scored it as wrong
    # when it found them
    labelled = tuple(range(len(stems))) if spec.get("label_all") else (0,)
    return ItemContent(dur, stems, line=line, labelled_stems=labelled, provenance=prov)


def build_pop909_poly(spec: dict, rng: np.random.Generator, cfg: CorpusConfig) -> ItemContent:
    song = load_pop909_song(spec["source_path"], spec["piece"])
    tempo = spec["tempo"]
    dur = spec["duration_s"]
    acc_first = min([n.onset_s for k in ("PIANO", "BRIDGE") for n in song.tracks.get(k, [])[:1]] or [0.0])
    dur = min(dur, max(5.0, (song.end_s - acc_first + 1.0) / tempo))
    start = _pick_start(rng, acc_first, song.end_s, dur * tempo)
    transpose = int(rng.integers(-5, 7))
    vel = _velocity_map(rng)
    parts, programs = _accompaniment(rng, song, start, tempo, dur, cfg.end_margin_s, transpose, vel)
    stems = [Stem("accompaniment", parts)]
    prov = {"excerpt_start_s": round(start, 4), "excerpt_end_s": round(start + dur * tempo, 4),
            "transpose_semitones": transpose, "accompaniment_programs": programs,
            "velocity_scale": round(vel[0], 4), "velocity_offset": round(vel[1], 3)}
    labelled = [0]
    if rng.random() < spec.get("melody_probability", 0.5):
        mel = _excerpt(song.tracks.get("MELODY", []), start, tempo, dur, cfg.end_margin_s, transpose, vel)
        if mel:
            program = int(rng.choice([i.program for i in gm.MELODIC if i.family not in ("bass",)]))
            level = float(rng.uniform(-6, 3))
            stems.append(Stem("melody", [Part(program=program, notes=mel)], level))
            labelled.append(len(stems) - 1)
            prov.update(melody_program=program, melody_level_db=round(level, 2))
    chords = _chords_excerpt(song.chords, start, tempo, dur, transpose)
    return ItemContent(dur, stems, chords=chords, labelled_stems=tuple(labelled), provenance=prov)


def build_groove(spec: dict, rng: np.random.Generator, cfg: CorpusConfig) -> ItemContent:
    takes = groove_sessions(spec["source_path"])[spec["piece"]]
    tempo = spec["tempo"]
    dur = spec["duration_s"]
    stop = dur - cfg.end_margin_s
    vel = _velocity_map(rng)
    notes: list[PartNote] = []
    used = []
    t = 0.0
    order = list(rng.permutation(len(takes)))
    k = 0
    while t < stop - 1.0 and k < 4 * len(takes):
        take = takes[order[k % len(order)]]
        k += 1
        src = [n for n in load_groove_take(take) if n.pitch in GM_DRUM_KEY_TO_CLASS]
        if not src:
            continue
        span_end = src[-1].onset_s + 0.05
        start = float(rng.uniform(0, max(0.0, span_end - (stop - t) * tempo))) if k == 1 else 0.0
        piece_notes = _excerpt(src, start - t * tempo, tempo, dur, cfg.end_margin_s, 0, vel)
        if not piece_notes:
            continue
        notes += piece_notes
        used.append({"take": take.take_id, "from_s": round(start, 4), "at_s": round(t, 4)})
        t = max(n.onset_s for n in piece_notes) + float(rng.uniform(0.3, 1.0))
    kit = gm.draw_drum_kit(rng, drum_labels=cfg.task == "drums")
    drums = Part(program=kit, notes=sorted(notes, key=lambda n: (n.onset_s, n.pitch)), is_drum=True)
    stems = [Stem("drums", [drums])]
    prov = {"takes": used, "kit": kit, "kit_name": gm.DRUM_KITS[kit],
            "velocity_scale": round(vel[0], 4), "velocity_offset": round(vel[1], 3)}
    labelled = _add_music_bed(spec, rng, cfg, stems, prov, tempo, dur)
    return ItemContent(dur, stems, labelled_stems=labelled, provenance=prov)


def _add_music_bed(spec: dict, rng: np.random.Generator, cfg: CorpusConfig, stems: list[Stem], prov: dict,
                   tempo: float, dur: float) -> tuple[int, ...]:
    """Append the planned pop909 accompaniment ("music bed") under the drums; returns the labelled stems."""
    labelled = [0]
    bed = spec.get("music_bed")
    if bed:
        song = load_pop909_song(bed["source_path"], bed["piece"])
        first = min([n.onset_s for k2 in ("PIANO", "BRIDGE") for n in song.tracks.get(k2, [])[:1]] or [0.0])
        bstart = _pick_start(rng, first, song.end_s, dur * tempo)
        transpose = int(rng.integers(-5, 7))
        parts, programs = _accompaniment(rng, song, bstart, tempo, dur, cfg.end_margin_s, transpose,
                                         _velocity_map(rng))
        if parts:
            level = bed["level_db"]
            stems.append(Stem("music", parts, level))
            if bed.get("labelled"):
                labelled.append(1)
            prov["music_bed"] = {"piece": bed["piece"], "excerpt_start_s": round(bstart, 4),
                                 "transpose_semitones": transpose, "programs": programs,
                                 "level_db": round(level, 2)}
    return tuple(labelled)


def build_proc_line(spec: dict, rng: np.random.Generator, cfg: CorpusConfig) -> ItemContent:
    part, info = procedural.random_line(rng, spec["duration_s"], cfg.end_margin_s)
    return ItemContent(spec["duration_s"], [Stem("line", [part])], line=part, provenance=info)


def build_proc_chords(spec: dict, rng: np.random.Generator, cfg: CorpusConfig) -> ItemContent:
    parts, chords, info = procedural.random_progression(rng, spec["duration_s"], cfg.end_margin_s)
    return ItemContent(spec["duration_s"], [Stem("chords", parts)], chords=chords, provenance=info)


def build_proc_drums(spec: dict, rng: np.random.Generator, cfg: CorpusConfig) -> ItemContent:
    part, info = procedural.random_drums(rng, spec["duration_s"], cfg.end_margin_s, drum_labels=cfg.task == "drums")
    stems = [Stem("drums", [part])]
    labelled = _add_music_bed(spec, rng, cfg, stems, info, 1.0, spec["duration_s"])
    return ItemContent(spec["duration_s"], stems, labelled_stems=labelled, provenance=info)


def _to_kit_font(content: ItemContent, font: str) -> None:
    """Play the drum stem (stems[0]) on a one-kit font: every hit on a key that font has, same class."""
    stem = content.stems[0]
    stem.kit_font = font
    for part in stem.parts:
        if part.is_drum:
            notes = []
            for n in part.notes:
                key = kit_font_key(n.pitch)
                if key is not None:
                    n.pitch = key
                    notes.append(n)
            part.notes = notes
    content.provenance.update(kit=None, kit_name=Path(font).name)


_BUILDERS = {
    "pop909_melody": build_pop909_melody, "pop909_poly": build_pop909_poly, "groove": build_groove,
    "proc_line": build_proc_line, "proc_chords": build_proc_chords, "proc_drums": build_proc_drums,
}


def build_item(spec: dict, cfg: CorpusConfig) -> ItemContent:
    """The item's content, deterministic from its spec (its seed included); times snapped to the synth grid."""
    rng = np.random.default_rng(np.random.SeedSequence(spec["seed"]))
    content = _BUILDERS[spec["kind"]](spec, rng, cfg)
    content.duration_s = float(round(content.duration_s * cfg.sample_rate_hz) / cfg.sample_rate_hz)
    for stem in content.stems:
        snap_stem(stem, cfg.sample_rate_hz)
        for part in stem.parts:
            part.notes = [n for n in part.notes if n.onset_s < content.duration_s - 0.02]
    if content.chords is not None:
        content.chords = [ChordSegment(round(c.start_s, 4), round(min(c.end_s, content.duration_s), 4), c.label)
                          for c in content.chords if c.start_s < content.duration_s]
    if spec.get("kit_font"):
        _to_kit_font(content, spec["kit_font"])
    content.provenance = {"kind": spec["kind"], "tempo_factor": round(spec["tempo"], 4), **content.provenance}
    return content
