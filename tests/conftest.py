"""Shared test set-up: headless Qt, and skipping tests whose external needs are absent."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_path() -> Path:
    """The read-only training/validation data folder (absent on a clean clone without ../shared)."""
    return Path(os.environ.get("FEATHERLIGHT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def _has_gm_soundfont() -> bool:
    return any(Path(p).is_file() for p in ("/usr/share/sounds/sf2/FluidR3_GM.sf2",
                                           "/usr/share/sounds/sf2/TimGM6mb.sf2"))


def pytest_collection_modifyitems(config, items):
    no_synth = shutil.which("fluidsynth") is None or not _has_gm_soundfont()
    no_shared = not shared_data_path().is_dir()
    for item in items:
        if no_synth and "needs_fluidsynth" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="fluidsynth or a GM soundfont is not installed"))
        if no_shared and "needs_shared_data" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=f"shared data folder not found at {shared_data_path()}"))


@pytest.fixture
def shared_data() -> Path:
    path = shared_data_path()
    if not path.is_dir():
        pytest.skip(f"shared data folder not found at {path}")
    return path
