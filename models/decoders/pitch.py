"""Pitch decoding: per-frame salience over :class:`PitchBins` -> f0 track -> note events.

Input: ``salience`` (n_frames, n_bins) in [0, 1] (sigmoid outputs), optionally a voicing probability,
either as the ``voicing`` argument or as one extra last column of ``salience``.

f0 per frame (CREPE-style): the salience-weighted mean of the bin positions within
``local_average_bins`` of the argmax (in cents, so linear in log-frequency). Confidence: the voicing
probability when given, else the peak salience. Voicing: hysteresis (switch on at ``voicing_on``,
off below ``voicing_off``), then voiced runs shorter than ``min_voiced_frames`` become unvoiced.
Unvoiced frames keep their guess as a negative f0 (``-f0_hz``, the project convention); a frame with
no salience at all has f0 0.

Notes (:class:`NoteOnlineDecoder`, :func:`segment_notes`): a note is a voiced run, split where the
pitch stays more than ``split_midi`` away from the running note pitch for ``split_frames`` frames in a
row; the new note starts at the first of those frames. The running note pitch is the mid-range of the
note's pitch-setting frames (frames that came within ``split_midi`` of it), which settles on the centre
of a vibrato within half a cycle. Shorter excursions (vibrato peaks, scoops, octave slips) stay in the
note's span without setting its pitch; so do the frames of a glide into a new note (those of the
splitting run further than ``split_midi`` from its last frame). Notes shorter than ``min_note_frames``
are dropped. Note pitch = the median MIDI of its pitch-setting frames, rounded to an integer.

Streaming == offline: :func:`decode_offline_streamable` *is* :class:`PitchOnlineDecoder` run over the
whole file, and block sizes cannot change its output (per-frame arithmetic only, in frame order).
:func:`decode_f0_viterbi` is a separate whole-file decoder (HMM over pitch bins plus an unvoiced
state); :class:`F0ViterbiDecoder` computes it while a stream is fed and gives the track at the end of
the stream (the analyser's whole-file decoding); feed its track to :func:`segment_notes` for notes.
"""

from __future__ import annotations

import bisect
import logging
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from models.annotations.types import F0Track, Note
from models.decoders.vocabulary import PitchBins, check_frames
from models.errors import ConfigError

log = logging.getLogger(__name__)


def _viterbi_forward_numpy(delta_v, delta_u, log_voiced, log_unvoiced, log_move, log_switch, log_stay_unvoiced,
                           first, back_v, back_u, from_unvoiced):
    """The f0 Viterbi forward pass over frames ``first..n-1`` (numpy, one frame a step); see
    :class:`F0ViterbiDecoder`. Fills ``back_v``/``back_u``; returns the last ``(delta_v, delta_u)``."""
    n, n_bins = log_voiced.shape
    width = log_move.size
    step = (width - 1) // 2
    cols = np.arange(n_bins)
    padded = np.full(n_bins + 2 * step, -np.inf)
    # windows[j, m] = padded[j + m] = delta_v[j + m - step]: arriving at bin j from bin j + m - step (a view of
    # padded, made once: writing padded updates it)
    windows = sliding_window_view(padded, width)
    for t in range(first, n):
        padded[step : step + n_bins] = delta_v
        cand = windows + log_move
        best_m = np.argmax(cand, axis=1)
        best = cand[cols, best_m]
        from_u = delta_u + log_switch
        use_u = from_u > best
        back_v[t] = np.where(use_u, from_unvoiced, best_m - step)
        new_v = np.where(use_u, from_u, best) + log_voiced[t]
        k = int(np.argmax(delta_v))
        leave = float(delta_v[k]) + log_switch
        stay = delta_u + log_stay_unvoiced
        back_u[t] = k if leave > stay else n_bins
        delta_u = max(leave, stay) + float(log_unvoiced[t])
        delta_v = new_v
    return delta_v, delta_u


