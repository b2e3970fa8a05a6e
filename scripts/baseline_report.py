"""Score the DSP baselines on a rendered corpus (and pitch on real single-note recordings) and write
docs/BASELINES.md: the floor every Featherlight model must beat.

    .venv/bin/python scripts/baseline_report.py --corpus /path/to/corpus \
        --real-dev ../shared/data/real_dev/pitch --out docs/BASELINES.md --jobs 2

--corpus holds one rendered corpus per task (<corpus>/<task>/test, as written by
`featherlight corpus render --task T --out <corpus>/T`). Every number in the output comes from
`featherlight eval --baseline ... --json`, run here in one go.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

# task -> (baselines, [(metric key, column title)])
TABLES: dict[str, tuple[tuple[str, ...], list[tuple[str, str]]]] = {
    "pitch": (("pyin", "yin"), [("rpa", "RPA"), ("rca", "RCA"), ("oa", "OA"), ("voicing_recall", "voicing recall"),
                                ("voicing_false_alarm", "voicing FA"), ("note_f1", "note F1 (50 ms)")]),
    "chords": (("chroma-templates",), [("root", "root"), ("majmin", "majmin"), ("mirex", "mirex"),
                                       ("thirds", "thirds"), ("sevenths", "sevenths")]),
    "drums": (("band-onsets",), [("kick_f1", "kick F1"), ("snare_f1", "snare F1"), ("hihat_f1", "hi-hat F1"),
                                 ("mean_f1_ksh", "mean F1 (k/s/h)"), ("mean_f1_ref", "mean F1 (all classes)")]),
    "onsets": (("librosa-onset",), [("f1_50ms", "F1 50 ms"), ("precision_50ms", "P 50 ms"),
                                    ("recall_50ms", "R 50 ms"), ("f1_25ms", "F1 25 ms")]),
}
SINGLE_NOTE_COLUMNS = [("accuracy_50c", "accuracy (50 cents)"), ("chroma_accuracy_50c", "chroma accuracy"),
                       ("median_abs_cents", "median abs. error (cents)"), ("n_no_pitch", "files without pitch")]


def run_eval(task: str, data: Path, baseline: str, jobs: int) -> tuple[dict, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scores.json"
        cmd = [sys.executable, "-m", "desktop_app.cli", "eval", "--task", task, "--data", str(data),
               "--baseline", baseline, "--json", str(out), "--jobs", str(jobs), "--no-progress"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode not in (0, 1) or not out.is_file():
            raise SystemExit(f"eval failed ({' '.join(cmd)}):\n{proc.stderr[-2000:]}")
        return json.loads(out.read_text()), elapsed


def table(rows: list[tuple[str, dict]], columns: list[tuple[str, str]], first: str) -> list[str]:
    lines = ["| " + " | ".join([first, "files", *(title for _, title in columns)]) + " |",
             "|" + "---|" * (len(columns) + 2)]
    for name, report in rows:
        totals = report["totals"]
        cells = [f"{totals[key]:.3f}" if key in totals else "n/a" for key, _ in columns]
        lines.append(f"| {name} | {int(totals.get('n_files', 0))} | " + " | ".join(cells) + " |")
    return lines


def minutes_of(folder: Path) -> float:
    import soundfile as sf

    return sum(sf.info(str(p)).duration for p in folder.rglob("*.flac")) / 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="folder with <task>/test sub-folders")
    parser.add_argument("--real-dev", type=Path, help="single-note real recordings (e.g. ../shared/data/real_dev/pitch)")
    parser.add_argument("--out", type=Path, default=Path("docs/BASELINES.md"))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    lines = ["# DSP baselines: the floor every model must beat", "",
             f"Produced by `scripts/baseline_report.py` on {date.today().isoformat()} "
             f"({platform.machine()}, {platform.python_version()}). Scores are mir_eval's, totals over the "
             "whole split (frame metrics weighted by frames, chord metrics by duration, event F1 from "
             "summed counts).", ""]
    for task, (baselines, columns) in TABLES.items():
        test = args.corpus / task / "test"
        if not test.is_dir():
            print(f"skipping {task}: {test} not found", file=sys.stderr)
            continue
        rows = []
        lines += [f"## {task}: rendered test split", "",
                  f"`{test}`: {minutes_of(test):.1f} minutes of audio.", ""]
        for name in baselines:
            report, elapsed = run_eval(task, test, name, args.jobs)
            rows.append((name, report))
            print(f"{task} {name}: {elapsed:.0f} s", file=sys.stderr)
        lines += table(rows, columns, "baseline") + [""]
    if args.real_dev is not None:
        rows = []
        for name in TABLES["pitch"][0]:
            report, _ = run_eval("pitch", args.real_dev, name, args.jobs)
            rows.append((name, report))
        lines += ["## pitch: real single-note recordings", "",
                  f"`{args.real_dev}`: acoustic guitar E2-E5, contrabass, flute, electric guitar; each file "
                  "scored by the median pitch of its voiced frames.", ""]
        lines += table(rows, SINGLE_NOTE_COLUMNS, "baseline") + [""]
    from models.fileio import atomic_write_text

    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, "\n".join(lines), overwrite=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
