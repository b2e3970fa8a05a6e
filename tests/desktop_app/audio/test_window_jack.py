"""The whole live path of the window through a real JACK server (dummy driver) with the bundled models.

jack_scripts/window_live.py plays six plucked harmonic notes into the input port of the window's own
capture stream; the window analyses them with the bundled models. The loop delay varies from run to run,
so the checks are alignment-free: the pitch of each detected note region and the spacing of the onsets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]
MODELS = Path(__import__("os").environ.get("FEATHERLIGHT_TEST_MODELS", REPO / "resources" / "models"))
NOTES_MIDI = (57, 60, 64, 69, 72, 67)
NOTE_SPACING_S = 0.6


@pytest.fixture
def bundled_models() -> Path:
    if not all((MODELS / f"{task}.onnx").is_file() for task in ("pitch", "onsets")):
        pytest.skip("the bundled pitch and onset models are not in resources/models")
    return MODELS


def test_window_detects_played_notes_live(run_jack_script, bundled_models):
    result = run_jack_script("window_live.py", str(bundled_models), timeout_s=120.0)
    assert result["last_error"] is None
    assert result["played_samples"] > 0
    onsets = np.array(sorted(result["onsets_s"]))
    # one onset per note (allow one spurious or missed), the six notes 0.6 s apart
    assert len(NOTES_MIDI) - 1 <= onsets.size <= len(NOTES_MIDI) + 1, onsets
    first = onsets[0]
    expected = first + NOTE_SPACING_S * np.arange(len(NOTES_MIDI))
    matched = [float(np.min(np.abs(onsets - t))) for t in expected]
    assert sum(m <= 0.03 for m in matched) >= len(NOTES_MIDI) - 1, matched
    # pitch: the median f0 in the middle of each note is the played note (within 50 cents)
    times, f0 = np.array(result["f0_times_s"]), np.array(result["f0_hz"])
    good = 0
    for k, midi in enumerate(NOTES_MIDI):
        inside = (times >= expected[k] + 0.05) & (times <= expected[k] + 0.35) & (f0 > 0)
        if inside.sum() < 10:
            continue
        cents = 1200 * np.log2(np.median(f0[inside]) / (440.0 * 2 ** ((midi - 69) / 12)))
        good += abs(cents) <= 50
    assert good >= len(NOTES_MIDI) - 1, (good, result["notes"])
    # the status bar showed the live statistics
    assert "latency" in result["status"] and "overflows" in result["status"]
