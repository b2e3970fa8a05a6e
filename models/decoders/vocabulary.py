"""Output vocabularies of the task networks: pitch bins and chord classes.

Pitch: :class:`PitchBins` (CREPE-style, 20 cents per bin from C1). Chords: :class:`ChordVocabulary`
(quality-major class layout, ``N`` last) with a documented reduction of any Harte label that
``mir_eval`` parses to the nearest class. Drum classes are :data:`models.annotations.types.DRUM_CLASSES`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import mir_eval.chord
import numpy as np

from models.errors import AnnotationFormatError, ConfigError

#: MIDI number of C1, the default lowest pitch bin.
C1_MIDI: int = 24
#: Frequency of C1 (MIDI 24) in Hz, A4 = 440 Hz.
C1_HZ: float = 440.0 * 2.0 ** ((C1_MIDI - 69) / 12.0)


# --- pitch -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PitchBins:
    """Log-spaced pitch bins: bin ``k`` is ``fmin_hz * 2 ** (k * cents_per_bin / 1200)``.

    The defaults are CREPE's grid: 360 bins of 20 cents from C1 (32.703 Hz) to B6 + 80 cents
    (2069 Hz, the bin CREPE calls "B7"). Bin positions may be fractional everywhere.
    """

    fmin_hz: float = C1_HZ
    cents_per_bin: float = 20.0
    n_bins: int = 360

    def __post_init__(self) -> None:
        if not (self.fmin_hz > 0 and self.cents_per_bin > 0 and self.n_bins > 0):
            raise ConfigError(
                f"PitchBins needs positive fmin_hz, cents_per_bin and n_bins, got {self.fmin_hz}, "
                f"{self.cents_per_bin}, {self.n_bins}"
            )

    @property
    def fmin_midi(self) -> float:
        """MIDI number of bin 0 (24.0 for the default C1)."""
        return 69.0 + 12.0 * math.log2(self.fmin_hz / 440.0)

    @property
    def fmax_hz(self) -> float:
        """Frequency of the top bin."""
        return float(self.bin_to_hz(self.n_bins - 1))

    @cached_property
    def cents(self) -> np.ndarray:
        """(n_bins,) cents of each bin above ``fmin_hz`` (0, 20, 40, ...)."""
        return np.arange(self.n_bins, dtype=np.float64) * self.cents_per_bin

    @cached_property
    def frequencies_hz(self) -> np.ndarray:
        """(n_bins,) centre frequency of each bin."""
        return self.bin_to_hz(np.arange(self.n_bins, dtype=np.float64))

    def bin_to_hz(self, bins: np.ndarray | float) -> np.ndarray | float:
        """Frequency of a (fractional) bin position."""
        return self.fmin_hz * np.exp2(np.asarray(bins, dtype=np.float64) * self.cents_per_bin / 1200.0)

    def hz_to_bin(self, f0_hz: np.ndarray | float) -> np.ndarray | float:
        """Fractional bin position of a frequency; NaN where ``f0_hz <= 0``. Not clipped to the grid."""
        f = np.asarray(f0_hz, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(f > 0, 1200.0 * np.log2(np.where(f > 0, f, 1.0) / self.fmin_hz) / self.cents_per_bin,
                           np.nan)
        return out if out.ndim else float(out)

    def bin_to_midi(self, bins: np.ndarray | float) -> np.ndarray | float:
        """MIDI number (float) of a (fractional) bin position."""
        return self.fmin_midi + np.asarray(bins, dtype=np.float64) * self.cents_per_bin / 100.0

    def midi_to_bin(self, pitch_midi: np.ndarray | float) -> np.ndarray | float:
        """Fractional bin position of a MIDI number."""
        return (np.asarray(pitch_midi, dtype=np.float64) - self.fmin_midi) * 100.0 / self.cents_per_bin


# --- chords ----------------------------------------------------------------------------------------
#: Root spelling used in class labels (the same flats as the corpus and the baselines).
PITCH_CLASS_NAMES: tuple[str, ...] = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")

#: Every quality a class may carry, in the default (full) vocabulary's order.
FULL_QUALITIES: tuple[str, ...] = (
    "maj", "min", "7", "maj7", "min7", "dim", "aug", "sus2", "sus4", "dim7", "hdim7",
)
MAJMIN_QUALITIES: tuple[str, ...] = ("maj", "min")

#: Documentation of the reduction for every quality mir_eval names (no extensions, no bass).
#: :func:`reduce_quality` derives the class from the chord's pitch classes; a test checks it agrees
#: with this table. Extensions above the octave (9, 11, 13) do not change the class; power chords
#: ("5") and bare roots ("1") become major (the nearest class that keeps the root).
QUALITY_REDUCTION: dict[str, str] = {
    "maj": "maj", "min": "min", "7": "7", "maj7": "maj7", "min7": "min7", "dim": "dim", "aug": "aug",
    "sus2": "sus2", "sus4": "sus4", "dim7": "dim7", "hdim7": "hdim7",
    "maj6": "maj", "min6": "min", "minmaj7": "min",
    "9": "7", "11": "7", "13": "7", "maj9": "maj7", "maj13": "maj7", "min9": "min7", "min11": "min7",
    "min13": "min7", "1": "maj", "5": "maj",
}

#: Where a quality goes when a smaller vocabulary lacks it; followed until a quality in the vocabulary
#: is reached (every vocabulary holds maj and min). E.g. hdim7 -> dim -> min in the majmin vocabulary.
QUALITY_FALLBACK: dict[str, str] = {
    "7": "maj", "maj7": "maj", "aug": "maj", "sus2": "maj", "sus4": "maj",
    "min7": "min", "dim": "min", "dim7": "dim", "hdim7": "dim",
}


def reduce_quality(semitones: set[int]) -> str:
    """The :data:`FULL_QUALITIES` class for a chord given as pitch classes above its root.

    Rules, in order: a major third (4) makes it major-family (aug if #5 without 5, else 7 with b7,
    maj7 with 7, else maj); a minor third (3) minor-family (with b5 and no 5: dim7 with bb7, hdim7 with
    b7, else dim; otherwise min7 with b7, else min); no third: sus4 with 4 (5 semitones), sus2 with 2,
    else 7 with b7, maj7 with 7, otherwise maj (power chord or bare root).
    """
    s = semitones
    if 4 in s:
        if 8 in s and 7 not in s:
            return "aug"
        if 10 in s:
            return "7"
        if 11 in s:
            return "maj7"
        return "maj"
    if 3 in s:
        if 6 in s and 7 not in s:
            if 9 in s:
                return "dim7"
            if 10 in s:
                return "hdim7"
            return "dim"
        return "min7" if 10 in s else "min"
    if 5 in s:
        return "sus4"
    if 2 in s:
        return "sus2"
    if 10 in s:
        return "7"
    if 11 in s:
        return "maj7"
    return "maj"


def parse_harte(label: str) -> tuple[int, set[int]] | None:
    """(root pitch class, pitch classes above the root without the bass), or None for N and X.

    Raises :class:`AnnotationFormatError` naming the label when mir_eval cannot parse it.
    """
    text = label.strip()
    if text in (mir_eval.chord.NO_CHORD, mir_eval.chord.X_CHORD):
        return None
    try:
        root_name, quality, extensions, _bass = mir_eval.chord.split(text)
        bassless = mir_eval.chord.join(root_name, quality, extensions)
        root, bitmap, _ = mir_eval.chord.encode(bassless)
    except (mir_eval.chord.InvalidChordException, ValueError, KeyError, IndexError) as exc:
        raise AnnotationFormatError(
            f"chord label {label!r} is not Harte syntax ({exc}); write it as root:quality, e.g. 'C:maj', "
            "'A:min7', 'Bb:7/3', or 'N' for no chord"
        ) from None
    return int(root) % 12, {int(k) for k in np.flatnonzero(np.asarray(bitmap) > 0)}


@dataclass(frozen=True)
class ChordVocabulary:
    """Chord classes: ``len(qualities) * 12`` chords plus ``N`` (no chord), last.

    Class ``q * 12 + r`` is quality ``qualities[q]`` on root pitch class ``r`` (C = 0), labelled
    ``"<root>:<quality>"`` with flat root names; class ``12 * len(qualities)`` is ``N``.
    ``ChordVocabulary()`` is the full 133-class vocabulary, :meth:`majmin` the 25-class one.
    """

    qualities: tuple[str, ...] = FULL_QUALITIES

    def __post_init__(self) -> None:
        unknown = [q for q in self.qualities if q not in FULL_QUALITIES]
        if unknown:
            raise ConfigError(
                f"unknown chord qualities {unknown}; choose from {', '.join(FULL_QUALITIES)}"
            )
        if "maj" not in self.qualities or "min" not in self.qualities:
            raise ConfigError(f"a chord vocabulary needs 'maj' and 'min', got {self.qualities}")
        if len(set(self.qualities)) != len(self.qualities):
            raise ConfigError(f"chord qualities repeat in {self.qualities}")

    @classmethod
    def majmin(cls) -> ChordVocabulary:
        """The 25-class vocabulary: 12 major, 12 minor, N."""
        return cls(MAJMIN_QUALITIES)

    @property
    def n_classes(self) -> int:
        return 12 * len(self.qualities) + 1

    @property
    def no_chord_index(self) -> int:
        return 12 * len(self.qualities)

    @cached_property
    def labels(self) -> tuple[str, ...]:
        """Class labels in index order."""
        return tuple(f"{PITCH_CLASS_NAMES[r]}:{q}" for q in self.qualities for r in range(12)) + ("N",)

    def index_to_label(self, index: int) -> str:
        if not 0 <= int(index) < self.n_classes:
            raise IndexError(f"chord class {index} is out of range 0..{self.n_classes - 1}")
        return self.labels[int(index)]

    def vocabulary_quality(self, quality: str) -> str:
        """``quality`` (one of FULL_QUALITIES) mapped into this vocabulary via QUALITY_FALLBACK."""
        while quality not in self.qualities:
            quality = QUALITY_FALLBACK[quality]
        return quality

    def label_to_index(self, label: str) -> int:
        """The nearest class of any Harte label mir_eval parses; N and X (unknown) give N.

        The bass (inversion) is dropped; the quality is reduced by :func:`reduce_quality` (see
        :data:`QUALITY_REDUCTION` for every named quality) and then by :data:`QUALITY_FALLBACK` into
        this vocabulary.
        """
        parsed = parse_harte(label)
        if parsed is None:
            return self.no_chord_index
        root, semitones = parsed
        quality = self.vocabulary_quality(reduce_quality(semitones))
        return self.qualities.index(quality) * 12 + root

    def labels_to_indices(self, labels: list[str] | tuple[str, ...]) -> np.ndarray:
        """Vectorised :meth:`label_to_index` (each distinct label is parsed once)."""
        cache: dict[str, int] = {}
        out = np.empty(len(labels), dtype=np.int64)
        for i, label in enumerate(labels):
            if label not in cache:
                cache[label] = self.label_to_index(label)
            out[i] = cache[label]
        return out

    def reduce_label(self, label: str) -> str:
        """The class label nearest to ``label`` (e.g. ``'C:maj6/3'`` -> ``'C:maj'``)."""
        return self.labels[self.label_to_index(label)]


# --- frame arrays ----------------------------------------------------------------------------------
def check_frames(frames: np.ndarray, n_outputs: int | None, what: str) -> np.ndarray:
    """``frames`` as a C-contiguous float64 (n_frames, n_outputs) array; 1-D input is one output.

    Raises :class:`ConfigError` naming ``what`` when the shape does not match the decoder or a value
    is not finite (a broken or mismatched model).
    """
    x = np.asarray(frames, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ConfigError(f"{what} must be (n_frames, n_outputs), got an array of shape {x.shape}")
    if n_outputs is not None and x.shape[1] != n_outputs:
        raise ConfigError(
            f"{what} has {x.shape[1]} outputs per frame but the decoder expects {n_outputs}; "
            "check that the model and the decoder's vocabulary/config match"
        )
    if not np.isfinite(x).all():
        bad = int(np.argwhere(~np.isfinite(x))[0, 0])
        raise ConfigError(f"{what} holds NaN or infinity (first at block frame {bad}); the model output is broken")
    return np.ascontiguousarray(x)