def _viterbi_forward_loops(delta_v, delta_u, log_voiced, log_unvoiced, log_move, log_switch, log_stay_unvoiced,
                           first, back_v, back_u, from_unvoiced):
    """:func:`_viterbi_forward_numpy` as plain loops, for numba: the same additions and comparisons in the
    same order per bin (moves in rising order, a later one wins only when strictly better: the first
    maximum, as ``np.argmax``), so the same floats and back-pointers.

    The loop over the bins is the inner one, over a copy of the scores padded with -inf on both sides
    (sources outside the grid), so it has no branch on the bin and compiles to vector instructions: about
    7x faster than moves innermost (2026-12-06: 22 -> 3.1 us per frame of 360 bins)."""
    n, n_bins = log_voiced.shape
    width = log_move.size
    step = (width - 1) // 2
    padded = np.full(n_bins + 2 * step, -np.inf)  # padded[step + j] = delta_v[j]
    for j in range(n_bins):
        padded[step + j] = delta_v[j]
    best = np.empty(n_bins)
    best_m = np.empty(n_bins, dtype=np.int64)
    new_v = np.empty(n_bins)
    for t in range(first, n):
        for j in range(n_bins):
            best[j] = -np.inf
            best_m[j] = 0
        for m in range(width):  # arriving at bin j from bin j + m - step
            move = log_move[m]
            for j in range(n_bins):
                value = padded[j + m] + move
                if value > best[j]:
                    best[j] = value
                    best_m[j] = m
        from_u = delta_u + log_switch
        for j in range(n_bins):
            if from_u > best[j]:
                back_v[t, j] = from_unvoiced
                new_v[j] = from_u + log_voiced[t, j]
            else:
                back_v[t, j] = best_m[j] - step
                new_v[j] = best[j] + log_voiced[t, j]
        k = 0
        for j in range(1, n_bins):
            if padded[step + j] > padded[step + k]:
                k = j
        leave = padded[step + k] + log_switch
        stay = delta_u + log_stay_unvoiced
        back_u[t] = k if leave > stay else n_bins
        delta_u = (stay if stay > leave else leave) + log_unvoiced[t]
        for j in range(n_bins):
            padded[step + j] = new_v[j]
    return padded[step : step + n_bins].copy(), delta_u


try:  # compiled where numba is there (it comes with librosa); the numpy form otherwise, with the same result
    import numba

    try:
        _viterbi_forward = numba.njit(cache=True, nogil=True)(_viterbi_forward_loops)
    except RuntimeError:  # pragma: no cover - no writable cache folder: compile in every process instead
        _viterbi_forward = numba.njit(nogil=True)(_viterbi_forward_loops)
except ImportError:  # pragma: no cover - numba is a dependency of librosa
    _viterbi_forward = _viterbi_forward_numpy


# --- configs ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class F0DecoderConfig:
    frame_rate_hz: float = 100.0
    bins: PitchBins = field(default_factory=PitchBins)
    local_average_bins: int = 4  # f0 = weighted mean of bins within this distance of the argmax
    voicing_on: float = 0.5  # an unvoiced stretch becomes voiced when confidence >= this
    voicing_off: float = 0.4  # a voiced stretch becomes unvoiced when confidence < this
    # shorter voiced runs become unvoiced (sets the delay: this - 1 frames). 1 since 2026-11-25: 3 gave the
    # same RPA and voicing false alarms (0.139 vs 0.140) on the pitch test split, 20 ms later
    min_voiced_frames: int = 1

    def __post_init__(self) -> None:
        if not self.frame_rate_hz > 0:
            raise ConfigError(f"frame_rate_hz must be positive, got {self.frame_rate_hz}")
        if not 0.0 <= self.voicing_off <= self.voicing_on <= 1.0:
            raise ConfigError(
                f"need 0 <= voicing_off <= voicing_on <= 1, got off {self.voicing_off}, on {self.voicing_on}"
            )
        if self.min_voiced_frames < 1 or self.local_average_bins < 0:
            raise ConfigError(
                f"min_voiced_frames must be >= 1 and local_average_bins >= 0, got {self.min_voiced_frames}, "
                f"{self.local_average_bins}"
            )


@dataclass(frozen=True)
class NoteConfig:
    frame_rate_hz: float = 100.0
    split_midi: float = 0.5  # a frame this far (semitones) from the running note pitch deviates
    # this many deviating frames in a row start a new note: 7 (70 ms) keeps vibrato of about +-50 cents at
    # 5 Hz (+-60 at 7 Hz) in one note; wide singing vibrato (+-1 semitone) needs about 11 (half a cycle)
    split_frames: int = 7
    min_note_frames: int = 5  # shorter notes are dropped (50 ms)
    velocity_from_confidence: bool = False  # else every note has velocity 100

    def __post_init__(self) -> None:
        if not self.frame_rate_hz > 0:
            raise ConfigError(f"frame_rate_hz must be positive, got {self.frame_rate_hz}")
        if self.split_frames < 1 or self.min_note_frames < 1 or not self.split_midi > 0:
            raise ConfigError(
                f"split_frames and min_note_frames must be >= 1 and split_midi > 0, got {self.split_frames}, "
                f"{self.min_note_frames}, {self.split_midi}"
            )


