"""The annotation vocabulary shared by every task, reader, writer, decoder and metric.

Times are seconds, always. Pitches are MIDI numbers (float where a fraction is meaningful) or Hz.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TASKS: tuple[str, ...] = ("pitch", "chords", "drums", "onsets")

#: Drum classes in display order. Every model predicts the first three; richer models add the rest.
DRUM_CLASSES: tuple[str, ...] = ("kick", "snare", "hihat", "tom", "crash", "ride")

#: General MIDI percussion key (channel 10) -> drum class. Keys not listed are ignored on reading.
GM_DRUM_KEY_TO_CLASS: dict[int, str] = {
    35: "kick", 36: "kick",
    37: "snare", 38: "snare", 39: "snare", 40: "snare",
    42: "hihat", 44: "hihat", 46: "hihat",
    41: "tom", 43: "tom", 45: "tom", 47: "tom", 48: "tom", 50: "tom",
    49: "crash", 52: "crash", 55: "crash", 57: "crash",
    51: "ride", 53: "ride", 59: "ride",
}

#: Drum class -> the General MIDI key written for it.
DRUM_CLASS_TO_GM_KEY: dict[str, int] = {
    "kick": 36, "snare": 38, "hihat": 42, "tom": 45, "crash": 49, "ride": 51,
}


@dataclass(frozen=True, eq=False)
class F0Track:
    """A frame-wise fundamental-frequency track.

    ``f0_hz[i] > 0``: voiced frame at that frequency. ``f0_hz[i] < 0``: unvoiced frame whose best
    pitch guess is ``-f0_hz[i]`` (the MIREX / mir_eval convention). ``f0_hz[i] == 0``: unvoiced, no guess.
    ``confidence`` is in [0, 1] (1 for references).
    """

    times_s: np.ndarray
    f0_hz: np.ndarray
    confidence: np.ndarray

    def __post_init__(self) -> None:
        t = np.asarray(self.times_s, dtype=np.float64).reshape(-1)
        f = np.asarray(self.f0_hz, dtype=np.float64).reshape(-1)
        c = np.asarray(self.confidence, dtype=np.float64).reshape(-1)
        if not (t.shape == f.shape == c.shape):
            raise ValueError(
                f"F0Track arrays differ in length: times {t.size}, f0 {f.size}, confidence {c.size}"
            )
        object.__setattr__(self, "times_s", t)
        object.__setattr__(self, "f0_hz", f)
        object.__setattr__(self, "confidence", c)

    @property
    def voiced(self) -> np.ndarray:
        return self.f0_hz > 0

    def __len__(self) -> int:
        return int(self.times_s.size)


@dataclass(frozen=True)
class Note:
    onset_s: float
    offset_s: float
    pitch_midi: float
    velocity: int = 100


@dataclass(frozen=True)
class ChordSegment:
    """A chord over [start_s, end_s) in Harte syntax (``C:maj``, ``A:min7``, ``N`` for no chord)."""

    start_s: float
    end_s: float
    label: str


@dataclass(frozen=True)
class DrumHit:
    time_s: float
    drum: str  # one of DRUM_CLASSES
    velocity: int = 100


@dataclass(frozen=True, eq=False)
class Annotation:
    """Everything known about one audio file; a field is ``None`` when that task is not annotated."""

    duration_s: float | None = None
    f0: F0Track | None = None
    notes: tuple[Note, ...] | None = None
    chords: tuple[ChordSegment, ...] | None = None
    drums: tuple[DrumHit, ...] | None = None
    onsets: np.ndarray | None = None  # sorted onset times in seconds
    metadata: dict = field(default_factory=dict)

    def has(self, task: str) -> bool:
        """Whether this annotation carries labels for ``task`` (one of TASKS)."""
        if task == "pitch":
            return self.f0 is not None or self.notes is not None
        if task == "chords":
            return self.chords is not None
        if task == "drums":
            return self.drums is not None
        if task == "onsets":
            return self.onsets is not None
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
