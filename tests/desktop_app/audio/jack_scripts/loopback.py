"""Play a known signal into the capture input through JACK and save what AudioCapture delivers.

Run by test_capture_jack.py in its own process with JACK_DEFAULT_SERVER set (sounddevice binds to the
server at import). Usage: loopback.py OUT_DIR. Writes OUT_DIR/captured_16k.npy and OUT_DIR/result.json.

Signal (48 kHz, played once after the ports are connected): 0.3 s silence, 0.8 s of 440 Hz, 0.4 s
silence, then 6 clicks 0.25 s apart (2 ms Hann-windowed 3 kHz bursts), then silence.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import sounddevice as sd

from desktop_app.audio.capture import AudioCapture
from desktop_app.audio.devices import find_device, list_input_devices

RATE_HZ = 48000
TONE_HZ = 440.0
TONE_START_S, TONE_DURATION_S = 0.3, 0.8
CLICK_START_S, CLICK_SPACING_S, CLICK_COUNT = 1.5, 0.25, 6
TOTAL_S = 3.2


def make_signal() -> np.ndarray:
    signal = np.zeros(int(TOTAL_S * RATE_HZ), dtype=np.float32)
    begin = int(TONE_START_S * RATE_HZ)
    count = int(TONE_DURATION_S * RATE_HZ)
    ramp = np.minimum(1.0, np.minimum(np.arange(count), np.arange(count)[::-1]) / 480.0)  # 10 ms fades
    signal[begin : begin + count] = 0.5 * ramp * np.sin(2 * np.pi * TONE_HZ * np.arange(count) / RATE_HZ)
    burst_count = int(0.002 * RATE_HZ)
    burst = 0.8 * np.hanning(burst_count) * np.sin(2 * np.pi * 3000.0 * np.arange(burst_count) / RATE_HZ)
    for k in range(CLICK_COUNT):
        at = int(round((CLICK_START_S + k * CLICK_SPACING_S) * RATE_HZ))
        signal[at : at + burst_count] = burst
    return signal


class Player:
    """An output stream that plays zeros until ``go`` is set, then the signal once."""

    def __init__(self, signal: np.ndarray) -> None:
        self.signal = signal
        self.position = 0
        self.go = threading.Event()

    def callback(self, outdata, frames, time_info, status) -> None:
        outdata.fill(0)
        if not self.go.is_set():
            return
        part = self.signal[self.position : self.position + frames]
        outdata[: part.size, 0] = part
        self.position += part.size


def jack(*args: str) -> str:
    return subprocess.run(["jack_" + args[0], *args[1:]], capture_output=True, text=True, timeout=10, check=True).stdout


def own_ports() -> tuple[str, str]:
    """(our output port, our capture input port): the non-system ports of this process's client."""
    names = [line.strip() for line in jack("lsp").splitlines() if line.strip()]
    outs = [n for n in names if not n.startswith("system:") and ":out_" in n]
    ins = [n for n in names if not n.startswith("system:") and ":in_" in n]
    assert len(outs) == 1 and len(ins) == 1, names
    return outs[0], ins[0]


def main(out_dir: Path) -> None:
    devices = list_input_devices()
    device = find_device("system")
    capture = AudioCapture()
    capture.open(device, channel=0)  # the device's own rate
    capture.start()
    player = Player(make_signal())
    output = sd.OutputStream(device=device.index, channels=1, samplerate=RATE_HZ, dtype="float32", callback=player.callback)
    output.start()
    out_port, in_port = own_ports()
    for line in jack("lsp", "-c", in_port).splitlines()[1:]:  # PortAudio auto-connects system:capture
        jack("disconnect", line.strip(), in_port)
    jack("connect", out_port, in_port)
    resampler = capture.make_resampler(16000)
    pieces: list[np.ndarray] = []
    first_out_index = None
    block_indices: list[int] = []
    time.sleep(0.05)
    capture.read()  # discard what came before the connection
    player.go.set()
    deadline = time.monotonic() + TOTAL_S + 1.0
    while time.monotonic() < deadline:
        samples, first, _ = capture.read()
        if samples.size:
            block_indices.append(first)
            out, out_first = resampler.process(samples, first)
            if first_out_index is None:
                first_out_index = out_first
            pieces.append(out)
        time.sleep(0.02)
    tail, _ = resampler.flush()
    state_while_running = capture.state.value
    output.stop()
    output.close()
    captured = np.concatenate(pieces + [tail])
    np.save(out_dir / "captured_16k.npy", captured)
    result = {
        "devices": [[d.name, d.host_api, d.max_input_channels, d.default_samplerate_hz] for d in devices],
        "sample_rate_hz": capture.sample_rate_hz,
        "state": state_while_running,
        "samples_captured": capture.samples_captured,
        "overflow_count": capture.overflow_count,
        "lost_samples": capture.lost_samples,
        "callback_errors": capture.callback_error_count,
        "latency_s": capture.latency_s,
        "first_out_index": first_out_index,
        "resampler_gaps": resampler.gap_count,
        "played_samples": player.position,
    }
    capture.close()
    result["state_after_close"] = capture.state.value
    (out_dir / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