@dataclass(frozen=True)
class PitchDecoderConfig:
    f0: F0DecoderConfig = field(default_factory=F0DecoderConfig)
    notes: NoteConfig = field(default_factory=NoteConfig)

    def __post_init__(self) -> None:
        if self.f0.frame_rate_hz != self.notes.frame_rate_hz:
            raise ConfigError(
                f"the f0 and note configs disagree on frame_rate_hz ({self.f0.frame_rate_hz} vs "
                f"{self.notes.frame_rate_hz}); set both to the model's frame rate"
            )


@dataclass(frozen=True)
class F0ViterbiConfig:
    max_step_bins: int = 24  # largest pitch move between two voiced frames (24 bins = 480 cents per frame)
    voicing_switch_prob: float = 0.01  # probability of voiced <-> unvoiced between two frames
    voicing_threshold: float = 0.5  # the confidence at which a frame favours neither voiced nor unvoiced

    def __post_init__(self) -> None:
        if not 0 <= self.max_step_bins <= 126 or not 0.0 < self.voicing_switch_prob < 1.0:
            raise ConfigError(
                f"need 0 <= max_step_bins <= 126 and 0 < voicing_switch_prob < 1, got {self.max_step_bins}, "
                f"{self.voicing_switch_prob}"
            )
        if not 0.0 < self.voicing_threshold < 1.0:
            raise ConfigError(f"voicing_threshold must be in (0, 1), got {self.voicing_threshold}")


@dataclass(frozen=True)
class PitchUpdate:
    """What a pitch decoder call made final: f0 frames (possibly none) and notes (possibly none)."""

    f0: F0Track
    notes: tuple[Note, ...] = ()


# --- per-frame f0 ----------------------------------------------------------------------------------
def split_salience(salience: np.ndarray, voicing: np.ndarray | None, bins: PitchBins) -> tuple[np.ndarray, np.ndarray | None]:
    """(salience (n, n_bins), voicing (n,) or None); an (n, n_bins + 1) input carries voicing last."""
    x = check_frames(salience, None, "pitch salience")
    if x.shape[1] == bins.n_bins + 1 and voicing is None:
        return np.ascontiguousarray(x[:, :-1]), x[:, -1].copy()
    x = check_frames(x, bins.n_bins, "pitch salience")
    if voicing is None:
        return x, None
    v = check_frames(voicing, 1, "voicing probability")[:, 0]
    if v.size != x.shape[0]:
        raise ConfigError(f"voicing has {v.size} frames but the salience has {x.shape[0]}; pass one value per frame")
    return x, v


def local_average_bins(salience: np.ndarray, centre: np.ndarray, radius: int) -> np.ndarray:
    """Salience-weighted mean bin position within ``radius`` of ``centre`` per frame; NaN if all zero.

    Element-wise sums in a fixed order, so each frame's result is independent of the other frames.
    """
    n, n_bins = salience.shape
    index = centre[:, None] + np.arange(-radius, radius + 1)[None, :]  # (n, 2 * radius + 1)
    inside = (index >= 0) & (index < n_bins)
    weights = np.where(inside, salience[np.arange(n)[:, None], np.clip(index, 0, n_bins - 1)], 0.0)
    position = index.astype(np.float64)
    num = np.zeros(n)
    den = np.zeros(n)
    for j in range(2 * radius + 1):  # element-wise, fixed order: no reduction whose order could vary
        num += weights[:, j] * position[:, j]
        den += weights[:, j]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def frame_estimates(salience: np.ndarray, voicing: np.ndarray | None, config: F0DecoderConfig):
    """(fractional bin guess per frame (NaN: no guess), confidence per frame)."""
    centre = np.argmax(salience, axis=1) if salience.shape[0] else np.zeros(0, dtype=np.int64)
    peak = salience[np.arange(salience.shape[0]), centre]
    guess = local_average_bins(salience, centre, config.local_average_bins)
    confidence = peak if voicing is None else voicing
    return guess, confidence


