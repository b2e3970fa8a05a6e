"""Where a pitch model misses: raw pitch accuracy broken down by where in a note a frame is and what the
estimate was instead, for solo lines and accompanied melodies apart.

    .venv/bin/featherlight analyze --tasks pitch --out /tmp/est WORK/corpus/pitch/test
    .venv/bin/python scripts/pitch_errors.py --data WORK/corpus/pitch/test --estimates /tmp/est

Every ``<stem>.f0.csv`` reference in --data is compared with the ``<stem>.f0.csv`` estimate in --estimates
the way ``featherlight eval`` scores RPA (mir_eval, 50 cents, the estimate resampled to the reference times,
an unvoiced estimate counted by its pitch guess). A reference frame starts a note where the reference turns
voiced or moves by more than half a semitone from the frame before; frames are then "note start" (its first 3
frames, 30 ms), "early" (frames 3-9, up to 100 ms) or "held". A miss is, in this order: "previous note"
(within 50 cents of the note before, the model lagging behind a change), "no pitch guess", "octave" (one
octave off either way), "twelfth or two octaves", "within 2 semitones", or "other". With the render manifest
(``corpus.json`` in the folder above --data, written by ``featherlight corpus render``) an item is an
"accompanied melody" when it has more than one stem and a "solo line" otherwise; without it, all files form
one group. ``--json`` writes the counts for further work (an existing file only with ``--overwrite``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TOLERANCE_CENTS = 50.0
POSITIONS = ("note start", "early", "held")
ERRORS = ("previous note", "no pitch guess", "octave", "twelfth or two octaves", "within 2 semitones", "other")


def position_and_previous(ref_voiced: np.ndarray, ref_cents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: 0/1/2 (note start / early / held; -1 where unvoiced) and the previous note's pitch in
    cents (0 where there was none)."""
    from models.training.targets import NOTE_CHANGE_CENTS, NOTE_START_FRAMES  # the rule training weighs by

    n = ref_voiced.size
    position = np.full(n, -1)
    previous = np.zeros(n)
    start, last_note = -1, 0.0
    for i in range(n):
        changed = i == 0 or not ref_voiced[i - 1] or not ref_voiced[i] or \
            abs(ref_cents[i] - ref_cents[i - 1]) > NOTE_CHANGE_CENTS
        if changed and i > 0 and ref_voiced[i - 1]:  # a note ended here: it is the previous note from now on
            last_note = ref_cents[i - 1]
        if not ref_voiced[i]:
            continue
        if changed:
            start = i
        since = i - start
        position[i] = 0 if since < 3 else (1 if since < NOTE_START_FRAMES else 2)
        previous[i] = last_note
    return position, previous


def classify(reference, estimate) -> dict[str, np.ndarray]:
    """Voiced reference frames of one file: their position, whether the estimate is right, the miss kind."""
    import mir_eval

    ref_v, ref_c, est_v, est_c = mir_eval.melody.to_cent_voicing(
        np.asarray(reference.times_s, float), np.asarray(reference.f0_hz, float),
        np.asarray(estimate.times_s, float), np.asarray(estimate.f0_hz, float))
    voiced = ref_v > 0
    position, previous = position_and_previous(voiced, ref_c)
    guess = est_c > 0
    diff = np.where(guess, est_c - ref_c, np.nan)
    ok = guess & (np.abs(diff) <= TOLERANCE_CENTS)
    kind = np.full(ref_c.size, -1)
    rules = (
        (previous > 0) & guess & (np.abs(est_c - previous) <= TOLERANCE_CENTS),
        ~guess,
        np.abs(np.abs(diff) - 1200) <= TOLERANCE_CENTS,
        (np.abs(np.abs(diff) - 1902) <= TOLERANCE_CENTS) | (np.abs(np.abs(diff) - 2400) <= TOLERANCE_CENTS),
        np.abs(diff) <= 200 + TOLERANCE_CENTS,
        np.ones(ref_c.size, bool),
    )
    for k, rule in enumerate(rules):
        kind[(kind < 0) & ~ok & rule] = k
    return {"position": position[voiced], "ok": ok[voiced], "kind": kind[voiced]}


