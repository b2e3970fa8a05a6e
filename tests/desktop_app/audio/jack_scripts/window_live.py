"""The main window analysing live input from JACK: known notes in, the window's own analysis out.

Run by test_window_jack.py in its own process with JACK_DEFAULT_SERVER set (sounddevice binds to the
server at import). Usage: window_live.py OUT_DIR MODEL_DIR. The window is the real one (offscreen Qt),
with its real device list and AudioCapture; its input port is connected (jack_connect) to the output of
a player in this process. Writes OUT_DIR/result.json with what the window's store holds afterwards.

Signal (48 kHz): 0.5 s silence, then NOTES: harmonic plucked tones (8 partials, 1/k amplitudes,
exponential decay, 150 ms time constant, 30 ms fade-out) NOTE_SPACING_S apart, each NOTE_DURATION_S long, then 1 s of silence.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import sounddevice as sd  # noqa: E402  (after the environment is set)
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop_app.audio.devices import find_device  # noqa: E402
from desktop_app.live.model_choice import ModelCatalog  # noqa: E402
from desktop_app.main_window import MainWindow  # noqa: E402

RATE_HZ = 48000
NOTES_MIDI = (57, 60, 64, 69, 72, 67)  # A3 C4 E4 A4 C5 G4
START_S, NOTE_SPACING_S, NOTE_DURATION_S = 0.5, 0.6, 0.5
TOTAL_S = START_S + NOTE_SPACING_S * len(NOTES_MIDI) + 1.0


def make_signal() -> np.ndarray:
    signal = np.zeros(int(TOTAL_S * RATE_HZ), dtype=np.float32)
    n = int(NOTE_DURATION_S * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    envelope = np.exp(-t / 0.15) * np.minimum(1.0, t / 0.003) * np.minimum(1.0, (NOTE_DURATION_S - t) / 0.03)
    for i, midi in enumerate(NOTES_MIDI):
        f0 = 440.0 * 2.0 ** ((midi - 69) / 12)
        tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 9) if k * f0 < 7000)
        at = int((START_S + i * NOTE_SPACING_S) * RATE_HZ)
        signal[at:at + n] += (0.25 * envelope * tone).astype(np.float32)
    return signal


class Player:
    def __init__(self, signal: np.ndarray) -> None:
        self.signal, self.position, self.go = signal, 0, threading.Event()

    def callback(self, outdata, frames, time_info, status) -> None:
        outdata.fill(0)
        if self.go.is_set():
            part = self.signal[self.position:self.position + frames]
            outdata[:part.size, 0] = part
            self.position += part.size


def jack(*args: str) -> str:
    return subprocess.run(["jack_" + args[0], *args[1:]], capture_output=True, text=True, timeout=10, check=True).stdout


def pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)


def main(out_dir: Path, model_dir: Path) -> None:
    app = QApplication.instance() or QApplication([])
    window = MainWindow(catalog=ModelCatalog(bundled_dir=model_dir, scan_user=False))
    window.show()
    try:
        run(app, window, out_dir)
    finally:
        window.close()


def run(app: QApplication, window: MainWindow, out_dir: Path) -> None:
    device = find_device("system")
    index = next(i for i in range(window.device_combo.count())
                 if getattr(window.device_combo.itemData(i), "name", None) == device.name)
    window.device_combo.setCurrentIndex(index)
    before = {line.strip() for line in jack("lsp").splitlines()}
    assert window.start_live(), window.last_error
    pump(app, 0.3)
    player = Player(make_signal())
    output = sd.OutputStream(device=device.index, channels=1, samplerate=RATE_HZ, dtype="float32",
                             callback=player.callback)
    output.start()
    names = [line.strip() for line in jack("lsp").splitlines() if line.strip()]
    new = [n for n in names if n not in before and not n.startswith("system:")]
    outs = [n for n in new if ":out_" in n]
    ins = [n for n in names if not n.startswith("system:") and ":in_" in n]  # the window's input channels
    assert len(outs) == 1 and ins, names
    for port in ins:
        for line in jack("lsp", "-c", port).splitlines()[1:]:  # PortAudio auto-connects system:capture
            jack("disconnect", line.strip(), port)
        jack("connect", outs[0], port)
    pump(app, 0.2)
    player.go.set()
    pump(app, TOTAL_S + 0.8)
    window.stop_live()
    output.stop()
    output.close()
    pump(app, 0.3)
    window.redraw()
    store = window.store
    f0 = store.f0_track()
    result = {
        "played_samples": player.position,
        "tasks": list(store.tasks),
        "f0_times_s": [float(x) for x in f0.times_s],
        "f0_hz": [float(x) for x in f0.f0_hz],
        "notes": [[n.onset_s, n.offset_s, n.pitch_midi] for n in store.notes],
        "onsets_s": [float(x) for x in store.onsets_s],
        "drums": [[h.time_s, h.drum] for h in store.drums],
        "status": window.stats_label.text(),
        "last_error": window.last_error,
    }
    (out_dir / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