class F0OnlineDecoder:
    """Streaming f0: feed salience blocks, get the f0 frames that became final as an :class:`F0Track`.

    A frame is final at most ``delay_frames = min_voiced_frames - 1`` frames later (the voiced run it
    starts must reach the minimum length, or end). Its output over a whole file (:func:`decode_f0`) does
    not depend on the block sizes.
    """

    def __init__(self, config: F0DecoderConfig = F0DecoderConfig()) -> None:
        self.config = config
        self._fmin_hz = float(config.bins.fmin_hz)
        self._octaves_per_bin = float(config.bins.cents_per_bin) / 1200.0
        self.reset()

    @property
    def delay_frames(self) -> int:
        return self.config.min_voiced_frames - 1

    def reset(self) -> None:
        self._next_frame = 0
        self._on = False
        self._run_len = 0
        self._pending: list[tuple[int, float, float]] = []  # voiced frames of a run still too short

    def process(self, salience: np.ndarray, voicing: np.ndarray | None = None) -> F0Track:
        sal, v = split_salience(salience, voicing, self.config.bins)
        guess, confidence = frame_estimates(sal, v, self.config)
        return self._step(guess.tolist(), confidence.tolist())

    def flush(self) -> F0Track:
        """End of stream: a voiced run still too short becomes unvoiced; then start over."""
        frames = [(i, -hz, c) for i, hz, c in self._pending]
        self.reset()
        return self._track(frames)

    def _step(self, guesses: list[float], confidences: list[float]) -> F0Track:
        cfg = self.config
        out: list[tuple[int, float, float]] = []
        pending = self._pending
        for g, c in zip(guesses, confidences):
            i = self._next_frame
            self._next_frame += 1
            hz = 0.0 if g != g else self._fmin_hz * 2.0 ** (g * self._octaves_per_bin)  # g != g: NaN
            self._on = c >= cfg.voicing_off if self._on else c >= cfg.voicing_on
            if self._on and hz > 0.0:
                self._run_len += 1
                if self._run_len < cfg.min_voiced_frames:
                    pending.append((i, hz, c))
                    continue
                if pending:
                    out.extend(pending)
                    pending.clear()
                out.append((i, hz, c))
            else:
                if pending:
                    out.extend((j, -h, cc) for j, h, cc in pending)
                    pending.clear()
                self._run_len = 0
                out.append((i, -hz, c))
        return self._track(out)

    def _track(self, frames: list[tuple[int, float, float]]) -> F0Track:
        if not frames:
            return F0Track(np.zeros(0), np.zeros(0), np.zeros(0))
        idx, f0, conf = zip(*frames)
        times = np.asarray(idx, dtype=np.float64) / self.config.frame_rate_hz
        f0_arr = np.asarray(f0, dtype=np.float64) + 0.0  # -0.0 (no guess) -> 0.0
        return F0Track(times, f0_arr, np.asarray(conf, dtype=np.float64))


def concat_f0(tracks: list[F0Track]) -> F0Track:
    """Join consecutive F0Track pieces (e.g. the outputs of successive online calls)."""
    tracks = [t for t in tracks if len(t)]
    if not tracks:
        return F0Track(np.zeros(0), np.zeros(0), np.zeros(0))
    return F0Track(
        np.concatenate([t.times_s for t in tracks]),
        np.concatenate([t.f0_hz for t in tracks]),
        np.concatenate([t.confidence for t in tracks]),
    )


def decode_f0(salience: np.ndarray, voicing: np.ndarray | None = None, config: F0DecoderConfig = F0DecoderConfig()) -> F0Track:
    """Offline f0 track = :class:`F0OnlineDecoder` over the whole file (streamable)."""
    decoder = F0OnlineDecoder(config)
    return concat_f0([decoder.process(salience, voicing), decoder.flush()])


# --- notes -----------------------------------------------------------------------------------------
class _OpenNote:
    """A note being built: its span, and the frames that set its pitch (sorted, with their range)."""

    __slots__ = ("onset_s", "last_s", "sorted_midi", "confidence_sum", "n_frames")

    def __init__(self) -> None:
        self.onset_s = 0.0
        self.last_s = 0.0
        self.sorted_midi: list[float] = []
        self.confidence_sum = 0.0
        self.n_frames = 0

    def add(self, time_s: float, midi: float, confidence: float, pitched: bool = True) -> None:
        """Extend the note by one frame; ``pitched=False`` frames (glides, excursions) do not set its pitch."""
        if self.n_frames == 0:
            self.onset_s = time_s
        self.last_s = time_s
        if pitched:
            bisect.insort(self.sorted_midi, midi)
        self.confidence_sum += confidence
        self.n_frames += 1

    def reference_midi(self) -> float:
        """Mid-range of the pitch-setting frames: the centre of a vibrato after half a cycle."""
        return 0.5 * (self.sorted_midi[0] + self.sorted_midi[-1])

    def median_midi(self) -> float:
        s = self.sorted_midi
        n = len(s)
        return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


