"""Plain-text tables of an :class:`~models.evaluation.runner.EvaluationReport`."""

from __future__ import annotations

import math

from models.evaluation.runner import EvaluationReport

#: Columns shown in tables, per task / layout (the JSON has every number).
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "pitch": ("rpa", "rca", "oa", "voicing_recall", "voicing_false_alarm", "note_f1", "note_precision",
              "note_recall"),
    "chords": ("root", "majmin", "mirex", "thirds", "sevenths"),
    "drums": ("kick_f1", "snare_f1", "hihat_f1", "mean_f1_ksh", "mean_f1_ref", "f1", "precision", "recall"),
    "onsets": ("f1_50ms", "precision_50ms", "recall_50ms", "f1_25ms", "precision_25ms", "recall_25ms"),
    "single-note": ("ref_midi", "est_midi", "cents_error", "voiced_fraction", "correct", "chroma_correct"),
}
SINGLE_NOTE_TOTAL_KEYS: tuple[str, ...] = ("accuracy_50c", "chroma_accuracy_50c", "median_abs_cents", "n_no_pitch")


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:.0f}"


def _interval(bounds: tuple[float, float] | None) -> str:
    return "-" if bounds is None else f"{_fmt(bounds[0])}-{_fmt(bounds[1])}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


def format_report(report: EvaluationReport, *, per_file: bool = False) -> str:
    """Title, optional per-file table, totals, and the list of missing / failed files."""
    table_key = "single-note" if report.layout == "single-note" else report.task
    keys = TABLE_KEYS[table_key]
    what = f"baseline {report.baseline}" if report.source == "baseline" else f"estimates in {report.estimates_dir}"
    n_scored = sum(1 for f in report.files if f.metrics)
    parts = [f"{report.task} ({report.layout}) on {report.data_dir}: {what}; "
             f"{n_scored} of {len(report.files)} file(s) scored"]
    if per_file:
        rows = [[f.stem + ("" if f.status == "ok" else f" [{f.status}]")] + [_fmt(f.metrics.get(k)) for k in keys]
                for f in report.files]
        parts += ["", _table(["file", *keys], rows)]
    parts.append("")
    if report.layout == "single-note":
        parts.append(_table(["total", *SINGLE_NOTE_TOTAL_KEYS],
                            [["all files"] + [_fmt(report.totals.get(k)) for k in SINGLE_NOTE_TOTAL_KEYS]]))
    else:
        shown = [k for k in keys if k in report.totals or f"file_mean_{k}" in report.totals]
        rows = [["total (weighted / micro)"] + [_fmt(report.totals.get(k)) for k in shown],
                ["file mean"] + [_fmt(report.totals.get(f"file_mean_{k}")) for k in shown]]
        if report.intervals:  # how far each total would move on other files of the same kind
            rows.append([f"95% interval ({n_scored} files)"]
                        + [_interval(report.intervals.get(k)) for k in shown])
        parts.append(_table(["total", *shown], rows) if shown else "no metric could be computed")
    problems = report.missing + report.failed
    if problems:
        verdict = "skipped (--allow-missing)" if report.allow_missing else "scored as empty estimates"
        parts += ["", f"{len(report.missing)} missing and {len(report.failed)} failed estimate(s), {verdict}:"]
        parts += [f"  {f.audio_path}: {f.message}" for f in problems]
    return "\n".join(parts)
