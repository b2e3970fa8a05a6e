"""Frame targets from annotations (numpy only): what each network output should be at each 10 ms frame.

Frame ``i`` is centred on time ``i * hop_s`` (the front-end's frame ``i``), and for chords it covers
``[i * hop_s, (i + 1) * hop_s)``. Every function returns ``(targets, mask)``: ``mask`` is 1 where the
target is known and 0 where the loss must ignore the frame.

- pitch ``(T, 361)``: a Gaussian over :class:`PitchBins` centred on the true f0 (in cents, std
  ``std_cents``, peak 1, CREPE-style) on voiced frames, zeros on unvoiced ones; the last column is
  voicing 0/1. The reference is the f0 track when there is one (sampled at the frame times,
  interpolated in cents between voiced neighbours), else the notes. Mask ``(T, 2)``: column 0 for the
  saliences (0 where a voiced f0 lies outside the bins), column 1 for voicing (0 past the end of an f0
  track). With ``note_start_weight`` the mask is that weight instead of 1 in the first 100 ms of each
  note (:func:`note_start_frames`), so the loss counts those frames that many times.
- chords ``(T,)`` int64: :meth:`ChordVocabulary.label_to_index` of the segment holding the frame's
  centre ``(i + 0.5) * hop_s``; frames no segment covers get ``-1`` (mask 0).
- drums ``(T, 6)`` and onsets ``(T, 1)``: 1 at ``round(time / hop)``, ``widen_value`` (0.5) at the
  frames next to it (the larger value wins where hits are close); mask all ones. Onsets given the file's
  features may leave out the onsets :func:`hidden_onsets` finds: no target, and mask 0 from the frame before
  such an onset to the end of its evaluation window, so the loss neither asks for a detection there nor
  forbids one.
"""

from __future__ import annotations

import numpy as np

from models.annotations.types import DRUM_CLASSES, Annotation
from models.decoders.vocabulary import ChordVocabulary, PitchBins
from models.errors import ConfigError

__all__ = [
    "EVENT_WIDEN_VALUE",
    "HOP_S",
    "chord_targets",
    "drum_targets",
    "frame_f0_hz",
    "hidden_onsets",
    "note_start_frames",
    "onset_targets",
    "PitchTargetRows",
    "pitch_target_rows",
    "pitch_targets",
    "spectral_change",
    "task_targets",
]

HOP_S: float = 0.01
#: frames of a note that ``note_start_weight`` weighs (100 ms), and the f0 move that starts a new note
NOTE_START_FRAMES: int = 10
NOTE_CHANGE_CENTS: float = 50.0
#: drum and onset targets: the value of the frames next to an event's frame
EVENT_WIDEN_VALUE: float = 0.5
#: :func:`spectral_change`: the frames after an onset that the 50 ms evaluation window spans, and the frames
#: before it that the change is measured from
ONSET_CHANGE_AFTER_FRAMES: int = 5
ONSET_CHANGE_BEFORE_FRAMES: int = 3
#: :func:`hidden_onsets`: an onset is hidden when its change is at most this quantile of the changes at the
#: file's onset-free frames (at least ``HIDDEN_ONSET_MIN_FREE_FRAMES`` of them, else none is hidden)
HIDDEN_ONSET_QUANTILE: float = 0.9
HIDDEN_ONSET_MIN_FREE_FRAMES: int = 30
_VOCABULARY = ChordVocabulary()


def _frame_times(n_frames: int, hop_s: float) -> np.ndarray:
    return np.arange(n_frames, dtype=np.float64) * hop_s