class NoteOnlineDecoder:
    """Streaming notes from f0 frames (the pieces :class:`F0OnlineDecoder` returns, or any F0Track).

    A note is returned once it has ended: by the call that delivers the first unvoiced frame after it,
    or the ``split_frames``-th frame of the note that replaces it, so at most ``delay_frames =
    split_frames`` frames after its last frame. :func:`segment_notes` is this decoder over a whole track.
    """

    def __init__(self, config: NoteConfig = NoteConfig()) -> None:
        self.config = config
        self._hop_s = 1.0 / config.frame_rate_hz
        self.reset()

    @property
    def delay_frames(self) -> int:
        return max(1, self.config.split_frames)

    def reset(self) -> None:
        self._note: _OpenNote | None = None
        self._streak: list[tuple[float, float, float]] = []  # deviating frames not yet a new note

    def process(self, f0: F0Track) -> list[Note]:
        cfg = self.config
        notes: list[Note] = []
        for t, f, c in zip(f0.times_s.tolist(), f0.f0_hz.tolist(), f0.confidence.tolist()):
            if f <= 0.0:
                self._close(notes)
                continue
            midi = 69.0 + 12.0 * math.log2(f / 440.0)
            if self._note is None:
                self._note = _OpenNote()
                self._note.add(t, midi, c)
                continue
            if abs(midi - self._note.reference_midi()) > cfg.split_midi:
                self._streak.append((t, midi, c))
                if len(self._streak) >= cfg.split_frames:
                    self._emit(self._note, notes)
                    self._note = _OpenNote()
                    arrival = self._streak[-1][1]
                    for st, sm, sc in self._streak:  # frames still gliding towards the new pitch: span only
                        self._note.add(st, sm, sc, pitched=abs(sm - arrival) <= cfg.split_midi)
                    self._streak.clear()
                continue
            for st, sm, sc in self._streak:  # a short excursion: it belongs to the note, not to its pitch
                self._note.add(st, sm, sc, pitched=False)
            self._streak.clear()
            self._note.add(t, midi, c)
        return notes

    def flush(self) -> list[Note]:
        notes: list[Note] = []
        self._close(notes)
        self.reset()
        return notes

    def _close(self, notes: list[Note]) -> None:
        if self._note is None:
            return
        for st, sm, sc in self._streak:
            self._note.add(st, sm, sc, pitched=False)
        self._streak.clear()
        self._emit(self._note, notes)
        self._note = None

    def _emit(self, note: _OpenNote, notes: list[Note]) -> None:
        cfg = self.config
        if note.n_frames < cfg.min_note_frames:
            return
        velocity = 100
        if cfg.velocity_from_confidence:
            mean = min(1.0, max(0.0, note.confidence_sum / note.n_frames))
            velocity = min(127, max(1, int(mean * 127.0 + 0.5)))
        notes.append(
            Note(
                onset_s=note.onset_s,
                offset_s=note.last_s + self._hop_s,
                pitch_midi=int(math.floor(note.median_midi() + 0.5)),
                velocity=velocity,
            )
        )


def segment_notes(f0: F0Track, config: NoteConfig = NoteConfig()) -> tuple[Note, ...]:
    """Offline notes from a whole f0 track = :class:`NoteOnlineDecoder` over it (streamable)."""
    decoder = NoteOnlineDecoder(config)
    return tuple(decoder.process(f0) + decoder.flush())


