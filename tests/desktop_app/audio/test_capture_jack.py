"""The real input path through a private JACK server with the dummy driver.

Each scenario runs in its own Python process (jack_scripts/*.py) whose JACK_DEFAULT_SERVER points at the
test's server, because sounddevice binds to a JACK server when it is first imported. The scripts save
what they captured; the assertions on content live here. The loop delay through JACK varies from run to
run, so everything is aligned by content (where the tone starts), never by a fixed offset.
"""

from __future__ import annotations

import numpy as np

RATE_HZ = 16000
# the signal jack_scripts/loopback.py plays (times relative to the tone's start)
TONE_HZ = 440.0
TONE_DURATION_S = 0.8
CLICKS_AFTER_TONE_START_S = 1.2
CLICK_SPACING_S = 0.25
CLICK_COUNT = 6


def _first_crossing(signal: np.ndarray, threshold: float, start: int = 0) -> int:
    above = np.flatnonzero(np.abs(signal[start:]) > threshold)
    assert above.size, f"nothing above {threshold} after sample {start}"
    return start + int(above[0])


def _peak_frequency_hz(segment: np.ndarray) -> float:
    size = 1 << 18
    spectrum = np.abs(np.fft.rfft(segment * np.hanning(segment.size), n=size))
    k = int(np.argmax(spectrum))
    left, centre, right = np.log(spectrum[k - 1 : k + 2])
    offset = 0.5 * (left - right) / (left - 2 * centre + right)
    return (k + offset) * RATE_HZ / size


def _onsets(signal: np.ndarray, threshold: float, start: int, refractory_samples: int) -> list[int]:
    found: list[int] = []
    position = start
    while True:
        above = np.flatnonzero(np.abs(signal[position:]) > threshold)
        if not above.size:
            return found
        onset = position + int(above[0])
        found.append(onset)
        position = onset + refractory_samples


def test_jack_device_is_listed_and_a_known_signal_comes_back(run_jack_script, tmp_path):
    result = run_jack_script("loopback.py")
    assert ["system", "JACK Audio Connection Kit", 2, 48000.0] in result["devices"]
    assert result["sample_rate_hz"] == 48000.0
    assert result["state"] == "running" and result["state_after_close"] == "closed"
    assert result["callback_errors"] == 0
    assert result["played_samples"] == int(3.2 * 48000)  # the player reached the end of the signal
    captured = np.load(tmp_path / "captured_16k.npy")
    assert captured.dtype == np.float32
    if result["resampler_gaps"] == 0:  # with an overflow the read skips ahead; content checks still hold
        assert captured.size >= int(3.5 * RATE_HZ)

    tone_start = _first_crossing(captured, 0.02)
    assert tone_start > 0
    assert np.max(np.abs(captured[:tone_start])) < 0.02  # silence before the tone: nothing leaked in
    steady = captured[tone_start + int(0.1 * RATE_HZ) : tone_start + int(0.7 * RATE_HZ)]
    assert 0.45 < np.max(np.abs(steady)) < 0.55  # amplitude 0.5 survives capture and resampling
    frequency_hz = _peak_frequency_hz(steady)
    cents = 1200 * np.log2(frequency_hz / TONE_HZ)
    assert abs(cents) < 2.0, f"tone came back at {frequency_hz:.2f} Hz ({cents:+.2f} cents)"

    tone_end = tone_start + int(TONE_DURATION_S * RATE_HZ)
    gap = captured[tone_end + int(0.02 * RATE_HZ) : tone_start + int((CLICKS_AFTER_TONE_START_S - 0.02) * RATE_HZ)]
    assert np.max(np.abs(gap)) < 0.02  # silence between tone and clicks
    onsets = _onsets(captured, 0.1, tone_end + int(0.05 * RATE_HZ), int(0.1 * RATE_HZ))
    assert len(onsets) == CLICK_COUNT, f"click onsets at {np.array(onsets) / RATE_HZ}"
    first_click_s = (onsets[0] - tone_start) / RATE_HZ
    assert abs(first_click_s - CLICKS_AFTER_TONE_START_S) < 0.003
    spacing_s = np.diff(onsets) / RATE_HZ
    np.testing.assert_allclose(spacing_s, CLICK_SPACING_S, atol=0.001)


def test_failed_opens_raise_the_right_error_and_keep_the_stream_running(run_jack_script):
    result = run_jack_script("refused_open.py")
    expected = {
        "nonexistent_name": ("DeviceNotFoundError", "No Such Interface 9000"),
        "nonexistent_index": ("DeviceNotFoundError", "4242"),
        "absurd_rate": ("UnsupportedFormatError", "1e+06 Hz"),
        "other_rate": ("UnsupportedFormatError", "44100 Hz"),
        "missing_channel": ("UnsupportedFormatError", "channel 7"),
    }
    for case, (error, words) in expected.items():
        entry = result[case]
        assert entry["error"] == error, (case, entry)
        assert words in entry["message"], (case, entry["message"])
        assert entry["state"] == "running" and entry["device"] == "system" and entry["channel"] == 0, (case, entry)
        assert entry["samples_grew"], case
    assert "own rate (48000 Hz)" in result["absurd_rate"]["message"]
    assert result["switch_ok"]["state"] == "running" and result["switch_ok"]["channel"] == 1


def test_a_server_that_dies_is_reported_and_the_app_stays_usable(private_jack_server, run_script_on):
    result = run_script_on(private_jack_server, "server_dies.py", str(private_jack_server.process.pid), timeout_s=60)
    assert result["before"] == "running" and result["samples_before"] > 0
    assert result["after"] in ("died", "stalled")
    assert result["reopen"] == "DeviceUnavailableError"
    assert "system (JACK Audio Connection Kit)" in result["reopen_message"]
    assert result["closed"] == "closed"
