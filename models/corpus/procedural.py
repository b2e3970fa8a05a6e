"""Procedural music: random monophonic lines with vibrato and glides, chord progressions with a bass
line, and drum patterns. Everything is drawn from a numpy Generator, so a seed fixes the piece."""

from __future__ import annotations


import numpy as np

from models.annotations.types import GM_DRUM_KEY_TO_CLASS, ChordSegment
from models.corpus import instruments as gm
from models.corpus.harte import QUALITIES, make_label
from models.corpus.score import Part, PartNote, clip_velocity

BEND_STEP_S = 0.008  # pitch-bend curve resolution (two synth blocks at 16 kHz)
BEND_RANGES = (2, 2, 3, 5, 7, 12)


# --- monophonic lines ------------------------------------------------------------------------------
def choose_line_instrument(rng: np.random.Generator, low_midi: int = 24, high_midi: int = 96):
    """A register centre drawn uniformly over [low, high], then an instrument that covers it."""
    centre = int(rng.integers(low_midi, high_midi + 1))
    fits = gm.melodic_covering(max(centre - 5, 0), min(centre + 5, 127))
    if not fits:
        fits = gm.melodic_covering(centre, centre) or [gm.MELODIC[0]]
    inst = fits[int(rng.integers(len(fits)))]
    lo = max(inst.low_midi, centre - 12, low_midi)
    hi = min(inst.high_midi, centre + 12, high_midi)
    return inst, lo, hi


def _bend_value(semitones: float, range_semitones: int) -> int:
    return int(np.clip(round(semitones / range_semitones * 8192), -8192, 8191))


def random_line(rng: np.random.Generator, duration_s: float, end_margin_s: float) -> tuple[Part, dict]:
    """A monophonic line with rests, legato and staccato, vibrato, scoops and glides (pitch bend)."""
    inst, lo, hi = choose_line_instrument(rng)
    bend_range = int(rng.choice(BEND_RANGES))
    part = Part(program=inst.program, bend_range_semitones=bend_range)
    t = float(rng.uniform(0.1, 1.0))
    pitch = int(rng.integers(lo, hi + 1))
    tempo_scale = float(rng.uniform(0.5, 1.6))
    steps = np.array([-12, -7, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 7, 12])
    weights = np.array([1, 2, 3, 4, 6, 10, 8, 3, 8, 10, 6, 4, 3, 2, 1], dtype=float)
    weights /= weights.sum()
    stop = duration_s - end_margin_s
    notes: list[PartNote] = []
    while True:
        length = float(np.exp(rng.uniform(np.log(0.08), np.log(1.4)))) * tempo_scale
        length = max(0.06, length)
        if t + length > stop:
            break
        notes.append(PartNote(t, t + length, pitch, clip_velocity(rng.normal(90, 18))))
        r = rng.random()
        if r < 0.45:
            gap = 0.0  # legato
        elif r < 0.85:
            gap = float(rng.uniform(0.02, 0.25))
        else:
            gap = float(rng.uniform(0.3, 1.5))  # rest
        t += length + gap
        nxt = pitch + int(rng.choice(steps, p=weights))
        if nxt < lo or nxt > hi:
            nxt = pitch - (nxt - pitch)
        pitch = int(np.clip(nxt, lo, hi))
    part.notes = notes
    # pitch-bend curve: vibrato, scoops and glides, zero between notes
    bends: list[tuple[float, int]] = []
    for i, n in enumerate(notes):
        curve_t: list[float] = []
        curve_v: list[float] = []
        length = n.offset_s - n.onset_s
        grid = n.onset_s + np.arange(0.0, length, BEND_STEP_S)
        semis = np.zeros_like(grid)
        used = False
        if rng.random() < 0.15 and length > 0.15:  # scoop up into the note
            depth = float(rng.uniform(0.3, min(2.0, bend_range)))
            dur = float(rng.uniform(0.04, min(0.15, length / 2)))
            ramp = grid - n.onset_s < dur
            semis[ramp] -= depth * (1 - (grid[ramp] - n.onset_s) / dur)
            used = True
        if rng.random() < 0.4 and length > 0.3:  # vibrato
            rate = float(rng.uniform(4.0, 7.0))
            depth = float(rng.uniform(0.1, 0.6))  # semitones peak
            delay = float(rng.uniform(0.05, 0.3))
            rel = grid - n.onset_s - delay
            fade = np.clip(rel / 0.2, 0, 1)
            semis += np.where(rel > 0, depth * fade * np.sin(2 * np.pi * rate * np.maximum(rel, 0)), 0)
            used = True
        nxt = notes[i + 1] if i + 1 < len(notes) else None
        if (nxt is not None and abs(nxt.onset_s - n.offset_s) < 1e-9 and rng.random() < 0.3
                and 0 < abs(nxt.pitch - n.pitch) <= bend_range and length > 0.2):  # glide to the next note
            dur = float(rng.uniform(0.05, min(0.25, length / 2)))
            start = n.offset_s - dur
            ramp = grid >= start
            semis[ramp] += (nxt.pitch - n.pitch) * (grid[ramp] - start) / dur
            used = True
        if used:
            for tt, s in zip(grid, semis):
                curve_t.append(float(tt))
                curve_v.append(float(s))
            bends += [(tt, _bend_value(s, bend_range)) for tt, s in zip(curve_t, curve_v)]
            bends.append((n.offset_s, 0))
    # keep the last value per time (a reset at an offset may coincide with the next note's curve)
    dedup: dict[float, int] = {}
    for tt, v in bends:
        dedup[round(tt, 6)] = v
    part.bends = sorted(dedup.items())
    return part, {"program": inst.program, "instrument": inst.name, "range_midi": [lo, hi],
                  "bend_range_semitones": bend_range}