# --- f0 and notes together -------------------------------------------------------------------------
class PitchOnlineDecoder:
    """Streaming f0 frames and notes together: ``process`` returns a :class:`PitchUpdate`.

    f0 frames are final ``f0_delay_frames`` after their frame, notes ``delay_frames`` after their
    last frame.
    """

    def __init__(self, config: PitchDecoderConfig = PitchDecoderConfig()) -> None:
        self.config = config
        self._f0 = F0OnlineDecoder(config.f0)
        self._notes = NoteOnlineDecoder(config.notes)

    @property
    def f0_delay_frames(self) -> int:
        return self._f0.delay_frames

    @property
    def delay_frames(self) -> int:
        return self._f0.delay_frames + self._notes.delay_frames

    def reset(self) -> None:
        self._f0.reset()
        self._notes.reset()

    def process(self, salience: np.ndarray, voicing: np.ndarray | None = None) -> PitchUpdate:
        f0 = self._f0.process(salience, voicing)
        return PitchUpdate(f0=f0, notes=tuple(self._notes.process(f0)))

    def flush(self) -> PitchUpdate:
        f0 = self._f0.flush()
        notes = self._notes.process(f0) + self._notes.flush()
        return PitchUpdate(f0=f0, notes=tuple(notes))


def decode_offline_streamable(
    salience: np.ndarray, voicing: np.ndarray | None = None, config: PitchDecoderConfig = PitchDecoderConfig()
) -> PitchUpdate:
    """The whole file through :class:`PitchOnlineDecoder`: the offline result streaming must equal."""
    decoder = PitchOnlineDecoder(config)
    head, tail = decoder.process(salience, voicing), decoder.flush()
    return PitchUpdate(f0=concat_f0([head.f0, tail.f0]), notes=head.notes + tail.notes)


# --- whole-file Viterbi ----------------------------------------------------------------------------
def decode_f0_viterbi(
    salience: np.ndarray,
    voicing: np.ndarray | None = None,
    config: F0DecoderConfig = F0DecoderConfig(),
    viterbi: F0ViterbiConfig = F0ViterbiConfig(),
) -> F0Track:
    """Offline only: the best path through pitch bins plus one unvoiced state, over the whole file.

    Scores (log domain, max-normalised so that a steady voiced tone and silence are judged on the
    same footing, whatever the bin resolution): voiced bin ``k`` scores ``log(v / th) + log(s_k / max s)``
    with ``s`` the frame's salience, ``v`` its confidence (voicing probability, else peak salience) and
    ``th`` the ``voicing_threshold``; the unvoiced state scores ``log((1 - v) / (1 - th))``, so a frame
    with ``v = th`` favours neither. Moves between voiced bins are allowed within ``max_step_bins`` and
    score ``log((max_step_bins + 1 - |step|) / (max_step_bins + 1))`` plus ``log(1 - voicing_switch_prob)``;
    voiced <-> unvoiced switches score ``log(voicing_switch_prob)``, staying unvoiced
    ``log(1 - voicing_switch_prob)``. On the path, voiced frames get the local weighted average of the
    bins around the path's bin; unvoiced frames keep the per-frame guess as a negative f0. No hysteresis
    or minimum run: the switch score does that job. Not streamable (the whole file decides each frame);
    :func:`decode_f0` is the streaming form, and :class:`F0ViterbiDecoder` computes this path while a
    stream is fed, giving it at the end.
    """
    decoder = F0ViterbiDecoder(config, viterbi)
    decoder.process(salience, voicing)
    return decoder.flush()