def frame_f0_hz(annotation: Annotation, n_frames: int, hop_s: float = HOP_S) -> tuple[np.ndarray, np.ndarray]:
    """(f0_hz, known) at the frame times: f0 > 0 voiced, 0 unvoiced; ``known`` False past the f0 track.

    From the f0 track when present (nearest reference frame within one reference hop; between two
    voiced reference frames the pitch is interpolated in cents), else from the notes (known everywhere).
    """
    times = _frame_times(n_frames, hop_s)
    f0 = np.zeros(n_frames)
    known = np.ones(n_frames, dtype=bool)
    track = annotation.f0
    if track is not None and len(track) > 0:
        t_ref = track.times_s
        order = np.argsort(t_ref, kind="stable")
        t_ref, f_ref = t_ref[order], np.where(track.f0_hz[order] > 0, track.f0_hz[order], 0.0)
        ref_hop = float(np.median(np.diff(t_ref))) if t_ref.size > 1 else hop_s
        tol = max(ref_hop, hop_s) * 0.5 + 1e-9
        right = np.clip(np.searchsorted(t_ref, times), 0, t_ref.size - 1)
        left = np.clip(right - 1, 0, t_ref.size - 1)
        nearest = np.where(np.abs(t_ref[left] - times) <= np.abs(t_ref[right] - times), left, right)
        known = np.abs(t_ref[nearest] - times) <= tol
        f0 = np.where(known, f_ref[nearest], 0.0)
        # interpolate in cents where the frame lies between two voiced reference frames
        between = (t_ref[left] <= times) & (times <= t_ref[right]) & (right > left)
        both = between & (f_ref[left] > 0) & (f_ref[right] > 0) & known & (f0 > 0)
        if np.any(both):
            span = t_ref[right] - t_ref[left]
            w = np.where(span > 0, (times - t_ref[left]) / np.where(span > 0, span, 1.0), 0.0)
            log_f = (1.0 - w) * np.log2(np.where(both, f_ref[left], 1.0)) + w * np.log2(np.where(both, f_ref[right], 1.0))
            f0 = np.where(both, np.exp2(log_f), f0)
        return f0, known
    for note in annotation.notes or ():
        a = int(np.ceil(note.onset_s / hop_s - 1e-9))
        b = int(np.ceil(note.offset_s / hop_s - 1e-9))
        hz = 440.0 * 2.0 ** ((note.pitch_midi - 69.0) / 12.0)
        f0[max(a, 0):max(min(b, n_frames), 0)] = hz  # a later note wins where notes overlap
    return f0, known


class PitchTargetRows:
    """Pitch targets of one file that build their Gaussian rows only when indexed.

    Behaves like the ``(T, n_bins + 1)`` float32 array :func:`pitch_targets` returns (``shape``,
    ``dtype``, ``len``, indexing with a row index or slice first, ``np.asarray``) and gives exactly the
    same values, but holds only the bin position and voicing of each frame: 12 bytes a frame instead of
    1444, which is what lets training hold thousands of minutes of pitch data in memory.
    """

    def __init__(self, position: np.ndarray, voiced: np.ndarray, std_cents: float, bins: PitchBins) -> None:
        self._position = np.asarray(position, dtype=np.float64)  # bin position; NaN: no salience target
        self._voiced = np.asarray(voiced, dtype=np.float32)
        self._std_cents = float(std_cents)
        self._bins = bins
        self.shape = (int(self._position.size), bins.n_bins + 1)
        self.dtype = np.dtype(np.float32)
        self.ndim = 2

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def nbytes(self) -> int:
        """Bytes held (not the bytes of the dense array it stands for)."""
        return int(self._position.nbytes + self._voiced.nbytes)

    def _rows(self, rows: np.ndarray) -> np.ndarray:
        out = np.zeros((rows.size, self.shape[1]), dtype=np.float32)
        position = self._position[rows]
        filled = np.flatnonzero(~np.isnan(position))
        if filled.size:
            diff_cents = self._bins.cents[None, :] - position[filled, None] * self._bins.cents_per_bin
            out[filled, :-1] = np.exp(-0.5 * (diff_cents / self._std_cents) ** 2)
        out[:, -1] = self._voiced[rows]
        return out

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        first, n = key[0], self.shape[0]
        rows = np.arange(*first.indices(n)) if isinstance(first, slice) else np.arange(n)[first]
        dense = self._rows(np.atleast_1d(rows))
        if np.ndim(rows) == 0:
            return dense[0][key[1:]] if len(key) > 1 else dense[0]
        return dense[(slice(None), *key[1:])] if len(key) > 1 else dense

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        dense = self._rows(np.arange(self.shape[0]))
        return dense if dtype is None else dense.astype(dtype, copy=False)


def note_start_frames(f0_hz: np.ndarray, n_start: int = NOTE_START_FRAMES) -> np.ndarray:
    """Boolean per frame: among the first ``n_start`` frames of a note of the frame-wise ``f0_hz`` (0 =
    unvoiced). A note starts where the f0 turns voiced or moves by more than :data:`NOTE_CHANGE_CENTS`
    from the frame before (vibrato and bends move far less in 10 ms)."""
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    voiced = f0_hz > 0
    cents = 1200.0 * np.log2(np.where(voiced, f0_hz, 1.0))
    index = np.arange(f0_hz.size)
    start = voiced.copy()
    start[1:] &= ~voiced[:-1] | (np.abs(np.diff(cents)) > NOTE_CHANGE_CENTS)
    last_start = np.maximum.accumulate(np.where(start, index, -1)) if f0_hz.size else index
    return voiced & (last_start >= 0) & (index - last_start < n_start)


