"""Helpers for the corpus tests: a GM soundfont and tiny procedural renders shared per module."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from models.corpus.soundfonts import DEFAULT_SOUNDFONTS


def small_font() -> str | None:
    """FluidR3_GM (loads in a second, realistic) or else any installed default font."""
    for p in DEFAULT_SOUNDFONTS:
        if Path(p).is_file() and p.endswith(".sf2"):
            return p
    return None


def _tree_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every audio and label file under the split folders (not corpus.json)."""
    out = {}
    for split in ("train", "valid", "test"):
        for p in sorted((folder / split).iterdir()):
            out[f"{split}/{p.name}"] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def font() -> str:
    f = small_font()
    if f is None:
        pytest.skip("no General MIDI .sf2 soundfont installed")
    return f


@pytest.fixture
def tree_hashes():
    return _tree_hashes
