"""What gets rendered: parts (one MIDI channel each) grouped into stems, all times in seconds.

Times are snapped to fluidsynth's block grid (64 samples) so that a note sounds exactly at the time
its label says (fluidsynth starts an event at the first block boundary at or after its time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from models.corpus.config import SYNTH_BLOCK_SAMPLES


@dataclass
class PartNote:
    onset_s: float
    offset_s: float
    pitch: int
    velocity: int


@dataclass
class Part:
    """One instrument on one MIDI channel. Drum parts play on channel 10 with a kit (bank 128)."""

    program: int
    notes: list[PartNote] = field(default_factory=list)
    is_drum: bool = False
    #: (time_s, value in -8192..8191) pitch-bend events; value/8192 * bend_range_semitones = bend
    bends: list[tuple[float, int]] = field(default_factory=list)
    bend_range_semitones: int = 2
    #: (time_s, controller, value) control changes (sustain pedal)
    controls: list[tuple[float, int, int]] = field(default_factory=list)


@dataclass
class Stem:
    """Parts rendered together into one signal, then mixed at ``level_db`` relative to the main stem."""

    name: str
    parts: list[Part]
    level_db: float = 0.0
    #: a one-kit soundfont this stem is rendered with instead of its batch's General MIDI font; its drum
    #: parts then play on a melodic channel (bank 0, program 0), where such fonts keep their kit
    kit_font: str | None = None

    def end_s(self) -> float:
        ends = [n.offset_s for p in self.parts for n in p.notes]
        return max(ends, default=0.0)


def snap_s(time_s: float, sample_rate_hz: int) -> float:
    """The block-grid time at which fluidsynth actually starts an event asked for at ``time_s``."""
    block = SYNTH_BLOCK_SAMPLES
    k = math.ceil(round(time_s * sample_rate_hz / block, 6))
    return max(0, k) * block / sample_rate_hz


def snap_stem(stem: Stem, sample_rate_hz: int) -> None:
    """Snap every event of ``stem`` to the synth grid in place; notes keep at least one block."""
    min_len = SYNTH_BLOCK_SAMPLES / sample_rate_hz
    for part in stem.parts:
        for n in part.notes:
            n.onset_s = snap_s(n.onset_s, sample_rate_hz)
            n.offset_s = max(snap_s(n.offset_s, sample_rate_hz), n.onset_s + min_len)
        part.bends = [(snap_s(t, sample_rate_hz), v) for t, v in part.bends]
        part.controls = [(snap_s(t, sample_rate_hz), c, v) for t, c, v in part.controls]


#: softest velocity rendered: quieter notes would be labelled but barely sound after the mix
MIN_VELOCITY = 20


def clip_velocity(v: float) -> int:
    return int(min(127, max(MIN_VELOCITY, round(v))))
