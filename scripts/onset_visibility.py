"""Which onsets a detector could see in time: recall split into onsets that bring a clear spectral change within
the 50 ms evaluation window and "hidden" ones that do not, and F1 with the hidden ones left out.

    .venv/bin/featherlight analyze --tasks onsets --out /tmp/est WORK/corpus/onsets/test
    .venv/bin/python scripts/onset_visibility.py --data WORK/corpus/onsets/test --estimates /tmp/est

For every labelled file in --data the front-end features of its audio are computed and each reference onset
gets its spectral change (``models.training.targets.spectral_change``: the new energy, summed over bins, of
the 50 ms after it against the 30 ms before it). An onset is *hidden* when that change is no larger than one
in ten of the same file's onset-free frames show (``hidden_onsets``): a string pad entering under its own
sustained notes, a brush swish under a music bed. Estimates are matched to all reference onsets the way
``featherlight eval`` matches them (mir_eval, 50 ms); the report gives recall for visible and hidden onsets
apart, precision and F1 as `eval` computes them, and F1 with the hidden onsets taken as "don't care" (neither
counted as misses nor, when a detection matches one, as false alarms). The last figure is not the acceptance
metric; it says how much of the gap to a perfect score lies in onsets that the audio itself does not show in
time. ``--json`` writes the counts per file (an existing file only with ``--overwrite``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def file_counts(features: np.ndarray, reference_s: np.ndarray, estimate_s: np.ndarray, hop_s: float) -> dict:
    """Counts for one file: onsets visible/hidden and found, detections, detections matched to hidden ones."""
    import mir_eval

    from models.evaluation.metrics import ONSET_WINDOW_S
    from models.training.targets import hidden_onsets

    reference_s = np.sort(np.asarray(reference_s, dtype=np.float64).reshape(-1))
    estimate_s = np.sort(np.asarray(estimate_s, dtype=np.float64).reshape(-1))
    hidden = hidden_onsets(features, np.rint(reference_s / hop_s).astype(np.int64))
    found = np.zeros(reference_s.size, dtype=bool)
    if reference_s.size and estimate_s.size:
        pairs = mir_eval.util.match_events(reference_s, estimate_s, ONSET_WINDOW_S)
        found[[r for r, _ in pairs]] = True
    return {"onsets": int(reference_s.size), "hidden": int(hidden.sum()),
            "visible_found": int((found & ~hidden).sum()), "hidden_found": int((found & hidden).sum()),
            "detections": int(estimate_s.size)}


def scores(c: dict) -> dict[str, float]:
    """Precision/recall/F1 as `eval` computes them, recall by visibility, F1 with hidden onsets left out."""
    from models.evaluation.metrics import prf_from_counts

    visible = c["onsets"] - c["hidden"]
    precision, recall, f1 = prf_from_counts(c["visible_found"] + c["hidden_found"], c["onsets"], c["detections"])
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "recall_visible": c["visible_found"] / visible if visible else 1.0,
        "recall_hidden": c["hidden_found"] / c["hidden"] if c["hidden"] else 1.0,
        "f1_hidden_left_out": prf_from_counts(c["visible_found"], visible, c["detections"] - c["hidden_found"])[2],
    }


def breakdown(data: Path, estimates: Path) -> dict[str, dict]:
    from models.annotations.csv_io import load_onsets_csv
    from models.annotations.dataset import load_dataset
    from models.audio import load_audio
    from models.errors import DatasetError
    from models.frontend import FrontEnd, FrontEndConfig

    items = load_dataset(data, tasks=("onsets",))
    missing = [i.stem for i in items if not (estimates / f"{i.stem}.onsets.csv").is_file()]
    if missing:
        raise DatasetError(f"--estimates {estimates} lacks {len(missing)} estimate(s) ({', '.join(missing[:3])}"
                           f"{' ...' if len(missing) > 3 else ''}); run `featherlight analyze --tasks onsets --out "
                           f"{estimates} {data}` first")
    config = FrontEndConfig()
    out = {}
    for item in items:
        features = FrontEnd(config).compute(load_audio(item.audio_path, config.sample_rate_hz))
        out[item.stem] = file_counts(features, np.asarray(item.annotation.onsets, dtype=np.float64),
                                     load_onsets_csv(estimates / f"{item.stem}.onsets.csv"), config.hop_s)
    return out


def total(counts: dict[str, dict]) -> dict:
    keys = ("onsets", "hidden", "visible_found", "hidden_found", "detections")
    return {k: sum(c[k] for c in counts.values()) for k in keys}


def report(counts: dict[str, dict], n_files: int = 5) -> list[str]:
    t = total(counts)
    s = scores(t)
    lines = [f"{len(counts)} files, {t['onsets']} onsets, {t['detections']} detections",
             f"  hidden onsets: {t['hidden']} ({t['hidden'] / max(t['onsets'], 1):.1%}), found {t['hidden_found']} "
             f"(recall {s['recall_hidden']:.3f})",
             f"  visible onsets: {t['onsets'] - t['hidden']}, found {t['visible_found']} (recall "
             f"{s['recall_visible']:.3f})",
             f"  precision {s['precision']:.3f}, recall {s['recall']:.3f}, F1 {s['f1']:.3f} (as `featherlight eval`)",
             f"  F1 with the hidden onsets left out: {s['f1_hidden_left_out']:.3f}"]
    misses = sorted(counts.items(), key=lambda kv: kv[1]["hidden"] - kv[1]["hidden_found"], reverse=True)
    misses = [(stem, c) for stem, c in misses if c["hidden"] > c["hidden_found"]][:n_files]
    if misses:
        lines += ["", "files with the most hidden onsets missed:"]
        lines += [f"  {stem}: {c['hidden'] - c['hidden_found']} of {c['onsets']} onsets (all misses: "
                  f"{c['onsets'] - c['visible_found'] - c['hidden_found']})" for stem, c in misses]
    return lines


def main(argv: list[str] | None = None) -> int:
    import split_cli

    return split_cli.run("onset_visibility", __doc__, argv,
                         data_help="folder of audio with <stem>.onsets.csv labels",
                         estimates_help="folder of <stem>.onsets.csv estimates",
                         json_help="also write the counts per file here", analyse=breakdown, report=report,
                         to_json=lambda counts: {"total": total(counts), "files": counts})


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
