"""``featherlight eval``: score estimates (or a DSP baseline) against a labelled folder."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from models.annotations.types import TASKS
from models.errors import EvaluationError

log = logging.getLogger(__name__)

_DESCRIPTION = """\
Score one task on a folder of labelled audio. Either read estimate files written by a model
(--estimates DIR: for each audio file <stem>.wav of --data, the files <stem>.jams / <stem>.f0.csv /
<stem>.notes.csv / <stem>.notes.mid / <stem>.chords.lab / <stem>.drums.csv / <stem>.drums.mid /
<stem>.onsets.csv in DIR, or in DIR's sub-folder mirroring the audio's), or run a DSP baseline
(--baseline NAME). Metrics are mir_eval's: pitch RPA/RCA/OA/voicing and onset-only note F1 (50 ms);
chord root/majmin/mirex/thirds/sevenths; drum F1 per class (50 ms); onset F1 at 50 and 25 ms.
Totals are over the whole folder (frames weighted by frames, events from summed counts), each with a
95% interval: a bootstrap over the files (1000 seeded resamples), how far the total would move on
another folder of the same kind and size.

Single-note collections (pitch only): a CSV with columns 'file,midi_pitch' (file relative to the CSV's
folder, its audio/ sub-folder, or --data), TinySOL metadata ('Path', 'Pitch ID') and EGFxSet folders
(<Effect>/<Pickup>/<string>-<fret>.wav) are found under --data automatically, or named with
--single-note-labels. Each file is scored by the median pitch of its voiced frames: cents error,
accuracy within 50 cents, chroma (octave-tolerant) accuracy and the median absolute cents error.
"""

_EPILOG = """\
exit status: 0 when every file was scored, 1 when some estimate was missing or failed (they are
scored as empty estimates; --allow-missing leaves them out and exits 0), 2 on an error.

examples:
  featherlight eval --task pitch --data real_dev/pitch --baseline pyin
  featherlight eval --task chords --data corpus/chords/test --estimates out/ --json scores.json
  featherlight eval --task drums --data corpus/drums/test --baseline band-onsets --save-estimates est/
"""


def _baseline_names() -> str:
    from models.baselines import BASELINES

    return "; ".join(f"{task}: {', '.join(names)}" for task, names in BASELINES.items())


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="score estimates or a DSP baseline against labelled audio (mir_eval metrics)",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--task", required=True, choices=TASKS, help="which task to score")
    parser.add_argument("--data", required=True, type=Path, metavar="DIR",
                        help="folder of audio files with their reference labels (or a single-note collection)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--estimates", type=Path, metavar="DIR", help="folder of estimate files, paired by stem")
    source.add_argument("--baseline", metavar="NAME",
                        help="run a DSP baseline instead of reading estimates (pitch: pyin, yin; "
                             "chords: chroma-templates; drums: band-onsets; onsets: librosa-onset)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write every number (per file and totals) to OUT")
    parser.add_argument("--save-estimates", type=Path, metavar="DIR",
                        help="with --baseline: write what the baseline produced to DIR in the output contract")
    parser.add_argument("--single-note-labels", type=Path, metavar="CSV", action="append",
                        help="pitch: score the single-note collection named by CSV (columns file,midi_pitch); "
                             "repeat for several")
    parser.add_argument("--per-file", action="store_true", help="print one row per file as well as the totals")
    parser.add_argument("--allow-missing", action="store_true",
                        help="leave files without an estimate out of the totals instead of scoring them as empty")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="baseline: files processed in parallel (default 1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--overwrite", action="store_true", help="replace existing --json / --save-estimates files")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from models.evaluation.runner import (
        EvaluationReport, dataset_items, read_estimates, run_baseline, score, single_note_eval_items, totals_for,
    )
    from models.evaluation.single_note import dedupe, discover_single_note_items, read_single_note_labels

    task: str = args.task
    data_dir: Path = args.data
    if not data_dir.is_dir():
        raise EvaluationError(f"data folder not found: {data_dir}; give a folder of labelled audio with --data")
    if args.jobs < 1:
        raise EvaluationError(f"--jobs {args.jobs} must be at least 1")
    if args.save_estimates is not None and args.baseline is None:
        raise EvaluationError("--save-estimates needs --baseline (estimates read with --estimates are already files)")
    if args.single_note_labels and task != "pitch":
        raise EvaluationError(f"--single-note-labels is for --task pitch, not {task!r}")
    if args.baseline is not None:
        from models.baselines import BASELINES

        if args.baseline not in BASELINES[task]:
            raise EvaluationError(
                f"no baseline {args.baseline!r} for task {task!r}; choose one of: {', '.join(BASELINES[task])}"
            )

    layout = "dataset"
    if args.single_note_labels:
        notes = dedupe([it for csv_path in args.single_note_labels for it in read_single_note_labels(csv_path, data_dir)])
        layout = "single-note"
    elif task == "pitch":
        notes = discover_single_note_items(data_dir)
        layout = "single-note" if notes else "dataset"
    if layout == "single-note":
        if not notes:
            raise EvaluationError(f"nothing to score: the single-note labels name no audio file under {data_dir}")
        items = single_note_eval_items(notes)
    else:
        items = dataset_items(data_dir, task)

    if args.baseline is not None:
        pairs = run_baseline(items, task, args.baseline, jobs=args.jobs, progress=not args.no_progress)
    else:
        pairs = read_estimates(items, args.estimates, data_dir, task)

    saved: list[Path] = []
    on_estimate = None
    if args.save_estimates is not None:
        from models.annotations.contract import write_analysis

        def on_estimate(item, estimate) -> None:
            try:
                rel = item.audio_path.parent.resolve().relative_to(data_dir.resolve())
            except ValueError:
                rel = Path()
            saved.extend(write_analysis(estimate, args.save_estimates / rel, item.stem, overwrite=args.overwrite))

    results, rows = score(task, pairs, allow_missing=args.allow_missing, on_estimate=on_estimate)
    if not rows:
        raise EvaluationError(
            f"nothing to score: none of the {len(results)} file(s) in {data_dir} has an estimate"
            + (f" in {args.estimates}" if args.estimates is not None else "")
        )
    from models.evaluation.aggregate import bootstrap_intervals
    from models.evaluation.report import TABLE_KEYS, format_report

    report = EvaluationReport(
        task=task, data_dir=data_dir, layout=layout,
        source="baseline" if args.baseline is not None else "estimates",
        baseline=args.baseline, estimates_dir=args.estimates,
        files=tuple(results), totals=totals_for(task, layout, rows),
        allow_missing=args.allow_missing, saved_estimates=tuple(saved),
        intervals=bootstrap_intervals(task, rows, TABLE_KEYS[task]) if layout == "dataset" else {},
    )

    print(format_report(report, per_file=args.per_file))
    if args.json is not None:
        from models.fileio import atomic_write_text

        text = json.dumps(report.to_json_dict(), indent=2, allow_nan=False) + "\n"
        atomic_write_text(args.json, text, overwrite=args.overwrite)
        print(f"wrote {args.json}")
    if saved:
        print(f"wrote {len(saved)} estimate file(s) to {args.save_estimates}")
    return 0 if report.ok else 1