def pitch_target_rows(annotation: Annotation, n_frames: int, *, hop_s: float = HOP_S, std_cents: float = 25.0,
                      bins: PitchBins = PitchBins(), note_start_weight: float = 1.0
                      ) -> tuple[PitchTargetRows, np.ndarray]:
    """:func:`pitch_targets` with the targets as a :class:`PitchTargetRows` (rows built when indexed)."""
    if not std_cents > 0:
        raise ConfigError(f"std_cents must be positive, got {std_cents}")
    if not note_start_weight > 0:
        raise ConfigError(f"note_start_weight must be positive, got {note_start_weight}")
    f0, known = frame_f0_hz(annotation, n_frames, hop_s)
    voiced = f0 > 0
    position = np.where(voiced, bins.hz_to_bin(np.where(voiced, f0, 1.0)), np.nan)
    in_range = voiced & (position >= -0.5) & (position <= bins.n_bins - 0.5)
    mask = np.zeros((n_frames, 2), dtype=np.float32)
    mask[:, 0] = known & (in_range | ~voiced)
    mask[:, 1] = known
    if note_start_weight != 1.0:
        mask[note_start_frames(f0)] *= np.float32(note_start_weight)
    return PitchTargetRows(np.where(in_range, position, np.nan), voiced, std_cents, bins), mask