class F0ViterbiDecoder:
    """:func:`decode_f0_viterbi` fed block by block: ``process`` as the saliences arrive, ``flush`` at the
    end of the stream returns the whole track (and starts over).

    The forward pass runs as the frames come in. What waits for the end, per frame: one back-pointer per
    pitch bin (a signed byte, the step from the previous bin), the bin the unvoiced state came from, the
    per-frame guess and confidence, and the salience quantised to a byte of the frame's peak for the
    weighted average around the path's bin (the average is scale-free, and a 1/255 step moves it by well
    under a cent): 734 bytes a frame with 360 bins, 264 MB per hour of audio at 100 frames a second.
    Block sizes do not change the result: the arithmetic is per frame, in frame order.
    """

    _FROM_UNVOICED = -128  # back-pointer of a voiced state entered from the unvoiced one

    def __init__(self, config: F0DecoderConfig = F0DecoderConfig(), viterbi: F0ViterbiConfig = F0ViterbiConfig()):
        self.config = config
        self.viterbi = viterbi
        step = viterbi.max_step_bins
        tri = (step + 1 - np.abs(np.arange(-step, step + 1))).astype(np.float64)
        self._log_move = np.log(tri / tri.max()) + math.log1p(-viterbi.voicing_switch_prob)  # (2 * step + 1,): the forward pass takes its width from it
        self._log_switch = math.log(viterbi.voicing_switch_prob)
        self._log_stay_unvoiced = math.log1p(-viterbi.voicing_switch_prob)
        self._log_th = math.log(viterbi.voicing_threshold)
        self._log1m_th = math.log1p(-viterbi.voicing_threshold)
        self.reset()

    def reset(self) -> None:
        self._delta_v: np.ndarray | None = None
        self._delta_u = 0.0
        self._back_v: list[np.ndarray] = []  # per block (frames, n_bins) int8: step from the previous bin
        self._back_u: list[np.ndarray] = []  # per block (frames,) int16: previous bin of the unvoiced state
        self._quantised: list[np.ndarray] = []  # per block (frames, n_bins) uint8: salience / frame peak
        self._guess: list[np.ndarray] = []
        self._confidence: list[np.ndarray] = []
        self._frames = 0

    @property
    def frames(self) -> int:
        """Frames fed since the stream started."""
        return self._frames

    def process(self, salience: np.ndarray, voicing: np.ndarray | None = None) -> None:
        sal, v = split_salience(salience, voicing, self.config.bins)
        n, n_bins = sal.shape
        if n == 0:
            return
        guess, confidence = frame_estimates(sal, v, self.config)
        tiny = 1e-12
        conf = np.clip(confidence, tiny, 1.0 - tiny)
        peak = np.maximum(sal.max(axis=1, keepdims=True), tiny)
        relative = sal / peak
        log_voiced = (np.log(conf) - self._log_th)[:, None] + np.log(relative + tiny)  # (n, n_bins)
        log_unvoiced = np.log1p(-conf) - self._log1m_th  # (n,)
        back_v = np.empty((n, n_bins), dtype=np.int8)
        back_u = np.empty(n, dtype=np.int16)
        first = 0
        delta_v, delta_u = self._delta_v, self._delta_u
        if delta_v is None:
            delta_v = math.log(0.5) + log_voiced[0]
            delta_u = math.log(0.5) + float(log_unvoiced[0])
            back_v[0], back_u[0] = 0, n_bins  # never read: the path's first frame has no predecessor
            first = 1
        delta_v, delta_u = _viterbi_forward(np.ascontiguousarray(delta_v, dtype=np.float64), float(delta_u),
                                            np.ascontiguousarray(log_voiced, dtype=np.float64),
                                            np.ascontiguousarray(log_unvoiced, dtype=np.float64), self._log_move,
                                            self._log_switch, self._log_stay_unvoiced, first, back_v, back_u,
                                            self._FROM_UNVOICED)
        self._delta_v, self._delta_u = delta_v, delta_u
        self._back_v.append(back_v)
        self._back_u.append(back_u)
        self._quantised.append(np.round(relative * 255.0).astype(np.uint8))
        self._guess.append(guess)
        self._confidence.append(np.asarray(confidence, dtype=np.float64))
        self._frames += n

    def flush(self) -> F0Track:
        """End of stream: the f0 track of the best path over every frame fed (empty without frames)."""
        if self._delta_v is None:
            self.reset()
            return F0Track(np.zeros(0), np.zeros(0), np.zeros(0))
        config = self.config
        back_v, back_u = np.concatenate(self._back_v), np.concatenate(self._back_u)
        quantised = np.concatenate(self._quantised)
        guess, confidence = np.concatenate(self._guess), np.concatenate(self._confidence)
        n, n_bins = quantised.shape
        delta_v, delta_u = self._delta_v, self._delta_u
        self.reset()
        path = np.empty(n, dtype=np.int64)
        k_v = int(np.argmax(delta_v))
        state = k_v if delta_v[k_v] >= delta_u else n_bins
        for t in range(n - 1, -1, -1):
            path[t] = state
            if t:
                if state == n_bins:
                    state = int(back_u[t])
                else:
                    move = int(back_v[t, state])
                    state = n_bins if move == self._FROM_UNVOICED else state + move
        voiced = path < n_bins
        on_path = local_average_bins(quantised.astype(np.float64), np.where(voiced, path, 0), config.local_average_bins)
        bins_used = np.where(voiced, on_path, guess)
        with np.errstate(invalid="ignore"):
            hz = np.where(np.isnan(bins_used), 0.0, config.bins.bin_to_hz(np.nan_to_num(bins_used)))
        f0_hz = np.where(voiced & (hz > 0), hz, -hz) + 0.0
        times = np.arange(n, dtype=np.float64) / config.frame_rate_hz
        return F0Track(times, f0_hz, confidence)