# --- chord progressions ----------------------------------------------------------------------------
def _voicing(rng: np.random.Generator, root_pc: int, intervals: tuple[int, ...]) -> list[int]:
    base = int(rng.integers(48, 62))
    root = base + (root_pc - base) % 12
    tones = [root + i for i in intervals]
    for _ in range(int(rng.integers(0, len(tones)))):  # inversion
        tones = tones[1:] + [tones[0] + 12]
    if rng.random() < 0.3 and len(tones) >= 3:  # open voicing
        tones[1] += 12
    if rng.random() < 0.3:  # double the root on top
        tones.append(root + 12 * (1 + (max(tones) - root) // 12))
    tones = sorted(set(tones))
    while max(tones) > 84:
        tones = [p - 12 for p in tones]
    return tones


def random_progression(rng: np.random.Generator, duration_s: float, end_margin_s: float
                       ) -> tuple[list[Part], list[ChordSegment], dict]:
    """Chords over every root and quality, comped as block, arpeggio or strum, over a bass line."""
    bpm = float(rng.uniform(60, 160))
    beat = 60.0 / bpm
    style = str(rng.choice(["block", "arpeggio", "strum"]))
    programs = gm.STRUMMED if style == "strum" else gm.ACCOMPANIMENT
    comp = Part(program=int(rng.choice(programs)))
    bass = Part(program=int(rng.choice(gm.BASS)))
    with_bass = rng.random() < 0.8
    qualities = list(QUALITIES)
    stop = duration_s - end_margin_s
    t = float(rng.uniform(0.0, 1.0))
    segments: list[ChordSegment] = []
    if t > 0:
        segments.append(ChordSegment(0.0, t, "N"))
    arp_step = beat / float(rng.choice([2, 3, 4]))
    while t < stop - 0.5:
        beats = int(rng.choice([2, 2, 4, 4, 4, 8]))
        end = min(t + beats * beat, stop)
        if rng.random() < 0.08:  # a no-chord stretch: silence
            segments.append(ChordSegment(t, end, "N"))
            t = end
            continue
        root_pc = int(rng.integers(12))
        quality = qualities[int(rng.integers(len(qualities)))]
        intervals = QUALITIES[quality]
        tones = _voicing(rng, root_pc, intervals)
        bass_semis = 0
        if with_bass and rng.random() < 0.2:
            bass_semis = int(rng.choice(intervals[1:]))
        vel = float(rng.uniform(55, 105))
        if style == "block":
            hit = beat * float(rng.choice([1, 2, beats]))
            tt = t
            while tt < end - 0.05:
                off = min(tt + hit * float(rng.uniform(0.5, 1.0)), end)
                for p in tones:
                    comp.notes.append(PartNote(tt, off, p, clip_velocity(vel + rng.normal(0, 6))))
                tt += hit
        elif style == "arpeggio":
            order = tones if rng.random() < 0.5 else tones + tones[-2:0:-1]
            k = 0
            tt = t
            while tt < end - 0.05:
                p = order[k % len(order)]
                comp.notes.append(PartNote(tt, min(tt + arp_step * float(rng.uniform(1.0, 3.0)), end), p,
                                           clip_velocity(vel + rng.normal(0, 8))))
                k += 1
                tt += arp_step
        else:  # strum
            tt = t
            strum_every = beat * float(rng.choice([1, 2]))
            while tt < end - 0.05:
                down = rng.random() < 0.7
                seq = tones if down else tones[::-1]
                spread = float(rng.uniform(0.008, 0.025))
                for j, p in enumerate(seq):
                    on = tt + j * spread
                    if on < end - 0.03:
                        comp.notes.append(PartNote(on, min(tt + strum_every, end), p,
                                                   clip_velocity(vel - 4 * j + rng.normal(0, 5))))
                tt += strum_every
        if with_bass:
            bass_pitch = 28 + (root_pc + bass_semis - 28) % 12
            if bass_pitch < 33 and rng.random() < 0.5:
                bass_pitch += 12
            step = beat * float(rng.choice([1, 2, beats]))
            tt = t
            while tt < end - 0.05:
                bass.notes.append(PartNote(tt, min(tt + step * 0.9, end), bass_pitch,
                                           clip_velocity(vel + rng.normal(0, 6))))
                tt += step
        segments.append(ChordSegment(t, end, make_label(root_pc, quality, bass_semis)))
        t = end
    if t < duration_s:
        segments.append(ChordSegment(t, duration_s, "N"))
    parts = [comp] + ([bass] if with_bass else [])
    info = {"bpm": round(bpm, 3), "style": style, "programs": [p.program for p in parts]}
    return parts, segments, info


# --- drums -----------------------------------------------------------------------------------------
_KEYS_BY_CLASS: dict[str, list[int]] = {}
for _key, _cls in GM_DRUM_KEY_TO_CLASS.items():
    _KEYS_BY_CLASS.setdefault(_cls, []).append(_key)


def random_drums(rng: np.random.Generator, duration_s: float, end_margin_s: float, *,
                 drum_labels: bool = True) -> tuple[Part, dict]:
    """Either isolated hits of every drum, or dense patterns with fills, crashes and ride; ``drum_labels``:
    the hits become drum-class labels, so no kit that plays other sounds on those keys (see
    :func:`~models.corpus.instruments.draw_drum_kit`)."""
    kit = gm.draw_drum_kit(rng, drum_labels)
    part = Part(program=kit, is_drum=True)
    stop = duration_s - end_margin_s
    keys = sorted(GM_DRUM_KEY_TO_CLASS)

    def hit(t: float, key: int, vel: float) -> None:
        if 0 <= t < stop:
            part.notes.append(PartNote(t, min(t + 0.1, stop), key, clip_velocity(vel)))

    if rng.random() < 0.3:
        mode = "isolated"
        t = float(rng.uniform(0.1, 0.5))
        while t < stop:
            hit(t, int(rng.choice(keys)), rng.uniform(30, 127))
            if rng.random() < 0.2:
                hit(t, int(rng.choice(keys)), rng.uniform(30, 127))
            t += float(rng.uniform(0.12, 1.2))
    else:
        mode = "pattern"
        bpm = float(rng.uniform(60, 200))
        sixteenth = 60.0 / bpm / 4
        kick = int(rng.choice(_KEYS_BY_CLASS["kick"]))
        snare = int(rng.choice([38, 40, 37, 39]))
        use_ride = rng.random() < 0.3
        cymbal = int(rng.choice(_KEYS_BY_CLASS["ride"])) if use_ride else int(rng.choice([42, 44, 46]))
        hat_every = int(rng.choice([1, 2, 2, 4]))
        phrase = int(rng.choice([2, 4, 8]))
        kick_steps = {0, 8} | {int(s) for s in rng.choice(16, size=int(rng.integers(0, 4)), replace=False)}
        swing = float(rng.uniform(0, 0.25)) * sixteenth
        t0 = float(rng.uniform(0.0, 0.5))
        bar = 0
        while t0 + bar * 16 * sixteenth < stop:
            start = t0 + bar * 16 * sixteenth
            fill = (bar % phrase) == phrase - 1 and rng.random() < 0.7
            for s in range(16):
                t = start + s * sixteenth + (swing if s % 2 else 0.0) + float(rng.normal(0, 0.004))
                if fill and s >= 8:
                    if rng.random() < 0.75:
                        tom = [50, 48, 47, 45, 43, 41][min(5, (s - 8) * 6 // 8)]
                        hit(t, tom, rng.uniform(70, 120))
                    continue
                if s in kick_steps:
                    hit(t, kick, rng.uniform(80, 120))
                if s in (4, 12):
                    hit(t, snare, rng.uniform(85, 125))
                elif rng.random() < 0.06:
                    hit(t, snare, rng.uniform(25, 55))  # ghost note
                if s % hat_every == 0:
                    key = cymbal
                    if not use_ride and rng.random() < 0.08:
                        key = 46
                    hit(t, key, rng.uniform(50, 100) if s % 4 else rng.uniform(80, 115))
            if bar % phrase == 0 and rng.random() < 0.6:
                hit(start, int(rng.choice(_KEYS_BY_CLASS["crash"])), rng.uniform(90, 127))
            bar += 1
    part.notes.sort(key=lambda n: (n.onset_s, n.pitch))
    return part, {"mode": mode, "kit": kit, "kit_name": gm.DRUM_KITS[kit]}
