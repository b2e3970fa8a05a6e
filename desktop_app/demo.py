"""The bundled demo file (``resources/demo/demo.ogg``) and its reference labels.

The window's "Open demo" action opens :func:`demo_file`; tests compare the window's analysis with
:func:`demo_reference`. ``scripts/make_demo.py`` regenerates both (see ``resources/demo/README.md``).
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from pathlib import Path

from models.annotations.contract import load_annotation_for
from models.annotations.types import Annotation
from models.errors import AudioFileNotFoundError, FeatherlightError

__all__ = ["DEMO_AUDIO_NAME", "DEMO_STEM", "demo_dir", "demo_file", "demo_info", "demo_reference"]

log = logging.getLogger(__name__)

DEMO_STEM = "demo"
DEMO_AUDIO_NAME = f"{DEMO_STEM}.ogg"
_FIX = ("reinstall Featherlight (pip install --force-reinstall featherlight), or regenerate it from a source "
        "checkout with `python scripts/make_demo.py --overwrite`")


class DemoMissingError(AudioFileNotFoundError):
    """The bundled demo file (or its description) is not installed."""


def demo_dir() -> Path:
    """The folder holding the demo and its labels (inside the installed ``resources`` package)."""
    try:
        root = resources.files("resources") / "demo"
    except ModuleNotFoundError as exc:  # the resources package itself is missing
        raise DemoMissingError(f"the bundled resources package is not installed ({exc}); {_FIX}") from exc
    return Path(str(root))


def demo_file() -> Path:
    """Path of the bundled demo audio (``demo.ogg``); :class:`DemoMissingError` when it is not installed."""
    path = demo_dir() / DEMO_AUDIO_NAME
    if not path.is_file():
        raise DemoMissingError(f"the bundled demo file {path} is missing; {_FIX}")
    return path


def demo_info() -> dict:
    """What ``demo.json`` says about how the demo was made (command, soundfont, seed, counts)."""
    path = demo_dir() / f"{DEMO_STEM}.json"
    if not path.is_file():
        raise DemoMissingError(f"the demo's description {path} is missing; {_FIX}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FeatherlightError(f"the demo's description {path} cannot be read ({exc}); {_FIX}") from exc


def demo_reference() -> Annotation:
    """The demo's reference labels (f0, notes, chords, drums, onsets) from the files beside it."""
    return load_annotation_for(demo_file())
