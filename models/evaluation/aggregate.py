"""Dataset totals from per-file metric dicts (see :mod:`models.evaluation.metrics`).

Rules, per task:
- pitch: frame metrics weighted by the frame count each one is a fraction of
  (:data:`~models.evaluation.metrics.PITCH_FRAME_WEIGHTS`); note F1/P/R from summed counts (micro).
- chords: each comparison weighted by the duration it scored.
- drums, onsets: F1/P/R from summed TP / reference / estimate counts (micro).
Every score also gets ``file_mean_<key>``: the plain mean over the files that define it.
"""

from __future__ import annotations

import re

import numpy as np

from models.evaluation.metrics import CHORD_COMPARISONS, CORE_DRUM_CLASSES, PITCH_FRAME_WEIGHTS, prf_from_counts

_COUNT_KEY = re.compile(r"(^|_)(tp|n_ref|n_est)(_|$)|_frames$|_scored_s$|^duration_s$")


def is_count_key(key: str) -> bool:
    """Whether ``key`` is a count/weight rather than a score."""
    return bool(_COUNT_KEY.search(key))


def _sum(per_file: list[dict[str, float]], key: str) -> float:
    return float(sum(m.get(key, 0.0) for m in per_file))


def _weighted(per_file: list[dict[str, float]], key: str, weight_key: str) -> float | None:
    pairs = [(m[key], m.get(weight_key, 0.0)) for m in per_file if key in m]
    weight = sum(w for _, w in pairs)
    if not pairs or weight <= 0:
        return None
    return float(sum(v * w for v, w in pairs) / weight)


def _micro(per_file: list[dict[str, float]], prefix: str, suffix: str, out: dict[str, float]) -> None:
    tp_key = f"{prefix}tp{suffix}"
    if not any(tp_key in m for m in per_file):
        return
    tp, n_ref, n_est = (_sum(per_file, f"{prefix}{k}{suffix}") for k in ("tp", "n_ref", "n_est"))
    p, r, f = prf_from_counts(tp, n_ref, n_est)
    out.update({
        f"{prefix}f1{suffix}": f, f"{prefix}precision{suffix}": p, f"{prefix}recall{suffix}": r,
        tp_key: tp, f"{prefix}n_ref{suffix}": n_ref, f"{prefix}n_est{suffix}": n_est,
    })


def aggregate(task: str, per_file: list[dict[str, float]]) -> dict[str, float]:
    """Totals over a dataset for ``task`` from the per-file dicts (empty dicts are ignored)."""
    rows = [m for m in per_file if m]
    out: dict[str, float] = {"n_files": float(len(rows))}
    if not rows:
        return out
    if task == "pitch":
        for key, weight_key in PITCH_FRAME_WEIGHTS.items():
            value = _weighted(rows, key, weight_key)
            if value is not None:
                out[key] = value
        for weight_key in ("n_ref_frames", "n_voiced_ref_frames", "n_unvoiced_ref_frames"):
            if any(weight_key in m for m in rows):
                out[weight_key] = _sum(rows, weight_key)
        _micro(rows, "note_", "", out)
    elif task == "chords":
        out["duration_s"] = _sum(rows, "duration_s")
        for name in CHORD_COMPARISONS:
            value = _weighted(rows, name, f"{name}_scored_s")
            if value is not None:
                out[name] = value
            out[f"{name}_scored_s"] = _sum(rows, f"{name}_scored_s")
    elif task == "drums":
        classes = sorted({k[: -len("_tp")] for m in rows for k in m if k.endswith("_tp")} - {""})
        for cls in classes:
            _micro(rows, f"{cls}_", "", out)
        _micro(rows, "", "", out)
        ksh = [out[f"{c}_f1"] for c in CORE_DRUM_CLASSES if f"{c}_f1" in out]
        if ksh:
            out["mean_f1_ksh"] = float(np.mean(ksh))
        in_ref = [out[f"{c}_f1"] for c in classes if out.get(f"{c}_n_ref", 0.0) > 0]
        if in_ref:
            out["mean_f1_ref"] = float(np.mean(in_ref))
    elif task == "onsets":
        for suffix in ("_50ms", "_25ms"):
            _micro(rows, "", suffix, out)
    score_keys = sorted({k for m in rows for k in m if not is_count_key(k)})
    for key in score_keys:
        values = [m[key] for m in rows if key in m]
        out[f"file_mean_{key}"] = float(np.mean(values))
    return out


#: :func:`bootstrap_interval` defaults: resamples of the file list, and the central share of their totals
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_LEVEL = 0.95


def bootstrap_intervals(task: str, per_file: list[dict[str, float]], keys: list[str] | tuple[str, ...], *,
                        resamples: int = BOOTSTRAP_RESAMPLES, level: float = BOOTSTRAP_LEVEL,
                        seed: int = 0) -> dict[str, tuple[float, float]]:
    """How far each total in ``keys`` would move with other files of the same kind: a percentile bootstrap
    over files (the unit a test split is drawn in). For each key, ``(low, high)`` holds ``level`` of the
    totals that :func:`aggregate` gives on ``resamples`` lists of the same length drawn with replacement
    from ``per_file`` (the same lists for every key). A split of few files, or one where a few files make
    most of the errors, gets a wide interval. Seeded, so a report shows the same interval for the same files.

    Keys that are not totals of the task, or that no resample defines, are left out (no files: empty).
    """
    if resamples < 1 or not 0.0 < level < 1.0:
        raise ValueError(f"need resamples >= 1 and 0 < level < 1, got {resamples}, {level}")
    rows = [m for m in per_file if m]
    if not rows or not keys:
        return {}
    rng = np.random.default_rng(seed)
    values: dict[str, list[float]] = {k: [] for k in keys}
    for _ in range(resamples):
        picked = rng.integers(0, len(rows), size=len(rows))
        totals = aggregate(task, [rows[i] for i in picked])
        for key in keys:
            value = totals.get(key)
            if value is not None and np.isfinite(value):
                values[key].append(float(value))
    tail = 50.0 * (1.0 - level)
    out = {}
    for key, got in values.items():
        if got:
            low, high = np.percentile(got, [tail, 100.0 - tail])
            out[key] = (float(low), float(high))
    return out


def bootstrap_interval(task: str, per_file: list[dict[str, float]], key: str, *,
                       resamples: int = BOOTSTRAP_RESAMPLES, level: float = BOOTSTRAP_LEVEL,
                       seed: int = 0) -> tuple[float, float] | None:
    """:func:`bootstrap_intervals` of one key; None when there is none."""
    return bootstrap_intervals(task, per_file, (key,), resamples=resamples, level=level, seed=seed).get(key)
