"""Harte chord labels: the qualities the corpus plays, and transposition of labels."""

from __future__ import annotations

import re

from models.errors import CorpusError

PITCH_CLASS_NAMES: tuple[str, ...] = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_NATURAL = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

#: Chord quality -> intervals above the root in semitones.
QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10), "dim": (0, 3, 6), "aug": (0, 4, 8), "sus2": (0, 2, 7), "sus4": (0, 5, 7),
    "dim7": (0, 3, 6, 9), "hdim7": (0, 3, 6, 10), "min6": (0, 3, 7, 9), "maj6": (0, 4, 7, 9),
    "minmaj7": (0, 3, 7, 11), "sus4(b7)": (0, 5, 7, 10),
}

#: Semitones above the root -> Harte degree, as used after a slash (bass note) for each quality.
_DEGREE_BY_SEMITONES: dict[int, str] = {
    0: "1", 2: "2", 3: "b3", 4: "3", 5: "4", 6: "b5", 7: "5", 8: "#5", 9: "6", 10: "b7", 11: "7",
}

_LABEL_RE = re.compile(r"^([A-G])([b#]*)(.*)$")


def root_to_pitch_class(root: str) -> int:
    m = re.fullmatch(r"([A-G])([b#]*)", root)
    if m is None:
        raise CorpusError(f"bad chord root {root!r}; expected a letter A-G followed by b or # signs")
    return (_NATURAL[m.group(1)] + m.group(2).count("#") - m.group(2).count("b")) % 12


def bass_degree(quality: str, semitones: int) -> str:
    """The Harte degree written after '/' for a bass ``semitones`` above the root."""
    if quality in ("dim7",) and semitones == 9:
        return "bb7"
    return _DEGREE_BY_SEMITONES[semitones % 12]


def make_label(root_pc: int, quality: str, bass_semitones: int = 0) -> str:
    label = f"{PITCH_CLASS_NAMES[root_pc % 12]}:{quality}"
    if bass_semitones % 12:
        label += "/" + bass_degree(quality, bass_semitones)
    return label


def transpose_label(label: str, semitones: int) -> str:
    """Transpose a Harte label's root; ``N`` and ``X`` stay. Bass degrees are relative, so they stay."""
    if label in ("N", "X") or semitones % 12 == 0:
        return label
    m = _LABEL_RE.match(label)
    if m is None:
        raise CorpusError(f"cannot transpose chord label {label!r}: it is not Harte syntax (e.g. 'C:maj')")
    pc = root_to_pitch_class(m.group(1) + m.group(2))
    return PITCH_CLASS_NAMES[(pc + semitones) % 12] + m.group(3)
