"""The analysis results shown by the views: an append-only store with versions (no Qt).

The worker hands :class:`~models.runtime.analyzer.AnalysisEvents` to the GUI thread; the GUI adds them
here with :meth:`AnalysisStore.add`. Every change bumps :attr:`AnalysisStore.version`; a redraw timer
remembers the version it last drew and asks :meth:`AnalysisStore.changes_since` what was added since
(index ranges per layer), so at 60 Hz it redraws only what changed. Time-window queries
(:meth:`AnalysisStore.f0_between`, :meth:`AnalysisStore.notes_between`, ...) serve the visible part of
the time axis; :meth:`AnalysisStore.tuner_reading` serves the tuner readout and
:meth:`AnalysisStore.to_annotation` the export (through ``models.annotations.contract.write_analysis``).

The spectrogram (:attr:`AnalysisStore.spectrogram`, a :class:`SpectrogramColumns`) keeps the front-end
frames the models saw (:attr:`AnalysisEvents.features`) compactly: quantised to uint8 (features are
``log1p(1000 * magnitude)``; 0..``level_max`` maps to 0..255, about 0.03 per step) and, for long
streams, decimated in time. With the defaults (288 bins, at most 131072 columns = 37.7 MB) a column is one
10 ms frame for the first 21.8 minutes; when the cap would be passed, neighbouring columns are merged by
their maximum (a column then covers 2, 4, ... frames), so a 1-hour stream holds 90000 columns of 40 ms =
25.9 MB and memory never passes 37.7 MB (plus one partial column). :class:`StoreChanges` tells the new
columns (``spectrogram``) and whether the old ones were merged (``spectrogram_rebuilt``: redraw them all,
which happens ``log2`` times in a stream).

The store is not locked: use it from one thread (the GUI thread).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from models.annotations.types import TASKS, Annotation, ChordSegment, DrumHit, F0Track, Note
from models.errors import ConfigError
from models.runtime.analyzer import AnalysisEvents

__all__ = [
    "LAYERS",
    "AnalysisStore",
    "SpectrogramColumns",
    "SpectrogramConfig",
    "StoreChanges",
    "TunerReading",
    "note_name",
    "tuner_reading_for",
]

log = logging.getLogger(__name__)

#: The layers of the store, in the order of :class:`StoreChanges` ranges.
LAYERS: tuple[str, ...] = ("f0", "notes", "chords", "drums", "onsets")
#: Which task fills each layer.
LAYER_TASK: dict[str, str] = {"f0": "pitch", "notes": "pitch", "chords": "chords", "drums": "drums", "onsets": "onsets"}

_PITCH_CLASS_NAMES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_A4_HZ = 440.0
_A4_MIDI = 69


def note_name(pitch_midi: int) -> str:
    """Scientific pitch notation with sharps: 69 -> ``"A4"``, 60 -> ``"C4"``, 61 -> ``"C#4"``."""
    pitch_midi = int(pitch_midi)
    return f"{_PITCH_CLASS_NAMES[pitch_midi % 12]}{pitch_midi // 12 - 1}"


@dataclass(frozen=True)
class TunerReading:
    """What the tuner shows: the nearest equal-tempered note (A4 = 440 Hz) and the deviation from it."""

    note: str  # e.g. "A4"
    cents: float  # deviation from that note, in [-50, 50)
    f0_hz: float
    pitch_midi: int  # the nearest note
    time_s: float  # the frame it was read from

    def as_tuple(self) -> tuple[str, float, float]:
        return self.note, self.cents, self.f0_hz


def tuner_reading_for(f0_hz: float, time_s: float = 0.0) -> TunerReading:
    """The nearest note and the cents deviation of a frequency (``440 -> A4, 0``; ``452 -> A4, +46.6``)."""
    if not (f0_hz > 0 and math.isfinite(f0_hz)):
        raise ConfigError(f"a tuner reading needs a positive finite frequency, got f0_hz={f0_hz!r}")
    midi = _A4_MIDI + 12.0 * math.log2(f0_hz / _A4_HZ)
    nearest = int(math.floor(midi + 0.5))
    return TunerReading(note=note_name(nearest), cents=100.0 * (midi - nearest), f0_hz=float(f0_hz),
                        pitch_midi=nearest, time_s=float(time_s))


@dataclass(frozen=True)
class StoreChanges:
    """What was added between two versions: per layer, the half-open index range ``(start, stop)``.

    ``cleared``: the store was cleared (or replaced) since that version, so redraw every layer from
    scratch (the ranges then start at 0). ``replaced``: layers whose whole content was replaced since that
    version (the whole-file chords, f0 and notes at the end of a file): redraw those from scratch (their ranges start
    at 0). ``current_changed``: the current chord or stream time moved.
    """

    since_version: int
    version: int
    cleared: bool
    f0: tuple[int, int]
    notes: tuple[int, int]
    chords: tuple[int, int]
    drums: tuple[int, int]
    onsets: tuple[int, int]
    current_changed: bool
    spectrogram: tuple[int, int] = (0, 0)  # new spectrogram columns (all of them when rebuilt)
    spectrogram_rebuilt: bool = False  # the columns were cleared or merged (decimated): redraw them all
    replaced: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return self.cleared or self.current_changed or self.spectrogram_changed or bool(self.replaced) or \
            any(self.range(layer)[1] > self.range(layer)[0] for layer in LAYERS)

    @property
    def spectrogram_changed(self) -> bool:
        return self.spectrogram_rebuilt or self.spectrogram[1] > self.spectrogram[0]

    def range(self, layer: str) -> tuple[int, int]:
        if layer not in (*LAYERS, "spectrogram"):
            raise ConfigError(f"unknown layer {layer!r}; expected one of {', '.join(LAYERS)}, spectrogram")
        return getattr(self, layer)

    def changed_layers(self) -> tuple[str, ...]:
        return tuple(layer for layer in LAYERS if self.cleared or layer in self.replaced
                     or self.range(layer)[1] > self.range(layer)[0])


class _Growable:
    """A float64 column with amortised O(1) appends (capacity doubles)."""

    def __init__(self, capacity: int = 1024) -> None:
        self._data = np.empty(capacity, dtype=np.float64)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def extend(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        need = self._size + values.size
        if need > self._data.size:
            capacity = max(need, 2 * self._data.size)
            grown = np.empty(capacity, dtype=np.float64)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : need] = values
        self._size = need

    @property
    def values(self) -> np.ndarray:
        """A read-only view of the filled part (valid until the next append)."""
        view = self._data[: self._size]
        view.flags.writeable = False
        return view


GrowableColumn = _Growable  # the views keep their drawn values in these too


@dataclass(frozen=True)
class SpectrogramConfig:
    """How the store keeps spectrogram columns (see the module docstring for the memory figures)."""

    max_columns: int = 131072  # memory cap: max_columns * n_bins bytes (37.7 MB at 288 bins)
    level_max: float = 8.0  # feature value drawn at full scale (a full-scale sine gives log1p(500) = 6.2)

    def __post_init__(self) -> None:
        if self.max_columns < 2 or not self.level_max > 0:
            raise ConfigError(f"spectrogram settings: max_columns={self.max_columns} must be >= 2 and "
                              f"level_max={self.level_max} positive; use the defaults of SpectrogramConfig")


class SpectrogramColumns:
    """Front-end frames as uint8 columns, merged in time (by their maximum) when they would pass the cap.

    Column ``k`` covers frames ``origin_frame + k * decimation`` .. ``+ decimation - 1``, i.e. it starts
    at :meth:`column_time_s` ``(k)`` and lasts :attr:`column_s`. A partial column (fewer than
    ``decimation`` frames so far) waits until it is complete.
    """

    def __init__(self, config: SpectrogramConfig = SpectrogramConfig()) -> None:
        self.config = config
        self._scale = 255.0 / config.level_max
        self.clear()

    def clear(self) -> None:
        self._data = np.zeros((0, 0), dtype=np.uint8)
        self._n = 0
        self.n_bins = 0
        self.decimation = 1
        self.hop_s = 0.01
        self.origin_frame: int | None = None
        self._next_frame = 0
        self._pending: np.ndarray | None = None  # max of the frames of the partial column
        self._pending_count = 0
        self.rebuilds = 0  # how many times the columns were merged

    def __len__(self) -> int:
        return self._n

    @property
    def nbytes(self) -> int:
        """Memory held by the columns (the allocated capacity)."""
        return int(self._data.nbytes)

    @property
    def column_s(self) -> float:
        return self.decimation * self.hop_s

    def column_time_s(self, index: int) -> float:
        return ((self.origin_frame or 0) + index * self.decimation) * self.hop_s

    def columns(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Columns ``start:stop`` as a read-only (n, n_bins) uint8 view (valid until the next add)."""
        view = self._data[: self._n][start:stop]
        view.flags.writeable = False
        return view

    def quantise(self, features: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(features, dtype=np.float32) * self._scale + 0.5, 0, 255).astype(np.uint8)

    def add(self, features: np.ndarray, first_frame: int, hop_s: float | None = None) -> bool:
        """Append frames ``first_frame ..``; True when the old columns were merged (redraw them all)."""
        features = np.asarray(features)
        if features.ndim != 2 or features.shape[0] == 0:
            return False
        if self.n_bins == 0:
            self.n_bins = int(features.shape[1])
            self._data = np.zeros((min(256, self.config.max_columns), self.n_bins), dtype=np.uint8)
            self.origin_frame = int(first_frame)
            self._next_frame = int(first_frame)
            if hop_s:
                self.hop_s = float(hop_s)
        elif features.shape[1] != self.n_bins:
            raise ConfigError(f"spectrogram frames of {features.shape[1]} bins after frames of {self.n_bins}; clear "
                              "the store (AnalysisStore.clear) when the models change")
        first_frame = int(first_frame)
        if first_frame < self._next_frame:  # overlap: keep the frames already held
            features = features[self._next_frame - first_frame :]
            first_frame = self._next_frame
            if features.shape[0] == 0:
                return False
        q = self.quantise(features)
        if first_frame > self._next_frame:  # a gap: silence, as the analyser fills dropped input
            gap = first_frame - self._next_frame
            log.debug("spectrogram: %d missing frames drawn as silence", gap)
            q = np.concatenate([np.zeros((gap, self.n_bins), dtype=np.uint8), q])
        self._next_frame = first_frame + features.shape[0]
        rebuilt = False
        while self._n + (self._pending_count + q.shape[0]) // self.decimation > self.config.max_columns:
            self._merge_pairs()
            rebuilt = True
        self._push(q)
        return rebuilt

    def _merge_pairs(self) -> None:
        """Halve the time resolution of the held columns (pairwise maximum); an odd last column turns partial."""
        n, d = self._n, self.decimation
        pairs = n // 2
        if n % 2:
            last = self._data[n - 1].copy()
            self._pending = last if self._pending is None else np.maximum(last, self._pending)
            self._pending_count += d
        self._data[:pairs] = np.maximum(self._data[0 : 2 * pairs : 2], self._data[1 : 2 * pairs : 2])
        self._n = pairs
        self.decimation = 2 * d
        self.rebuilds += 1
        log.info("spectrogram: %d columns merged to %d of %d frames each (memory cap %d columns)", n, pairs,
                 self.decimation, self.config.max_columns)

    def _push(self, q: np.ndarray) -> None:
        d = self.decimation
        if self._pending_count:
            take = min(d - self._pending_count, q.shape[0])
            if take:
                self._pending = np.maximum(self._pending, q[:take].max(axis=0))
                self._pending_count += take
                q = q[take:]
            if self._pending_count < d:
                return
            self._append(self._pending[None, :])
            self._pending, self._pending_count = None, 0
        full = q.shape[0] // d
        if full:
            block = q[: full * d]
            self._append(block if d == 1 else block.reshape(full, d, self.n_bins).max(axis=1))
        rest = q[full * d :]
        if rest.shape[0]:
            self._pending = rest.max(axis=0)
            self._pending_count = rest.shape[0]

    def _append(self, columns: np.ndarray) -> None:
        need = self._n + columns.shape[0]
        if need > self._data.shape[0]:
            capacity = min(max(need, 2 * self._data.shape[0]), self.config.max_columns)
            grown = np.zeros((capacity, self.n_bins), dtype=np.uint8)
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n : need] = columns
        self._n = need


