"""Chord decoding: per-frame class posteriors over a :class:`ChordVocabulary` -> chord segments.

Frame ``i`` covers ``[i / frame_rate_hz, (i + 1) / frame_rate_hz)``; segments tile ``[0, n_frames /
frame_rate_hz)`` without gaps, adjacent segments have different labels.

Both decoders use one HMM: a state per class, ``self_transition_prob`` of staying, the rest spread
uniformly over the other classes; the posteriors act as emission likelihoods.

* :func:`decode_viterbi` (offline only): the most likely state path over the whole file;
  :class:`ChordViterbiDecoder` computes it while a stream is fed and gives it at the end of the stream
  (what ``featherlight analyze`` and the window's file analysis use).
* :class:`ChordOnlineDecoder`: forward filtering (normalised every frame) and its argmax, then a
  bounded-delay rule: a new chord is accepted once it has been the argmax for ``min_frames`` frames in
  a row, and it starts where that run started (shorter runs are flickers, absorbed by the current
  chord). A segment is returned once the next chord is accepted (``delay_frames = min_frames`` after
  its last frame) or at :meth:`~ChordOnlineDecoder.flush`. :func:`decode_offline_streamable` is this
  decoder over the whole file, which streaming in any block sizes reproduces exactly.

The per-frame loops of both run compiled by numba (``_viterbi_forward``, ``_forward_filter``); their numpy
forms are the reference and the fallback, with the same arithmetic in the same order.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from models.annotations.types import ChordSegment
from models.decoders.vocabulary import ChordVocabulary, check_frames
from models.errors import ConfigError

log = logging.getLogger(__name__)

_TINY = 1e-12
_EMPTY = np.empty(0)  # the online filter's "no frame yet"


# --- per-frame kernels ------------------------------------------------------------------------------
# Each exists twice: numpy (the reference, and the fallback) and plain loops compiled by numba (what runs;
# numba is a dependency). Both do the same float operations in the same order, so they give the same
# numbers and paths (a test compares them): ties go to the lowest class index, sums run left to right.
def _viterbi_forward_numpy(delta, log_emit, back, start, log_stay, log_switch):
    """Forward pass of the uniform-switching chord HMM over frames ``start..``: fills ``back[t]`` with
    each state's best predecessor and returns the last frame's log scores. Switching into a state comes
    from the best state overall, or from the second best for that best state itself."""
    n, k = log_emit.shape
    states = np.arange(k)
    for t in range(start, n):
        first = int(np.argmax(delta))
        rest = delta.copy()
        rest[first] = -np.inf
        second = int(np.argmax(rest))
        other = np.full(k, first)
        other[first] = second
        switch = delta[other] + log_switch
        stay = delta + log_stay
        use_stay = stay >= switch
        back[t] = np.where(use_stay, states, other)
        delta = np.where(use_stay, stay, switch) + log_emit[t]
    return delta


def _viterbi_forward_loops(delta, log_emit, back, start, log_stay, log_switch):
    """:func:`_viterbi_forward_numpy` as loops, for numba."""
    n, k = log_emit.shape
    delta = delta.copy()
    for t in range(start, n):
        first = 0
        for j in range(1, k):
            if delta[j] > delta[first]:
                first = j
        second = 1 if first == 0 else 0
        for j in range(k):
            if j != first and delta[j] > delta[second]:
                second = j
        from_first = delta[first] + log_switch
        from_second = delta[second] + log_switch
        for j in range(k):
            switch = from_second if j == first else from_first
            stay = delta[j] + log_stay
            if stay >= switch:
                back[t, j] = j
                delta[j] = stay + log_emit[t, j]
            else:
                back[t, j] = second if j == first else first
                delta[j] = switch + log_emit[t, j]
    return delta


def _forward_filter_numpy(post, alpha, stay, switch):
    """Online forward filtering of the chord HMM over ``post`` (frames, classes), normalised every frame;
    ``alpha`` is the previous frame's filtered distribution (empty at the start of a stream). Returns the
    last distribution and each frame's argmax (the first maximum)."""
    best = np.empty(post.shape[0], dtype=np.int64)
    for t in range(post.shape[0]):
        if alpha.size == 0:
            alpha = post[t] + _TINY
        else:  # predict with the uniform-switching chain: stay * a + switch * (1 - a), since sum(a) = 1
            alpha = (stay * alpha + switch * (1.0 - alpha)) * (post[t] + _TINY)
        alpha = alpha / np.cumsum(alpha)[-1]  # a left-to-right sum: the same whatever the memory layout
        best[t] = int(np.argmax(alpha))
    return alpha, best


