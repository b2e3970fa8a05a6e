"""The command line of the scripts that break a model's misses down on a labelled split (pitch_errors.py,
onset_visibility.py): ``--data`` (the split), ``--estimates`` (what `featherlight analyze` wrote for it),
``--json`` (the counts, an existing file replaced only with ``--overwrite``, refused before the work)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path


def run(name: str, description: str, argv: Sequence[str] | None, *, data_help: str, estimates_help: str,
        json_help: str, analyse: Callable[[Path, Path], dict], report: Callable[[dict], list[str]],
        to_json: Callable[[dict], object] = lambda counts: counts) -> int:
    """Parse ``argv``, ``analyse(data, estimates)``, print ``report(counts)``, write ``to_json(counts)``;
    0, or 2 with the error on stderr."""
    parser = argparse.ArgumentParser(prog=f"{name}.py", description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help=data_help)
    parser.add_argument("--estimates", type=Path, required=True, help=estimates_help)
    parser.add_argument("--json", type=Path, default=None, help=json_help)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    args = parser.parse_args(argv)
    from models.errors import FeatherlightError
    from models.fileio import atomic_write_text, check_writable

    try:
        if args.json:  # refused before the work, not after it
            check_writable([args.json], args.overwrite)
        counts = analyse(args.data, args.estimates)
        print("\n".join(report(counts)))
        if args.json:
            atomic_write_text(args.json, json.dumps(to_json(counts), indent=1) + "\n", overwrite=args.overwrite)
    except FeatherlightError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 2
    return 0