class AnalysisStore:
    """Everything analysed so far on one time axis; grows by :meth:`add`, versioned for redraws.

    ``tasks``: the tasks being analysed (their fields are present in :meth:`to_annotation`; the others
    stay ``None``). Events are expected in stream order per layer (the analyser emits them so).
    """

    def __init__(self, tasks: Iterable[str] = TASKS, spectrogram: SpectrogramConfig = SpectrogramConfig()) -> None:
        self._version = 0
        self._spectrogram = SpectrogramColumns(spectrogram)
        self.clear(tasks)

    # --- writing -----------------------------------------------------------------------------------
    def clear(self, tasks: Iterable[str] | None = None) -> None:
        """Drop every event (a new stream or file); ``tasks`` replaces the analysed tasks when given."""
        if tasks is not None:
            tasks = tuple(tasks)
            unknown = [t for t in tasks if t not in TASKS]
            if unknown:
                raise ConfigError(f"unknown task(s) {', '.join(map(repr, unknown))}; expected some of {', '.join(TASKS)}")
            self._tasks = tuple(t for t in TASKS if t in tasks)
        self._f0_times = _Growable()
        self._f0_hz = _Growable()
        self._f0_conf = _Growable()
        self._notes: list[Note] = []
        self._note_on = _Growable(256)
        self._note_off = _Growable(256)
        self._chords: list[ChordSegment] = []
        self._chord_start = _Growable(256)
        self._chord_end = _Growable(256)
        self._drums: list[DrumHit] = []
        self._drum_times = _Growable(256)
        self._onsets = _Growable(256)
        self._current_chord: str | None = None
        self._latest_time_s = 0.0
        self._replaced_at: dict[str, int] = {}  # layer -> the version its content was last replaced at
        self._spectrogram.clear()
        self._version += 1
        self._cleared_at = self._version
        self._spectrogram_rebuilt_at = self._version
        # _history[i]: the layer sizes at version _cleared_at + i
        self._history: list[tuple[int, ...]] = [self._sizes()]
        self._current_versions: list[int] = [self._version]

    def add(self, events: AnalysisEvents) -> int:
        """Append one batch of events; returns the new version (unchanged when nothing changed).

        A batch with :attr:`AnalysisEvents.revised_chords`, ``revised_f0`` or ``revised_notes`` (the end of
        a file analysed with whole-file decoding) replaces everything that layer held with those.
        """
        f0 = events.f0
        current_changed = (events.current_chord != self._current_chord and events.current_chord is not None) or \
            events.latest_time_s != self._latest_time_s
        n_features = events.n_features
        if events.is_empty and not current_changed and not n_features:
            return self._version
        if events.revised_f0 is not None:
            f0 = events.revised_f0
            self._f0_times, self._f0_hz, self._f0_conf = (_Growable(max(1024, len(f0))) for _ in range(3))
        if len(f0):
            self._f0_times.extend(f0.times_s)
            self._f0_hz.extend(f0.f0_hz)
            self._f0_conf.extend(f0.confidence)
        notes = events.notes
        if events.revised_notes is not None:
            notes = events.revised_notes
            self._notes = []
            self._note_on, self._note_off = _Growable(max(256, len(notes))), _Growable(max(256, len(notes)))
        if notes:
            self._notes.extend(notes)
            self._note_on.extend(np.array([n.onset_s for n in notes]))
            self._note_off.extend(np.array([n.offset_s for n in notes]))
        if events.revised_chords is not None:
            self._chords = list(events.revised_chords)
            self._chord_start = _Growable(max(256, len(self._chords)))
            self._chord_end = _Growable(max(256, len(self._chords)))
            self._chord_start.extend(np.array([c.start_s for c in self._chords]))
            self._chord_end.extend(np.array([c.end_s for c in self._chords]))
        elif events.chords:
            self._chords.extend(events.chords)
            self._chord_start.extend(np.array([c.start_s for c in events.chords]))
            self._chord_end.extend(np.array([c.end_s for c in events.chords]))
        if events.drums:
            self._drums.extend(events.drums)
            self._drum_times.extend(np.array([h.time_s for h in events.drums]))
        if events.onsets_s.size:
            self._onsets.extend(events.onsets_s)
        if events.current_chord is not None:
            self._current_chord = events.current_chord
        rebuilt = False
        if n_features:
            hop_s = events.latest_time_s / events.frames_done if events.frames_done > 0 else None
            rebuilt = self._spectrogram.add(events.features, events.first_frame, hop_s)
        self._latest_time_s = max(self._latest_time_s, float(events.latest_time_s))
        self._version += 1
        self._history.append(self._sizes())
        for layer, revised in (("f0", events.revised_f0), ("notes", events.revised_notes),
                               ("chords", events.revised_chords)):
            if revised is not None:
                self._replaced_at[layer] = self._version
        if rebuilt:
            self._spectrogram_rebuilt_at = self._version
        if current_changed:
            self._current_versions.append(self._version)
        return self._version

    def _sizes(self) -> tuple[int, int, int, int, int, int]:
        """The sizes of the LAYERS, then the spectrogram's column count."""
        return (len(self._f0_times), len(self._notes), len(self._chords), len(self._drums), len(self._onsets),
                len(self._spectrogram))

    # --- versions ----------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Grows by one with every change (adds and clears); never goes back."""
        return self._version

    def changes_since(self, version: int) -> StoreChanges:
        """What was added after ``version`` (a value :attr:`version` had before); see :class:`StoreChanges`."""
        version = int(version)
        if version > self._version:
            raise ConfigError(f"version {version} is newer than the store's version {self._version}; pass a "
                              "value read from AnalysisStore.version")
        cleared = version < self._cleared_at
        before = (0,) * (len(LAYERS) + 1) if cleared else self._history[version - self._cleared_at]
        now = self._sizes()
        replaced = tuple(layer for layer in LAYERS if not cleared and version < self._replaced_at.get(layer, 0))
        ranges = {layer: (0 if layer in replaced else before[i], now[i]) for i, layer in enumerate(LAYERS)}
        current_changed = cleared or (self._current_versions[-1] > version)
        rebuilt = version < self._spectrogram_rebuilt_at
        columns = (0, now[-1]) if rebuilt else (before[-1], now[-1])
        return StoreChanges(since_version=version, version=self._version, cleared=cleared,
                            current_changed=current_changed, spectrogram=columns, spectrogram_rebuilt=rebuilt,
                            replaced=replaced, **ranges)

    # --- reading: whole layers -----------------------------------------------------------------------
    @property
    def tasks(self) -> tuple[str, ...]:
        return self._tasks

    @property
    def latest_time_s(self) -> float:
        """The stream time the analysis has reached (frames done x hop)."""
        return self._latest_time_s

    @property
    def current_chord(self) -> str | None:
        """The chord the live decoder holds right now (None before the first one)."""
        return self._current_chord

    def f0_track(self) -> F0Track:
        return F0Track(self._f0_times.values.copy(), self._f0_hz.values.copy(), self._f0_conf.values.copy())

    def f0_slice(self, start: int, stop: int) -> F0Track:
        """F0 frames by index (for a :class:`StoreChanges` range)."""
        return F0Track(self._f0_times.values[start:stop].copy(), self._f0_hz.values[start:stop].copy(),
                       self._f0_conf.values[start:stop].copy())

    @property
    def notes(self) -> tuple[Note, ...]:
        return tuple(self._notes)

    @property
    def chords(self) -> tuple[ChordSegment, ...]:
        return tuple(self._chords)

    @property
    def drums(self) -> tuple[DrumHit, ...]:
        return tuple(self._drums)

    @property
    def onsets_s(self) -> np.ndarray:
        return self._onsets.values.copy()

    # --- reading: index ranges (for StoreChanges; O(range), unlike the whole-layer tuples above) ----
    def notes_slice(self, start: int, stop: int) -> list[Note]:
        return self._notes[start:stop]

    def chords_slice(self, start: int, stop: int) -> list[ChordSegment]:
        return self._chords[start:stop]

    def drums_slice(self, start: int, stop: int) -> list[DrumHit]:
        return self._drums[start:stop]

    def onsets_slice(self, start: int, stop: int) -> np.ndarray:
        return self._onsets.values[start:stop].copy()

    def counts(self) -> dict[str, int]:
        """Events per layer (LAYERS; the spectrogram's columns are ``len(store.spectrogram)``)."""
        return dict(zip(LAYERS, self._sizes()))

    @property
    def spectrogram(self) -> SpectrogramColumns:
        """The front-end frames so far, as uint8 columns (read it; the store writes it)."""
        return self._spectrogram

    # --- reading: time windows -----------------------------------------------------------------------
    @staticmethod
    def _check_window(t0_s: float, t1_s: float) -> None:
        if not t0_s <= t1_s:
            raise ConfigError(f"time window start {t0_s} s is after its end {t1_s} s; pass (earlier, later)")

    def f0_between(self, t0_s: float, t1_s: float) -> F0Track:
        """F0 frames with ``t0_s <= time < t1_s``."""
        self._check_window(t0_s, t1_s)
        times = self._f0_times.values
        start, stop = np.searchsorted(times, [t0_s, t1_s], side="left")
        return self.f0_slice(int(start), int(stop))

    def notes_between(self, t0_s: float, t1_s: float) -> list[Note]:
        """Notes overlapping ``[t0_s, t1_s)`` (onset before the end, offset after the start)."""
        self._check_window(t0_s, t1_s)
        hit = (self._note_on.values < t1_s) & (self._note_off.values > t0_s)
        return [self._notes[i] for i in np.flatnonzero(hit)]

    def chords_between(self, t0_s: float, t1_s: float) -> list[ChordSegment]:
        """Chord segments overlapping ``[t0_s, t1_s)``."""
        self._check_window(t0_s, t1_s)
        hit = (self._chord_start.values < t1_s) & (self._chord_end.values > t0_s)
        return [self._chords[i] for i in np.flatnonzero(hit)]

    def drums_between(self, t0_s: float, t1_s: float, drum: str | None = None) -> list[DrumHit]:
        """Drum hits with ``t0_s <= time < t1_s``, of one class when ``drum`` is given."""
        self._check_window(t0_s, t1_s)
        times = self._drum_times.values
        hit = (times >= t0_s) & (times < t1_s)
        return [self._drums[i] for i in np.flatnonzero(hit) if drum is None or self._drums[i].drum == drum]

    def onsets_between(self, t0_s: float, t1_s: float) -> np.ndarray:
        """Onset times with ``t0_s <= time < t1_s``."""
        self._check_window(t0_s, t1_s)
        times = self._onsets.values
        return times[(times >= t0_s) & (times < t1_s)].copy()

    def chord_at(self, time_s: float) -> str | None:
        """The final chord segment holding ``time_s`` (file mode: the chord under the playhead)."""
        hit = np.flatnonzero((self._chord_start.values <= time_s) & (self._chord_end.values > time_s))
        return self._chords[int(hit[-1])].label if hit.size else None

    # --- tuner ---------------------------------------------------------------------------------------
    def tuner_reading(self, at_s: float | None = None, *, max_age_s: float = 0.1) -> TunerReading | None:
        """The nearest note, cents deviation and f0 of the latest voiced frame (or the frame at ``at_s``).

        None when there is no f0 yet, or when the frame read (the newest one, or the one nearest
        ``at_s``) is unvoiced, or when the newest voiced frame is older than ``max_age_s`` before it.
        Use :meth:`TunerReading.as_tuple` for ``(note, cents, f0_hz)``.
        """
        times, f0 = self._f0_times.values, self._f0_hz.values
        if times.size == 0:
            return None
        if at_s is None:
            ref = times.size - 1
        else:
            ref = int(np.clip(np.searchsorted(times, at_s, side="right") - 1, 0, times.size - 1))
        # only frames within max_age_s of the one read can answer (one more for rounding): the readout runs
        # every frame, so it must not scan the whole history
        first = max(int(np.searchsorted(times, times[ref] - max_age_s, side="left")) - 1, 0)
        voiced = np.flatnonzero(f0[first : ref + 1] > 0)
        if voiced.size == 0:
            return None
        i = first + int(voiced[-1])
        if times[ref] - times[i] > max_age_s:
            return None
        return tuner_reading_for(float(f0[i]), float(times[i]))

    # --- export --------------------------------------------------------------------------------------
    def to_annotation(self, duration_s: float | None = None, metadata: dict | None = None) -> Annotation:
        """Everything so far as an :class:`Annotation` for ``write_analysis``; tasks not analysed are None.

        ``duration_s`` defaults to the stream time reached (:attr:`latest_time_s`).
        """
        tasks = self._tasks
        return Annotation(
            duration_s=self._latest_time_s if duration_s is None else float(duration_s),
            f0=self.f0_track() if "pitch" in tasks else None,
            notes=self.notes if "pitch" in tasks else None,
            chords=self.chords if "chords" in tasks else None,
            drums=self.drums if "drums" in tasks else None,
            onsets=self.onsets_s if "onsets" in tasks else None,
            metadata=dict(metadata or {}),
        )