def _forward_filter_loops(post, alpha, stay, switch):
    """:func:`_forward_filter_numpy` as loops, for numba."""
    n, k = post.shape
    best = np.empty(n, dtype=np.int64)
    fresh = alpha.size == 0
    out = np.empty(k)
    if not fresh:
        out[:] = alpha
    for t in range(n):
        total = 0.0
        for j in range(k):
            if fresh:
                out[j] = post[t, j] + _TINY
            else:
                out[j] = (stay * out[j] + switch * (1.0 - out[j])) * (post[t, j] + _TINY)
            total += out[j]
        fresh = False
        b = 0
        for j in range(k):
            out[j] = out[j] / total
            if out[j] > out[b]:
                b = j
        best[t] = b
    return out, best


try:  # compiled where numba is there (a dependency); the numpy forms otherwise, with the same results
    import numba

    try:
        _viterbi_forward = numba.njit(cache=True, nogil=True)(_viterbi_forward_loops)
        _forward_filter = numba.njit(cache=True, nogil=True)(_forward_filter_loops)
    except RuntimeError:  # pragma: no cover - no writable cache folder: compile in every process instead
        _viterbi_forward = numba.njit(nogil=True)(_viterbi_forward_loops)
        _forward_filter = numba.njit(nogil=True)(_forward_filter_loops)
except ImportError:  # pragma: no cover - numba is a dependency of librosa
    _viterbi_forward = _viterbi_forward_numpy
    _forward_filter = _forward_filter_numpy


@dataclass(frozen=True)
class ChordDecoderConfig:
    frame_rate_hz: float = 100.0
    self_transition_prob: float = 0.99  # per frame; expected chord length 1 / (1 - p) frames
    min_frames: int = 10  # online: frames a new argmax must hold before it is accepted (100 ms)

    def __post_init__(self) -> None:
        if not self.frame_rate_hz > 0:
            raise ConfigError(f"frame_rate_hz must be positive, got {self.frame_rate_hz}")
        if not 0.0 < self.self_transition_prob < 1.0:
            raise ConfigError(f"self_transition_prob must be in (0, 1), got {self.self_transition_prob}")
        if self.min_frames < 1:
            raise ConfigError(f"min_frames must be >= 1, got {self.min_frames}")


def segments_from_frames(
    classes: np.ndarray, vocabulary: ChordVocabulary, frame_rate_hz: float
) -> tuple[ChordSegment, ...]:
    """Run-length encode a per-frame class sequence into tiling segments."""
    classes = np.asarray(classes).reshape(-1)
    if classes.size == 0:
        return ()
    starts = np.concatenate([[0], np.flatnonzero(np.diff(classes)) + 1])
    ends = np.concatenate([starts[1:], [classes.size]])
    return tuple(
        ChordSegment(start_s=int(a) / frame_rate_hz, end_s=int(b) / frame_rate_hz,
                     label=vocabulary.index_to_label(int(classes[a])))
        for a, b in zip(starts, ends)
    )


def decode_viterbi(
    posteriors: np.ndarray,
    vocabulary: ChordVocabulary = ChordVocabulary(),
    config: ChordDecoderConfig = ChordDecoderConfig(),
) -> tuple[ChordSegment, ...]:
    """Offline only: chord segments along the most likely HMM path over the whole file.

    Not streamable (a frame's label can depend on frames far after it); the streaming form is
    :class:`ChordOnlineDecoder` / :func:`decode_offline_streamable`. :class:`ChordViterbiDecoder` computes
    the same path while a stream is fed in blocks, and gives it at the end.
    """
    decoder = ChordViterbiDecoder(vocabulary, config)
    decoder.process(posteriors)
    return decoder.flush()


class ChordViterbiDecoder:
    """Whole-stream Viterbi decoding, fed block by block: ``process`` as the posteriors arrive, ``flush``
    at the end of the stream returns every segment of the most likely path (and starts over).

    The forward pass runs as the frames come in; with uniform switching each frame costs O(classes)
    (the best state to switch from is the best state overall, or the second best for that state itself).
    What waits for the end is one back-pointer per class and frame: one byte each up to 256 classes,
    133 bytes a frame for the full vocabulary (48 MB per hour of audio at 100 frames a second). Block
    sizes do not change the result: the arithmetic is per frame, in frame order.
    """

    def __init__(self, vocabulary: ChordVocabulary = ChordVocabulary(), config: ChordDecoderConfig = ChordDecoderConfig()):
        self.vocabulary = vocabulary
        self.config = config
        k = vocabulary.n_classes
        self._log_stay = math.log(config.self_transition_prob)
        self._log_switch = math.log((1.0 - config.self_transition_prob) / (k - 1))
        self._states = np.arange(k)
        self._dtype = np.uint8 if k <= 256 else (np.uint16 if k <= 65536 else np.uint32)
        self.reset()

    def reset(self) -> None:
        self._delta: np.ndarray | None = None
        self._back: list[np.ndarray] = []  # per block: (frames, k) back-pointers; row 0 of the stream unused
        self._frames = 0

    @property
    def frames(self) -> int:
        """Frames fed since the stream started."""
        return self._frames

    def process(self, posteriors: np.ndarray) -> None:
        post = check_frames(posteriors, self.vocabulary.n_classes, "chord posteriors")
        n, k = post.shape
        if n == 0:
            return
        log_emit = np.log(post + _TINY)
        back = np.empty((n, k), dtype=self._dtype)
        start = 0
        delta = self._delta
        if delta is None:
            delta = log_emit[0] - math.log(k)
            back[0] = self._states  # never read: the path's first frame has no predecessor
            start = 1
        if start < n:
            delta = _viterbi_forward(np.ascontiguousarray(delta, dtype=np.float64), log_emit, back, start,
                                     self._log_stay, self._log_switch)
        self._delta = delta
        self._back.append(back)
        self._frames += n

    def flush(self) -> tuple[ChordSegment, ...]:
        """End of stream: the segments of the best path over every frame fed (empty without frames)."""
        if self._delta is None:
            self.reset()
            return ()
        back = self._back[0] if len(self._back) == 1 else np.concatenate(self._back)
        n = back.shape[0]
        path = np.empty(n, dtype=np.int64)
        path[-1] = int(np.argmax(self._delta))
        for t in range(n - 1, 0, -1):
            path[t - 1] = back[t, path[t]]
        self.reset()
        return segments_from_frames(path, self.vocabulary, self.config.frame_rate_hz)


