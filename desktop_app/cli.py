"""The ``featherlight`` command.

With no arguments it opens the GUI. Sub-commands live next to the code they drive; each module listed
in ``_SUBCOMMAND_MODULES`` exposes ``register(subparsers)``, which adds its parser and sets
``func=<callable(args) -> int>``. Modules are imported only when their command could run, so
``featherlight --help`` and the live path stay free of torch.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from models.errors import FeatherlightError

# Modules that register a sub-command; order = order in --help. They import heavy packages lazily.
_SUBCOMMAND_MODULES: tuple[str, ...] = (
    "desktop_app.gui_cli",
    "desktop_app.doctor",
    "models.corpus.cli",
    "models.evaluation.cli",
    "models.runtime.analyze_cli",
    "models.training.train_cli",
    "models.training.export_cli",
)

log = logging.getLogger("featherlight")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="featherlight",
        description=(
            "Featherlight: a desktop music analyser. Shows pitch with notes, chords, drum hits and "
            "onsets on one time axis in real time, computed by ultra-light neural networks on the CPU. "
            "Run without a command to open the window."
        ),
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a piece not built yet must not break the others
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    func = getattr(args, "func", None)
    if func is None:  # no command: the GUI
        from desktop_app.gui_cli import run_gui

        return run_gui(args)
    try:
        return int(func(args) or 0)
    except FeatherlightError as exc:
        print(f"featherlight: error: {exc}", file=sys.stderr)
        for problem in getattr(exc, "problems", [])[:200]:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("featherlight: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
