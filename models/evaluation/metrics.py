"""Per-file metrics for the four tasks, computed with mir_eval.

Each ``*_metrics(reference, estimate)`` takes two :class:`~models.annotations.types.Annotation` objects
and returns a flat ``dict[str, float]`` with stable keys. Besides the scores, every dict carries the
counts needed to aggregate over a dataset (``n_*`` frame/event counts, ``*_tp`` matches, ``*_scored_s``
durations); :mod:`models.evaluation.aggregate` uses them. A score that cannot be defined for a file
(e.g. no f0 on one side) is left out of the dict, never reported as zero.
"""

from __future__ import annotations

import logging
import warnings

import mir_eval
import numpy as np

from models.annotations.types import DRUM_CLASSES, Annotation
from models.errors import EvaluationError

log = logging.getLogger(__name__)

#: Matching windows (seconds) used for event metrics.
ONSET_WINDOW_S: float = 0.05
ONSET_FINE_WINDOW_S: float = 0.025
NOTE_ONSET_TOLERANCE_S: float = 0.05
PITCH_TOLERANCE_CENTS: float = 50.0

#: Chord comparison functions of mir_eval, in report order.
CHORD_COMPARISONS: tuple[str, ...] = ("root", "majmin", "mirex", "thirds", "sevenths")

#: Drum classes averaged into ``mean_f1_ksh``.
CORE_DRUM_CLASSES: tuple[str, ...] = ("kick", "snare", "hihat")

#: Frame metrics of the pitch task and the frame count that weights each one over a dataset.
PITCH_FRAME_WEIGHTS: dict[str, str] = {
    "rpa": "n_voiced_ref_frames",
    "rca": "n_voiced_ref_frames",
    "voicing_recall": "n_voiced_ref_frames",
    "voicing_false_alarm": "n_unvoiced_ref_frames",
    "oa": "n_ref_frames",
}


# --- event matching ----------------------------------------------------------------------------------
def event_counts(reference_s: np.ndarray, estimate_s: np.ndarray, window_s: float) -> tuple[int, int, int]:
    """(true positives, reference count, estimate count) with mir_eval's one-to-one matching."""
    ref = np.sort(np.asarray(reference_s, dtype=np.float64).reshape(-1))
    est = np.sort(np.asarray(estimate_s, dtype=np.float64).reshape(-1))
    if ref.size == 0 or est.size == 0:
        return 0, int(ref.size), int(est.size)
    matches = mir_eval.util.match_events(ref, est, window_s)
    return len(matches), int(ref.size), int(est.size)


def prf_from_counts(tp: float, n_ref: float, n_est: float) -> tuple[float, float, float]:
    """Precision, recall, F1 from counts; 0 where a denominator is empty (mir_eval's convention)."""
    precision = tp / n_est if n_est > 0 else 0.0
    recall = tp / n_ref if n_ref > 0 else 0.0
    f1 = 2.0 * tp / (n_ref + n_est) if (n_ref + n_est) > 0 else 0.0
    return float(precision), float(recall), float(f1)


def _event_block(prefix: str, suffix: str, tp: int, n_ref: int, n_est: int) -> dict[str, float]:
    p, r, f = prf_from_counts(tp, n_ref, n_est)
    return {
        f"{prefix}f1{suffix}": f,
        f"{prefix}precision{suffix}": p,
        f"{prefix}recall{suffix}": r,
        f"{prefix}tp{suffix}": float(tp),
        f"{prefix}n_ref{suffix}": float(n_ref),
        f"{prefix}n_est{suffix}": float(n_est),
    }


# --- pitch -------------------------------------------------------------------------------------------
def pitch_metrics(reference: Annotation, estimate: Annotation) -> dict[str, float]:
    """Melody frame metrics (f0) and onset-only note F1 (notes).

    Keys for f0 (present when both sides have an f0 track): ``rpa``, ``rca``, ``oa``,
    ``voicing_recall``, ``voicing_false_alarm`` and the counts ``n_ref_frames``, ``n_voiced_ref_frames``,
    ``n_unvoiced_ref_frames``. RPA/RCA/voicing recall are left out when the reference has no voiced
    frame, the false alarm when it has no unvoiced frame. The estimate is resampled to the reference
    times; a negative estimate f0 is an unvoiced frame with a pitch guess (counted by RPA/RCA).
    Keys for notes (present when both sides have notes): ``note_f1``, ``note_precision``,
    ``note_recall``, ``note_tp``, ``note_n_ref``, ``note_n_est`` (onset within 50 ms, pitch within
    50 cents, offsets ignored).
    """
    out: dict[str, float] = {}
    if reference.f0 is not None and estimate.f0 is not None and len(reference.f0) > 0:
        out.update(_f0_metrics(reference, estimate))
    if reference.notes is not None and estimate.notes is not None:
        out.update(_note_metrics(reference, estimate))
    return out


