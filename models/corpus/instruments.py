"""General MIDI instruments the corpus plays, with the ranges they sound well in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Instrument:
    program: int  # GM program, 0-based
    name: str
    low_midi: int
    high_midi: int
    family: str


#: Melodic instruments for monophonic lines (pitch task). Ranges are comfortable, not extreme.
#: Checked with pYIN on notes every 3 semitones in all four default fonts: presets or ranges whose
#: rendered pitch is not the MIDI note in some font are left out (drawbar/church organ sound an octave
#: or two low through their 16' stops, glockenspiel and TimGM6mb's whistle are off, parts of the
#: electric-guitar, steel-guitar, banjo, accordion, celesta and sawtooth ranges read an octave low).
MELODIC: tuple[Instrument, ...] = (
    Instrument(0, "acoustic grand piano", 24, 96, "piano"),
    Instrument(1, "bright piano", 28, 96, "piano"),
    Instrument(4, "electric piano 1", 28, 91, "piano"),
    Instrument(5, "electric piano 2", 28, 91, "piano"),
    Instrument(8, "celesta", 72, 96, "chromatic"),
    Instrument(11, "vibraphone", 53, 89, "chromatic"),
    Instrument(12, "marimba", 45, 84, "chromatic"),
    Instrument(13, "xylophone", 65, 96, "chromatic"),
    Instrument(21, "accordion", 53, 73, "organ"),
    Instrument(22, "harmonica", 60, 84, "reed"),
    Instrument(24, "nylon guitar", 40, 79, "guitar"),
    Instrument(25, "steel guitar", 56, 79, "guitar"),
    Instrument(26, "jazz guitar", 40, 81, "guitar"),
    Instrument(32, "acoustic bass", 28, 60, "bass"),
    Instrument(33, "fingered bass", 28, 62, "bass"),
    Instrument(34, "picked bass", 28, 62, "bass"),
    Instrument(35, "fretless bass", 28, 62, "bass"),
    Instrument(38, "synth bass 1", 24, 60, "bass"),
    Instrument(39, "synth bass 2", 24, 60, "bass"),
    Instrument(40, "violin", 55, 96, "strings"),
    Instrument(41, "viola", 48, 84, "strings"),
    Instrument(42, "cello", 36, 76, "strings"),
    Instrument(43, "contrabass", 28, 55, "bass"),
    Instrument(48, "string ensemble", 36, 88, "strings"),
    Instrument(52, "choir aahs", 48, 79, "voice"),
    Instrument(53, "voice oohs", 48, 79, "voice"),
    Instrument(54, "synth voice", 48, 84, "voice"),
    Instrument(56, "trumpet", 55, 84, "brass"),
    Instrument(57, "trombone", 40, 72, "brass"),
    Instrument(58, "tuba", 28, 58, "brass"),
    Instrument(60, "french horn", 41, 77, "brass"),
    Instrument(64, "soprano sax", 56, 87, "reed"),
    Instrument(65, "alto sax", 49, 81, "reed"),
    Instrument(66, "tenor sax", 44, 76, "reed"),
    Instrument(67, "baritone sax", 36, 69, "reed"),
    Instrument(68, "oboe", 58, 91, "reed"),
    Instrument(69, "english horn", 52, 81, "reed"),
    Instrument(70, "bassoon", 34, 72, "reed"),
    Instrument(71, "clarinet", 50, 91, "reed"),
    Instrument(72, "piccolo", 74, 96, "pipe"),
    Instrument(73, "flute", 60, 96, "pipe"),
    Instrument(74, "recorder", 60, 91, "pipe"),
    Instrument(75, "pan flute", 60, 91, "pipe"),
    Instrument(79, "ocarina", 60, 89, "pipe"),
    Instrument(80, "square lead", 36, 93, "synth lead"),
    Instrument(81, "sawtooth lead", 36, 69, "synth lead"),
    Instrument(82, "calliope lead", 48, 96, "synth lead"),
    Instrument(84, "charang lead", 40, 88, "synth lead"),
    Instrument(85, "voice lead", 48, 84, "synth lead"),
    Instrument(87, "bass and lead", 28, 72, "synth lead"),
    Instrument(105, "banjo", 48, 69, "guitar"),
    Instrument(108, "kalimba", 60, 89, "chromatic"),
)

#: Instruments that accompany (chords, comping): keyboards, guitars, strings, pads, organs.
ACCOMPANIMENT: tuple[int, ...] = (0, 1, 2, 4, 5, 6, 7, 16, 17, 18, 19, 21, 24, 25, 26, 27, 28, 46,
                                  48, 49, 50, 52, 61, 62, 88, 89, 90, 91, 92, 94, 95)
#: Instruments strummed rather than struck as a block.
STRUMMED: tuple[int, ...] = (24, 25, 26, 27, 28, 29, 30, 46, 105, 106, 107)
#: Bass instruments for bass lines under chords.
BASS: tuple[int, ...] = (32, 33, 34, 35, 36, 37, 38, 39, 43, 58)

#: GM drum kits (bank 128 program) every installed font offers.
DRUM_KITS: dict[int, str] = {
    0: "Standard", 8: "Room", 16: "Power", 24: "Electronic", 25: "TR-808", 32: "Jazz", 40: "Brush",
    48: "Orchestra",
}


#: kits that play other instruments than the GM drum map on the keys the drum classes use: the Orchestra
#: set plays timpani on keys 41-53 (toms, hi-hats, crash and ride in the GM map) in FluidR3_GM,
#: FluidR3Mono_GM and MuseScore_General, so its hi-hat labels sat on timpani notes (about 140 Hz)
KITS_OFF_THE_DRUM_MAP: tuple[int, ...] = (48,)


def draw_drum_kit(rng, drum_labels: bool) -> int:
    """A kit program from :data:`DRUM_KITS`. Items whose labels are drum classes (``drum_labels``) redraw a
    kit of :data:`KITS_OFF_THE_DRUM_MAP` from the others, so every other item keeps the kit it had; items
    labelled with onsets only keep every kit (a timpani note is an onset like any other)."""
    kit = int(rng.choice(list(DRUM_KITS)))
    if drum_labels and kit in KITS_OFF_THE_DRUM_MAP:
        kit = int(rng.choice([k for k in DRUM_KITS if k not in KITS_OFF_THE_DRUM_MAP]))
    return kit


def melodic_covering(pitch_low_midi: int, pitch_high_midi: int) -> list[Instrument]:
    """Instruments whose range contains [pitch_low_midi, pitch_high_midi]."""
    return [i for i in MELODIC if i.low_midi <= pitch_low_midi and pitch_high_midi <= i.high_midi]