def item_groups(data: Path) -> dict[str, str]:
    """stem -> group, from the render manifest above ``data`` (empty without one)."""
    manifest = data.parent / "corpus.json"
    if not manifest.is_file():
        return {}
    try:
        items = json.loads(manifest.read_text(encoding="utf-8")).get("items") or []
    except (OSError, json.JSONDecodeError):
        return {}
    return {r["stem"]: ("accompanied melody" if len(r.get("stems") or []) > 1 else "solo line")
            for r in items if "stem" in r}


def breakdown(data: Path, estimates: Path) -> dict:
    from models.annotations.csv_io import load_f0_csv
    from models.errors import DatasetError

    refs = sorted(data.glob("*.f0.csv"))
    if not refs:
        raise DatasetError(f"--data {data}: no <stem>.f0.csv references; give a pitch split such as WORK/corpus/pitch/test")
    missing = [p.name for p in refs if not (estimates / p.name).is_file()]
    if missing:
        raise DatasetError(f"--estimates {estimates} lacks {len(missing)} estimate(s) ({', '.join(missing[:3])}"
                           f"{' ...' if len(missing) > 3 else ''}); run `featherlight analyze --tasks pitch --out "
                           f"{estimates} {data}` first")
    groups = item_groups(data)
    counts: dict = {}
    for ref_path in refs:
        stem = ref_path.name[: -len(".f0.csv")]
        frames = classify(load_f0_csv(ref_path), load_f0_csv(estimates / ref_path.name))
        group = groups.get(stem, "all files")
        c = counts.setdefault(group, {"files": 0, "frames": [0] * len(POSITIONS), "misses": [0] * len(POSITIONS),
                                      "kinds": [[0] * len(ERRORS) for _ in POSITIONS]})
        c["files"] += 1
        for p in range(len(POSITIONS)):
            here = frames["position"] == p
            c["frames"][p] += int(here.sum())
            c["misses"][p] += int((here & ~frames["ok"]).sum())
            for k in range(len(ERRORS)):
                c["kinds"][p][k] += int((here & (frames["kind"] == k)).sum())
    return counts


def report(counts: dict) -> list[str]:
    lines = []
    total_frames = sum(sum(c["frames"]) for c in counts.values())
    total_misses = sum(sum(c["misses"]) for c in counts.values())
    lines.append(f"all groups: {total_frames} voiced frames, RPA {1 - total_misses / max(total_frames, 1):.3f}")
    for group, c in counts.items():
        frames, misses = sum(c["frames"]), sum(c["misses"])
        lines += ["", f"{group}: {c['files']} files, {frames} voiced frames, RPA {1 - misses / max(frames, 1):.3f}",
                  f"  {'frames':<12} {'share':>6} {'RPA':>6} {'of misses':>9}   " + " | ".join(ERRORS)]
        for p, name in enumerate(POSITIONS):
            n, m = c["frames"][p], c["misses"][p]
            kinds = " | ".join(f"{k / max(misses, 1):.1%}" for k in c["kinds"][p])
            lines.append(f"  {name:<12} {n / max(frames, 1):6.1%} {1 - m / max(n, 1):6.3f} {m / max(misses, 1):9.1%}   {kinds}")
    lines += ["", "(miss kinds as shares of the group's misses)"]
    return lines


def main(argv: list[str] | None = None) -> int:
    import split_cli

    return split_cli.run("pitch_errors", __doc__, argv, data_help="folder of <stem>.f0.csv references (and audio)",
                         estimates_help="folder of <stem>.f0.csv estimates", json_help="also write the counts here",
                         analyse=breakdown, report=report)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