def _f0_metrics(reference: Annotation, estimate: Annotation) -> dict[str, float]:
    ref, est = reference.f0, estimate.f0
    assert ref is not None and est is not None
    ref_f0 = np.where(ref.f0_hz > 0, ref.f0_hz, 0.0)  # a reference is voiced or not; guesses ignored
    n_frames = len(ref)
    if len(est) == 0:
        est_times, est_f0 = np.array([0.0]), np.array([0.0])
    else:
        est_times, est_f0 = est.times_s, est.f0_hz
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mir_eval warns about empty / non-uniform series
        ref_v, ref_c, est_v, est_c = mir_eval.melody.to_cent_voicing(ref.times_s, ref_f0, est_times, est_f0)
    n_voiced = int(np.count_nonzero(ref_v > 0))
    n_unvoiced = n_frames - n_voiced
    out: dict[str, float] = {
        "n_ref_frames": float(n_frames),
        "n_voiced_ref_frames": float(n_voiced),
        "n_unvoiced_ref_frames": float(n_unvoiced),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vr, vfa = mir_eval.melody.voicing_measures(ref_v, est_v)
        if n_voiced > 0:
            out["rpa"] = float(mir_eval.melody.raw_pitch_accuracy(ref_v, ref_c, est_v, est_c, PITCH_TOLERANCE_CENTS))
            out["rca"] = float(mir_eval.melody.raw_chroma_accuracy(ref_v, ref_c, est_v, est_c, PITCH_TOLERANCE_CENTS))
            out["voicing_recall"] = float(vr)
        if n_unvoiced > 0:
            out["voicing_false_alarm"] = float(vfa)
        out["oa"] = float(mir_eval.melody.overall_accuracy(ref_v, ref_c, est_v, est_c, PITCH_TOLERANCE_CENTS))
    return out


def _notes_to_arrays(notes) -> tuple[np.ndarray, np.ndarray]:
    if not notes:
        return np.zeros((0, 2)), np.zeros(0)
    onsets = np.array([n.onset_s for n in notes], dtype=np.float64)
    offsets = np.array([n.offset_s for n in notes], dtype=np.float64)
    offsets = np.maximum(offsets, onsets + 1e-3)  # mir_eval needs positive durations; offsets unused
    pitches_hz = 440.0 * 2.0 ** ((np.array([n.pitch_midi for n in notes], dtype=np.float64) - 69.0) / 12.0)
    return np.stack([onsets, offsets], axis=1), pitches_hz


def _note_metrics(reference: Annotation, estimate: Annotation) -> dict[str, float]:
    ref_iv, ref_hz = _notes_to_arrays(reference.notes)
    est_iv, est_hz = _notes_to_arrays(estimate.notes)
    if len(ref_hz) and len(est_hz):
        matches = mir_eval.transcription.match_notes(
            ref_iv, ref_hz, est_iv, est_hz,
            onset_tolerance=NOTE_ONSET_TOLERANCE_S, pitch_tolerance=PITCH_TOLERANCE_CENTS, offset_ratio=None,
        )
        tp = len(matches)
    else:
        tp = 0
    return _event_block("note_", "", tp, len(ref_hz), len(est_hz))


# --- chords ------------------------------------------------------------------------------------------
def _chord_arrays(segments) -> tuple[np.ndarray, list[str]]:
    segs = sorted(segments, key=lambda s: s.start_s)
    intervals = np.array([[s.start_s, s.end_s] for s in segs], dtype=np.float64).reshape(-1, 2)
    return intervals, [s.label for s in segs]


def chord_metrics(reference: Annotation, estimate: Annotation) -> dict[str, float]:
    """Duration-weighted chord symbol recall for root, majmin, mirex, thirds and sevenths.

    The estimate is clipped/padded (with ``N``) to the reference span first. Also returns
    ``duration_s`` (reference span) and ``<comparison>_scored_s``: the duration the comparison counts
    (majmin, for instance, skips reference chords that are neither major nor minor). A comparison
    with nothing to score is left out.
    """
    if reference.chords is None or estimate.chords is None:
        return {}
    ref_iv, ref_lab = _chord_arrays(reference.chords)
    if ref_iv.shape[0] == 0:
        return {}
    est_iv, est_lab = _chord_arrays(estimate.chords)
    if est_iv.shape[0] == 0:
        est_iv, est_lab = np.array([[ref_iv[0, 0], ref_iv[-1, 1]]]), ["N"]
    t_min, t_max = float(ref_iv[0, 0]), float(ref_iv[-1, 1])
    est_iv, est_lab = mir_eval.util.adjust_intervals(est_iv, est_lab, t_min, t_max, "N", "N")
    ref_iv2, ref_lab2 = mir_eval.util.adjust_intervals(ref_iv, ref_lab, t_min, t_max, "N", "N")
    merged, ref_m, est_m = mir_eval.util.merge_labeled_intervals(ref_iv2, ref_lab2, est_iv, est_lab)
    durations = mir_eval.util.intervals_to_durations(merged)
    out: dict[str, float] = {"duration_s": float(t_max - t_min)}
    for name in CHORD_COMPARISONS:
        compare = getattr(mir_eval.chord, name)
        try:
            comparison = np.asarray(compare(ref_m, est_m), dtype=np.float64)
        except mir_eval.chord.InvalidChordException as exc:
            raise EvaluationError(
                f"invalid chord label ({exc}); labels must be Harte syntax such as 'C:maj', 'A:min7' or 'N'"
            ) from exc
        valid = comparison >= 0
        scored_s = float(np.sum(durations[valid]))
        out[f"{name}_scored_s"] = scored_s
        if scored_s > 0:
            out[name] = float(np.sum(durations[valid] * comparison[valid]) / scored_s)
    return out


# --- drums -------------------------------------------------------------------------------------------
def drum_metrics(reference: Annotation, estimate: Annotation) -> dict[str, float]:
    """Per-class onset F1/precision/recall at 50 ms, plus class means.

    Per class ``c`` seen on either side: ``c_f1``, ``c_precision``, ``c_recall``, ``c_tp``, ``c_n_ref``,
    ``c_n_est``. ``mean_f1_ksh``: mean F1 over kick, snare and hi-hat (a class with no hit on either
    side is skipped); ``mean_f1_ref``: mean F1 over the classes present in the reference; ``f1`` /
    ``precision`` / ``recall``: all classes pooled (a hit must match a reference hit of its class).
    """
    if reference.drums is None or estimate.drums is None:
        return {}
    classes = sorted(
        {h.drum for h in reference.drums} | {h.drum for h in estimate.drums},
        key=lambda c: (DRUM_CLASSES.index(c) if c in DRUM_CLASSES else len(DRUM_CLASSES), c),
    )
    out: dict[str, float] = {}
    total = np.zeros(3)
    for cls in classes:
        ref_t = np.array([h.time_s for h in reference.drums if h.drum == cls])
        est_t = np.array([h.time_s for h in estimate.drums if h.drum == cls])
        tp, n_ref, n_est = event_counts(ref_t, est_t, ONSET_WINDOW_S)
        total += (tp, n_ref, n_est)
        out.update(_event_block(f"{cls}_", "", tp, n_ref, n_est))
    ksh = [out[f"{c}_f1"] for c in CORE_DRUM_CLASSES if f"{c}_f1" in out]
    if ksh:
        out["mean_f1_ksh"] = float(np.mean(ksh))
    in_ref = [out[f"{c}_f1"] for c in classes if out[f"{c}_n_ref"] > 0]
    if in_ref:
        out["mean_f1_ref"] = float(np.mean(in_ref))
    out.update(_event_block("", "", int(total[0]), int(total[1]), int(total[2])))
    return out


# --- onsets ------------------------------------------------------------------------------------------
def onset_metrics(reference: Annotation, estimate: Annotation) -> dict[str, float]:
    """Onset F1/precision/recall at 50 ms (``f1_50ms``...) and 25 ms (``f1_25ms``...), with counts."""
    if reference.onsets is None or estimate.onsets is None:
        return {}
    out: dict[str, float] = {}
    for window_s in (ONSET_WINDOW_S, ONSET_FINE_WINDOW_S):
        tp, n_ref, n_est = event_counts(reference.onsets, estimate.onsets, window_s)
        out.update(_event_block("", f"_{round(window_s * 1000)}ms", tp, n_ref, n_est))
    return out


METRIC_FUNCTIONS = {
    "pitch": pitch_metrics,
    "chords": chord_metrics,
    "drums": drum_metrics,
    "onsets": onset_metrics,
}


def metrics_for(task: str, reference: Annotation, estimate: Annotation) -> dict[str, float]:
    """Dispatch to the metric function of ``task``."""
    try:
        func = METRIC_FUNCTIONS[task]
    except KeyError:
        raise EvaluationError(f"unknown task {task!r}; expected one of {', '.join(METRIC_FUNCTIONS)}") from None
    return func(reference, estimate)
