"""Fixtures for the live-input tests.

- ``fake_portaudio``: a stand-in for the ``sounddevice`` module (fixed devices, streams whose callback
  the test drives), patched into desktop_app.audio so device logic is tested without any sound card.
- ``jack_server``: a private JACK server with the dummy driver for the whole session, and
  ``run_jack_script``, which runs a test body in a fresh Python process whose JACK_DEFAULT_SERVER points
  at it (sounddevice binds to a JACK server when PortAudio initialises, at its first import, so the
  environment must be set before that import: a subprocess per scenario is the robust way).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

SCRIPTS_DIR = Path(__file__).resolve().parent / "jack_scripts"


class PortAudioError(Exception):
    pass


class FakeFlags:
    def __init__(self, input_overflow: bool = False, input_underflow: bool = False) -> None:
        self.input_overflow = input_overflow
        self.input_underflow = input_underflow

    def __bool__(self) -> bool:
        return self.input_overflow or self.input_underflow


class FakeStream:
    def __init__(self, owner: FakePortAudio, **kwargs) -> None:
        self.owner = owner
        self.kwargs = kwargs
        self.callback = kwargs["callback"]
        self.finished_callback = kwargs["finished_callback"]
        self.active = False
        self.closed = False
        self.latency = 0.0125

    def start(self) -> None:
        self.active = True

    def stop(self, ignore_errors: bool = True) -> None:
        self.active = False

    def abort(self, ignore_errors: bool = True) -> None:
        self.active = False

    def close(self, ignore_errors: bool = True) -> None:
        self.active = False
        self.closed = True

    def feed(self, indata: np.ndarray, flags: FakeFlags | None = None) -> None:
        self.callback(np.asarray(indata, dtype=np.float32), indata.shape[0], None, flags or FakeFlags())

    def die(self) -> None:
        """What PortAudio does when the device disappears: the stream ends by itself."""
        self.active = False
        self.finished_callback()


class FakePortAudio:
    """Devices: 0 = output only, 1 = 'USB Mic' (1 in, 44.1 kHz), 2 = 'Interface' (4 in, 48 kHz, default)."""

    PortAudioError = PortAudioError
    Flags = FakeFlags

    def __init__(self, devices: list[dict] | None = None, default_input: int = 2) -> None:
        self.devices = devices if devices is not None else [
            {"name": "HDMI out", "hostapi": 0, "max_input_channels": 0, "default_samplerate": 48000.0},
            {"name": "USB Mic", "hostapi": 0, "max_input_channels": 1, "default_samplerate": 44100.0},
            {"name": "Interface", "hostapi": 1, "max_input_channels": 4, "default_samplerate": 48000.0},
        ]
        for index, device in enumerate(self.devices):
            device["index"] = index
        self.default = SimpleNamespace(device=[default_input, default_input], hostapi=0)
        self.streams: list[FakeStream] = []
        self.refuse_open: set[int] = set()  # device indices whose InputStream() fails (busy)

    def query_hostapis(self, index: int | None = None):
        apis = (
            {"name": "ALSA", "default_input_device": -1},
            {"name": "JACK Audio Connection Kit", "default_input_device": -1},
        )
        return apis if index is None else apis[index]

    def query_devices(self):
        return [dict(d) for d in self.devices]

    def check_input_settings(self, device, channels, dtype, samplerate):
        info = self.devices[device]
        if samplerate not in (44100.0, 48000.0):
            raise PortAudioError("Invalid sample rate", -9997)
        if channels > info["max_input_channels"]:
            raise PortAudioError("Invalid number of channels", -9998)

    def InputStream(self, **kwargs):  # noqa: N802 (mirrors sounddevice)
        if kwargs["device"] in self.refuse_open:
            raise PortAudioError("Device unavailable", -9985)
        stream = FakeStream(self, **kwargs)
        self.streams.append(stream)
        return stream


@pytest.fixture
def fake_portaudio(monkeypatch) -> FakePortAudio:
    import desktop_app.audio.capture as capture
    import desktop_app.audio.devices as devices

    fake = FakePortAudio()
    monkeypatch.setattr(devices, "portaudio", lambda: fake)
    monkeypatch.setattr(capture, "portaudio", lambda: fake)
    return fake


# --- a real JACK server with the dummy driver -------------------------------------------------------
JACK_RATE_HZ = 48000
JACK_PERIOD_SAMPLES = 512


@dataclass(frozen=True)
class JackServer:
    name: str
    env: dict[str, str]
    process: subprocess.Popen

    def ports(self) -> str:
        return subprocess.run(["jack_lsp", "-c"], env=self.env, capture_output=True, text=True, timeout=10).stdout


def _jack_env(name: str) -> dict[str, str]:
    env = dict(os.environ)
    env["JACK_DEFAULT_SERVER"] = name
    env["JACK_NO_START_SERVER"] = "1"  # a client must never spawn a server of its own
    env["JACK_NO_AUDIO_RESERVATION"] = "1"  # no D-Bus device reservation for a dummy server
    return env


def start_jack_server(log_path: Path) -> JackServer:
    """Start ``jackd -n <unique> --no-realtime -d dummy``; skips the test when JACK is unavailable."""
    for program in ("jackd", "jack_lsp", "jack_connect"):
        if shutil.which(program) is None:
            pytest.skip(f"{program} is not installed (sudo apt-get install jackd2)")
    name = f"featherlight_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    env = _jack_env(name)
    log_file = open(log_path, "w")
    process = subprocess.Popen(
        ["jackd", "-n", name, "--no-realtime", "-d", "dummy", "-r", str(JACK_RATE_HZ), "-p", str(JACK_PERIOD_SAMPLES)],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    log_file.close()
    server = JackServer(name, env, process)
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if "system:capture_1" in server.ports():
                return server
        except subprocess.TimeoutExpired:
            pass
        time.sleep(0.2)
    stop_jack_server(server)
    pytest.skip(f"jackd did not start (log: {log_path.read_text()[-500:]!r})")


def stop_jack_server(server: JackServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)
    shm = Path("/dev/shm")  # semaphores of clients that died with the server (names carry our unique name)
    if shm.is_dir():
        for leftover in shm.glob(f"jack*_{server.name}_*"):
            leftover.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def jack_server(tmp_path_factory) -> JackServer:
    server = start_jack_server(tmp_path_factory.mktemp("jack") / "jackd.log")
    yield server
    stop_jack_server(server)


def run_script(server: JackServer, script: str, out_dir: Path, *args: str, timeout_s: float = 120.0) -> dict:
    """Run ``jack_scripts/<script>`` against ``server``; return the JSON it wrote to out_dir/result.json."""
    result_path = out_dir / "result.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPTS_DIR / script), str(out_dir), *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    assert completed.returncode == 0, f"{script} failed (rc {completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
    return json.loads(result_path.read_text())


@pytest.fixture
def run_jack_script(jack_server, tmp_path):
    def run(script: str, *args: str, timeout_s: float = 120.0) -> dict:
        return run_script(jack_server, script, tmp_path, *args, timeout_s=timeout_s)

    return run


@pytest.fixture
def private_jack_server(tmp_path) -> JackServer:
    """A JACK server of the test's own, for scenarios that kill it."""
    server = start_jack_server(tmp_path / "private_jackd.log")
    yield server
    stop_jack_server(server)


@pytest.fixture
def run_script_on(tmp_path):
    def run(server: JackServer, script: str, *args: str, timeout_s: float = 120.0) -> dict:
        return run_script(server, script, tmp_path, *args, timeout_s=timeout_s)

    return run
