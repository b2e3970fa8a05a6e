"""Failed opens while a JACK capture runs: the right error, and the running stream keeps running.

Usage: refused_open.py OUT_DIR. Writes OUT_DIR/result.json: one entry per attempt.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from desktop_app.audio import AudioDeviceError
from desktop_app.audio.capture import AudioCapture

ATTEMPTS = {
    "nonexistent_name": {"device": "No Such Interface 9000"},
    "nonexistent_index": {"device": 4242},
    "absurd_rate": {"device": "system", "sample_rate_hz": 1_000_000},
    "other_rate": {"device": "system", "sample_rate_hz": 44100},
    "missing_channel": {"device": "system", "channel": 7},
}


def main(out_dir: Path) -> None:
    capture = AudioCapture()
    capture.open("system", channel=0)
    capture.start()
    time.sleep(0.2)
    result: dict[str, dict] = {}
    for case, kwargs in ATTEMPTS.items():
        before = capture.samples_captured
        entry: dict = {}
        try:
            capture.switch_device(**kwargs)
            entry["error"] = None
        except AudioDeviceError as exc:
            entry["error"] = type(exc).__name__
            entry["message"] = str(exc)
        time.sleep(0.15)
        entry["state"] = capture.state.value
        entry["device"] = capture.device.name
        entry["channel"] = capture.settings.channel
        entry["samples_grew"] = capture.samples_captured > before
        result[case] = entry
    capture.switch_device("system", channel=1)
    time.sleep(0.15)
    result["switch_ok"] = {"state": capture.state.value, "channel": capture.settings.channel,
                           "samples": capture.samples_captured}
    capture.close()
    (out_dir / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