def pitch_targets(annotation: Annotation, n_frames: int, *, hop_s: float = HOP_S, std_cents: float = 25.0,
                  bins: PitchBins = PitchBins(), note_start_weight: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``(T, n_bins + 1)`` float32 saliences + voicing, and a ``(T, 2)`` float32 mask (see module doc)."""
    rows, mask = pitch_target_rows(annotation, n_frames, hop_s=hop_s, std_cents=std_cents, bins=bins,
                                   note_start_weight=note_start_weight)
    return np.asarray(rows), mask


def chord_targets(annotation: Annotation, n_frames: int, *, hop_s: float = HOP_S,
                  vocabulary: ChordVocabulary = _VOCABULARY) -> tuple[np.ndarray, np.ndarray]:
    """``(T,)`` int64 class indices (-1 = no label) and a ``(T,)`` float32 mask."""
    classes = np.full(n_frames, -1, dtype=np.int64)
    centres = (np.arange(n_frames, dtype=np.float64) + 0.5) * hop_s
    for seg in sorted(annotation.chords or (), key=lambda s: s.start_s):
        a = int(np.searchsorted(centres, seg.start_s, side="left"))
        b = int(np.searchsorted(centres, seg.end_s, side="left"))
        if b > a:
            classes[a:b] = vocabulary.label_to_index(seg.label)
    return classes, (classes >= 0).astype(np.float32)


def _event_targets(times_s: np.ndarray, columns: np.ndarray, n_frames: int, n_columns: int, hop_s: float,
                   widen_value: float) -> np.ndarray:
    targets = np.zeros((n_frames, n_columns), dtype=np.float32)
    frames = np.rint(np.asarray(times_s, dtype=np.float64) / hop_s).astype(np.int64)
    for offset, value in ((-1, widen_value), (1, widen_value), (0, 1.0)):
        f = frames + offset
        ok = (f >= 0) & (f < n_frames)
        np.maximum.at(targets, (f[ok], columns[ok]), np.float32(value))
    return targets


def drum_targets(annotation: Annotation, n_frames: int, *, hop_s: float = HOP_S,
                 widen_value: float = EVENT_WIDEN_VALUE) -> tuple[np.ndarray, np.ndarray]:
    """``(T, 6)`` float32 per DRUM_CLASSES column and an all-ones mask of the same shape."""
    hits = [h for h in annotation.drums or () if h.drum in DRUM_CLASSES]
    times = np.array([h.time_s for h in hits], dtype=np.float64)
    cols = np.array([DRUM_CLASSES.index(h.drum) for h in hits], dtype=np.int64)
    targets = _event_targets(times, cols, n_frames, len(DRUM_CLASSES), hop_s, widen_value)
    return targets, np.ones_like(targets)


def spectral_change(features: np.ndarray, after: int = ONSET_CHANGE_AFTER_FRAMES,
                    before: int = ONSET_CHANGE_BEFORE_FRAMES) -> np.ndarray:
    """Per frame ``t`` of ``features (T, n_bins)`` (log-magnitudes): the sum over bins of how far the largest
    value in frames ``t .. t + after`` rises above the largest in ``t - before .. t - 1`` (bins that do not
    rise add 0). Frames before the file count as silence (feature 0), frames after it are left out.

    This is the new energy an onset at ``t`` brings within the evaluation window: what a detector could see
    of it in time to be counted."""
    f = np.asarray(features, dtype=np.float32)
    n = f.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    post = f.copy()
    for k in range(1, after + 1):
        np.maximum(post[:-k], f[k:], out=post[:-k])
    pre = np.zeros_like(f)
    for k in range(1, before + 1):
        np.maximum(pre[k:], f[:-k], out=pre[k:])
    return np.maximum(post - pre, 0.0).sum(axis=1, dtype=np.float64)


def hidden_onsets(features: np.ndarray, onset_frames: np.ndarray) -> np.ndarray:
    """Which onsets (frame indices into ``features``) bring no more :func:`spectral_change` than one in ten of
    the file's onset-free frames do (frames more than ``ONSET_CHANGE_AFTER_FRAMES`` from every onset): a
    note that enters under sustained sound with a slow attack, a re-struck note still ringing. Such an
    onset cannot be told from the rest of the file within 50 ms. With fewer than
    ``HIDDEN_ONSET_MIN_FREE_FRAMES`` onset-free frames nothing is hidden (no reference to judge by)."""
    frames = np.asarray(onset_frames, dtype=np.int64).reshape(-1)
    hidden = np.zeros(frames.size, dtype=bool)
    n = int(np.asarray(features).shape[0])
    if frames.size == 0 or n == 0:
        return hidden
    change = spectral_change(features)
    inside = (frames >= 0) & (frames < n)
    marks = np.sort(frames[inside])
    grid = np.arange(n)
    if marks.size:
        pos = np.searchsorted(marks, grid)
        left = np.abs(grid - marks[np.clip(pos - 1, 0, marks.size - 1)])
        right = np.abs(marks[np.clip(pos, 0, marks.size - 1)] - grid)
        free = np.minimum(left, right) > ONSET_CHANGE_AFTER_FRAMES
    else:
        free = np.ones(n, dtype=bool)
    if free.sum() < HIDDEN_ONSET_MIN_FREE_FRAMES:
        return hidden
    level = float(np.quantile(change[free], HIDDEN_ONSET_QUANTILE))
    hidden[inside] = change[frames[inside]] <= level
    return hidden


def onset_targets(annotation: Annotation, n_frames: int, *, hop_s: float = HOP_S,
                  widen_value: float = EVENT_WIDEN_VALUE,
                  features: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(T, 1)`` float32 onset targets and a mask: all ones, or with ``features`` (the file's, T frames)
    0 around each of :func:`hidden_onsets`, which then get no target."""
    times = np.asarray(annotation.onsets if annotation.onsets is not None else [], dtype=np.float64).reshape(-1)
    mask = np.ones((n_frames, 1), dtype=np.float32)
    if features is not None and times.size:
        if np.asarray(features).shape[0] != n_frames:
            raise ConfigError(f"onset targets: features have {np.asarray(features).shape[0]} frames, "
                              f"expected {n_frames}")
        frames = np.rint(times / hop_s).astype(np.int64)
        hidden = hidden_onsets(features, frames)
        for f in frames[hidden]:
            mask[max(f - 1, 0): max(f + ONSET_CHANGE_AFTER_FRAMES + 1, 0), 0] = 0.0
        times = times[~hidden]
    targets = _event_targets(times, np.zeros(times.size, dtype=np.int64), n_frames, 1, hop_s, widen_value)
    return targets, mask


def task_targets(task: str, annotation: Annotation, n_frames: int, *, hop_s: float = HOP_S,
                 pitch_std_cents: float = 25.0, pitch_note_start_weight: float = 1.0,
                 lazy: bool = False, onset_features: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Dispatch to the target function of ``task``; ``lazy``: pitch targets as :class:`PitchTargetRows`;
    ``onset_features``: onsets leave out their hidden onsets (see :func:`onset_targets`)."""
    if onset_features is not None and task != "onsets":
        raise ConfigError(f"hidden onsets apply to the onsets task only (task is {task!r})")
    if task == "pitch":
        make = pitch_target_rows if lazy else pitch_targets
        return make(annotation, n_frames, hop_s=hop_s, std_cents=pitch_std_cents,
                    note_start_weight=pitch_note_start_weight)
    if task == "chords":
        return chord_targets(annotation, n_frames, hop_s=hop_s)
    if task == "drums":
        return drum_targets(annotation, n_frames, hop_s=hop_s)
    if task == "onsets":
        return onset_targets(annotation, n_frames, hop_s=hop_s, features=onset_features)
    raise ConfigError(f"unknown task {task!r}; choose one of pitch, chords, drums, onsets")