class ChordOnlineDecoder:
    """Streaming chords: forward filtering + argmax + ``min_frames`` acceptance (see the module doc).

    ``process`` returns the segments that became final; :meth:`current_chord` is the accepted chord
    now (for a live readout), ``None`` before the first is accepted.
    """

    def __init__(self, vocabulary: ChordVocabulary = ChordVocabulary(), config: ChordDecoderConfig = ChordDecoderConfig()):
        self.vocabulary = vocabulary
        self.config = config
        k = vocabulary.n_classes
        self._stay = config.self_transition_prob
        self._switch = (1.0 - config.self_transition_prob) / (k - 1)
        self.reset()

    @property
    def delay_frames(self) -> int:
        return self.config.min_frames

    def reset(self) -> None:
        self._alpha: np.ndarray | None = None
        self._frame = 0  # frames seen
        self._current: int | None = None  # accepted class
        self._current_start = 0
        self._candidate: int | None = None
        self._candidate_start = 0
        self._candidate_len = 0

    def current_chord(self) -> str | None:
        return None if self._current is None else self.vocabulary.index_to_label(self._current)

    def filtered_posteriors(self) -> np.ndarray | None:
        """The normalised forward probabilities after the last frame (None before the first)."""
        return None if self._alpha is None else self._alpha.copy()

    def process(self, posteriors: np.ndarray) -> list[ChordSegment]:
        post = check_frames(posteriors, self.vocabulary.n_classes, "chord posteriors")
        out: list[ChordSegment] = []
        if post.shape[0] == 0:
            return out
        alpha = _EMPTY if self._alpha is None else self._alpha
        self._alpha, best = _forward_filter(np.ascontiguousarray(post, dtype=np.float64), alpha, self._stay,
                                            self._switch)
        for b in best.tolist():
            self._step(b, out)
        return out

    def flush(self) -> list[ChordSegment]:
        """End of stream: the open segment runs to the last frame (a pending flicker joins it); start over."""
        out: list[ChordSegment] = []
        if self._frame:
            label = self._current if self._current is not None else self._candidate
            out.append(self._segment(label, self._current_start, self._frame))
        self.reset()
        return out

    def _step(self, best: int, out: list[ChordSegment]) -> None:
        i = self._frame
        self._frame += 1
        if best == self._current:
            self._candidate, self._candidate_len = None, 0
            return
        if best == self._candidate:
            self._candidate_len += 1
        else:
            self._candidate, self._candidate_start, self._candidate_len = best, i, 1
        if self._candidate_len >= self.config.min_frames:
            if self._current is not None:
                out.append(self._segment(self._current, self._current_start, self._candidate_start))
                self._current_start = self._candidate_start
            self._current = self._candidate  # the first accepted chord covers everything before it
            self._candidate, self._candidate_len = None, 0

    def _segment(self, index: int, start_frame: int, end_frame: int) -> ChordSegment:
        rate = self.config.frame_rate_hz
        return ChordSegment(start_s=start_frame / rate, end_s=end_frame / rate,
                            label=self.vocabulary.index_to_label(index))


def decode_offline_streamable(
    posteriors: np.ndarray,
    vocabulary: ChordVocabulary = ChordVocabulary(),
    config: ChordDecoderConfig = ChordDecoderConfig(),
) -> tuple[ChordSegment, ...]:
    """:class:`ChordOnlineDecoder` over the whole file: what streaming must (and does) equal."""
    decoder = ChordOnlineDecoder(vocabulary, config)
    return tuple(decoder.process(posteriors) + decoder.flush())
