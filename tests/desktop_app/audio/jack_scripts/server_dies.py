"""Capture from a JACK server that is then killed: the state must leave RUNNING and close must work.

Usage: server_dies.py OUT_DIR JACKD_PID. Writes OUT_DIR/result.json with the states seen.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from desktop_app.audio import AudioDeviceError
from desktop_app.audio.capture import AudioCapture, CaptureConfig


def main(out_dir: Path, jackd_pid: int) -> None:
    capture = AudioCapture(CaptureConfig(stall_timeout_s=0.5))
    capture.open("system")
    capture.start()
    time.sleep(0.3)
    result = {"before": capture.state.value, "samples_before": capture.samples_captured}
    # SIGTERM, not SIGKILL: a killed jackd leaves its slot in the shared JACK server registry (8 slots)
    os.kill(jackd_pid, signal.SIGTERM)
    deadline = time.monotonic() + 5.0
    state = capture.state
    while time.monotonic() < deadline and state.value == "running":
        time.sleep(0.05)
        state = capture.state
    result["after"] = state.value
    result["samples_after"] = capture.samples_captured
    try:
        capture.switch_device("system")
        result["reopen"] = "opened"
    except AudioDeviceError as exc:
        result["reopen"] = type(exc).__name__
        result["reopen_message"] = str(exc)
    capture.close()
    result["closed"] = capture.state.value
    (out_dir / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
