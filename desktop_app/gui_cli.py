"""`featherlight gui` (also what `featherlight` runs with no command)."""

from __future__ import annotations

import argparse
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gui",
        help="open the Featherlight window (the default when no command is given)",
        description=(
            "Open the Featherlight window. Without a display, set QT_QPA_PLATFORM=offscreen "
            "(for tests) or run under Xvfb."
        ),
    )
    p.add_argument("files", nargs="*", help="audio files to open at start")
    p.set_defaults(func=run_gui)


def run_gui(args: argparse.Namespace) -> int:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") and not os.environ.get(
        "QT_QPA_PLATFORM"
    ):
        print(
            "featherlight: error: no display found (DISPLAY is not set). Run it on a desktop, under "
            "Xvfb (xvfb-run featherlight), or with QT_QPA_PLATFORM=offscreen for a headless check.",
            file=sys.stderr,
        )
        return 2
    from desktop_app.main_window import run_app

    return run_app(list(getattr(args, "files", []) or []))
