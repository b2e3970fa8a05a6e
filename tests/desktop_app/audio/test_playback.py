"""FilePlayer: the heard-position formula, transport, end of file and device errors.

Two layers:
- a stand-in for sounddevice whose output stream the test drives callback by callback with chosen
  PortAudio times, so the position formula is checked with exact values;
- the real output path through the private JACK server with the dummy driver: this file doubles as the
  scenario script (``python test_playback.py OUT_DIR``, run in a fresh process whose JACK_DEFAULT_SERVER
  points at the server, since sounddevice binds to a server at import). The player's output port is
  connected to an AudioCapture input and the click train must come back in order with the right spacing,
  aligned by content (the loop delay varies run to run).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from desktop_app.audio import DeviceNotFoundError, DeviceUnavailableError, UnsupportedFormatError
from models.errors import ConfigError

RATE_HZ = 48000
SOURCE_RATE_HZ = 16000
CLICK_START_S, CLICK_SPACING_S, CLICK_COUNT, TOTAL_S = 0.3, 0.2, 8, 2.2


# --- a driven stand-in for sounddevice --------------------------------------------------------------------
class PortAudioError(Exception):
    pass


class FakeOutputStream:
    def __init__(self, **kwargs) -> None:
        self.kwargs = kwargs
        self.callback = kwargs["callback"]
        self.finished_callback = kwargs["finished_callback"]
        self.channels = kwargs["channels"]
        self.active = False
        self.closed = False
        self.latency = 0.05
        self.time = 0.0

    def start(self) -> None:
        self.active = True

    def stop(self, ignore_errors: bool = True) -> None:
        self.active = False

    def abort(self, ignore_errors: bool = True) -> None:
        self.active = False

    def close(self, ignore_errors: bool = True) -> None:
        self.active = False
        self.closed = True

    def render(self, frames: int, current_time: float, dac_time: float) -> np.ndarray:
        out = np.full((frames, self.channels), 9.0, dtype=np.float32)  # garbage the callback must overwrite
        self.callback(out, frames, SimpleNamespace(currentTime=current_time, outputBufferDacTime=dac_time),
                      SimpleNamespace(output_underflow=False, __bool__=lambda: False))
        return out

    def die(self) -> None:
        self.active = False
        self.finished_callback()


class FakeOutputPortAudio:
    """Devices: 0 = 'Mic' (input only), 1 = 'Speakers' (2 out, 48 kHz only, default), 2 = 'Mono Box' (1 out)."""

    PortAudioError = PortAudioError

    def __init__(self, devices: list[dict] | None = None) -> None:
        self.devices = devices if devices is not None else [
            {"name": "Mic", "hostapi": 0, "max_input_channels": 1, "max_output_channels": 0, "default_samplerate": 48000.0},
            {"name": "Speakers", "hostapi": 0, "max_input_channels": 0, "max_output_channels": 2, "default_samplerate": 48000.0},
            {"name": "Mono Box", "hostapi": 1, "max_input_channels": 0, "max_output_channels": 1, "default_samplerate": 48000.0},
        ]
        for index, device in enumerate(self.devices):
            device["index"] = index
        self.default = SimpleNamespace(device=[0, 1], hostapi=0)
        self.streams: list[FakeOutputStream] = []
        self.refuse_open: set[int] = set()

    def query_hostapis(self, index: int | None = None):
        apis = ({"name": "ALSA", "default_output_device": -1}, {"name": "PulseAudio", "default_output_device": -1})
        return apis if index is None else apis[index]

    def query_devices(self):
        return [dict(d) for d in self.devices]

    def check_output_settings(self, device, channels, dtype, samplerate):
        if samplerate != 48000.0:
            raise PortAudioError("Invalid sample rate", -9997)
        if channels > self.devices[device]["max_output_channels"]:
            raise PortAudioError("Invalid number of channels", -9998)

    def OutputStream(self, **kwargs):  # noqa: N802 (mirrors sounddevice)
        if kwargs["device"] in self.refuse_open:
            raise PortAudioError("Device unavailable", -9985)
        stream = FakeOutputStream(**kwargs)
        self.streams.append(stream)
        return stream


@pytest.fixture
def fake_output(monkeypatch) -> FakeOutputPortAudio:
    import desktop_app.audio.devices as devices

    fake = FakeOutputPortAudio()
    monkeypatch.setattr(devices, "portaudio", lambda: fake)
    return fake


@pytest.fixture
def player(fake_output):
    from desktop_app.audio.playback import FilePlayer

    p = FilePlayer()
    yield p
    p.close()


def ramp(seconds: float, rate_hz: int = RATE_HZ) -> np.ndarray:
    """Sample k holds k / 1e6: what was copied where is readable from the output."""
    return (np.arange(int(seconds * rate_hz)) / 1e6).astype(np.float32)


def test_output_devices_are_listed_and_found(fake_output):
    from desktop_app.audio.playback import default_output_device, find_output_device, list_output_devices

    names = [(d.index, d.label, d.max_output_channels) for d in list_output_devices()]
    assert names == [(1, "Speakers (ALSA)", 2), (2, "Mono Box (PulseAudio)", 1)]
    assert default_output_device().name == "Speakers"
    assert find_output_device("mono").index == 2
    with pytest.raises(DeviceNotFoundError, match="No Such Output 9000.*1: Speakers"):
        find_output_device("No Such Output 9000")
    with pytest.raises(DeviceNotFoundError, match="index 0"):
        find_output_device(0)  # input only


def test_position_is_what_reaches_the_dac(player, fake_output):
    player.open(ramp(1.0), RATE_HZ)
    stream = fake_output.streams[-1]
    assert player.device.name == "Speakers" and stream.channels == 2
    assert player.duration_s == 1.0 and player.position_s == 0.0
    player.play()
    out = stream.render(480, current_time=10.0, dac_time=10.02)
    np.testing.assert_array_equal(out[:, 0], ramp(1.0)[:480])
    np.testing.assert_array_equal(out[:, 1], ramp(1.0)[:480])  # mono on both channels
    assert player.output_latency_s == pytest.approx(0.02)
    stream.time = 10.01
    assert player.position_s == 0.0  # nothing has reached the speaker yet
    stream.time = 10.025
    assert player.position_s == pytest.approx(240 / RATE_HZ)  # interpolated with the stream clock
    stream.render(480, current_time=10.01, dac_time=10.03)
    stream.time = 10.035
    assert player.position_s == pytest.approx((480 + 240) / RATE_HZ)
    stream.time = 10.2  # no newer buffer: never beyond what was handed out
    assert player.position_s == pytest.approx(960 / RATE_HZ)


def test_pause_holds_the_position_once_the_played_samples_are_out(player, fake_output):
    player.open(ramp(1.0), RATE_HZ)
    stream = fake_output.streams[-1]
    player.play()
    stream.render(480, 10.0, 10.02)
    player.pause()
    assert not player.is_playing
    out = stream.render(480, 10.01, 10.03)
    assert not out.any()  # silence while paused
    stream.time = 10.025
    assert player.position_s == pytest.approx(240 / RATE_HZ)  # the last played buffer is still heard
    for t in (10.03, 10.5, 11.0):
        stream.time = t
        assert player.position_s == pytest.approx(480 / RATE_HZ)
    player.play()
    out = stream.render(480, 10.02, 10.04)
    np.testing.assert_array_equal(out[:, 0], ramp(1.0)[480:960])  # resumes where it paused
    stream.time = 10.045
    assert player.position_s == pytest.approx(720 / RATE_HZ)


def test_seek_jumps_at_once_while_playing_and_paused(player, fake_output):
    player.open(ramp(1.0), RATE_HZ)
    stream = fake_output.streams[-1]
    player.play()
    stream.render(480, 10.0, 10.02)
    stream.time = 10.025
    assert player.seek(0.5) == 0.5
    assert player.position_s == 0.5  # the old audio is still in flight; the playhead jumps anyway
    out = stream.render(480, 10.01, 10.03)
    np.testing.assert_array_equal(out[:, 0], ramp(1.0)[24000:24480])
    stream.time = 10.035
    assert player.position_s == pytest.approx(0.5 + 240 / RATE_HZ)
    player.pause()
    stream.render(480, 10.02, 10.04)
    assert player.seek(-3.0) == 0.0  # clamped
    assert player.position_s == 0.0 and not player.is_playing
    assert player.seek(7.0) == 1.0
    assert player.position_s == 1.0
    with pytest.raises(ConfigError, match="finite number of seconds"):
        player.seek(float("nan"))


def test_end_of_file_fills_zeros_then_finishes_once(player, fake_output):
    from desktop_app.audio.playback import PlaybackState

    player.open(ramp(0.015), RATE_HZ)  # 720 samples
    stream = fake_output.streams[-1]
    player.play()
    stream.render(480, 10.0, 10.02)
    out = stream.render(480, 10.01, 10.03)
    np.testing.assert_array_equal(out[:240, 0], ramp(0.015)[480:720])
    assert not out[240:].any()
    assert not player.is_playing  # the end was handed out
    stream.time = 10.032
    assert not player.finished and not player.take_finished()  # the last 240 samples are still in flight
    stream.time = 10.04
    assert player.finished and player.state is PlaybackState.FINISHED
    assert player.position_s == player.duration_s == 0.015
    assert player.take_finished() and not player.take_finished()
    player.play()  # at the end: from the start again
    assert player.position_s == 0.0 and player.is_playing
    out = stream.render(480, 10.02, 10.05)
    np.testing.assert_array_equal(out[:, 0], ramp(0.015)[:480])


def test_refused_rate_is_resampled_and_stereo_is_mixed_for_a_mono_device(player, fake_output):
    t = np.arange(SOURCE_RATE_HZ) / SOURCE_RATE_HZ
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.zeros_like(t)]).astype(np.float32)
    player.open(stereo, SOURCE_RATE_HZ, device="Mono Box")
    stream = fake_output.streams[-1]
    assert player.sample_rate_hz == 48000.0 and stream.kwargs["samplerate"] == 48000.0 and stream.channels == 1
    assert player.duration_s == pytest.approx(1.0, abs=1e-3)
    player.play()
    out = stream.render(4800, 1.0, 1.01)[:, 0]
    assert 0.45 < np.max(np.abs(out[1000:])) < 0.55  # mean of the 0.5-free sine and silence


def test_errors_name_the_device_and_keep_the_previous_file(player, fake_output):
    from desktop_app.audio.playback import PlaybackState

    player.open(ramp(1.0), RATE_HZ)
    player.seek(0.25)
    fake_output.refuse_open.add(2)
    with pytest.raises(DeviceUnavailableError, match=r"Mono Box \(PulseAudio\).*in use by another program"):
        player.open(ramp(3.0), RATE_HZ, device="Mono Box")
    assert player.device.name == "Speakers" and player.duration_s == 1.0  # the previous file is back
    assert player.position_s == 0.25 and player.state is PlaybackState.PAUSED
    with pytest.raises(DeviceNotFoundError, match="No Such Output 9000"):
        player.open(ramp(3.0), RATE_HZ, device="No Such Output 9000")
    assert player.duration_s == 1.0
    with pytest.raises(ConfigError, match=r"\(channels, samples\).*audio.T"):
        player.open(np.zeros((48000, 2), np.float32), RATE_HZ)
    with pytest.raises(ConfigError, match="sample_rate_hz"):
        player.open(ramp(1.0), 0)
    fake_output.devices[1]["default_samplerate"] = 44100.0  # refuses both 44.1 kHz and the file's rate
    with pytest.raises(UnsupportedFormatError, match="refuses the sample rate 44100 Hz"):
        player.open(ramp(1.0), 44100)


def test_no_output_device_at_all(fake_output):
    from desktop_app.audio.playback import FilePlayer, NoOutputDeviceError

    fake_output.devices[:] = fake_output.devices[:1]
    with pytest.raises(NoOutputDeviceError, match="no audio output device"):
        FilePlayer().open(ramp(1.0), RATE_HZ)


def test_a_stream_that_dies_is_reported(player, fake_output):
    from desktop_app.audio.playback import PlaybackState

    player.open(ramp(1.0), RATE_HZ)
    player.play()
    fake_output.streams[-1].die()
    assert player.state is PlaybackState.DIED
    with pytest.raises(DeviceUnavailableError, match=r"Speakers \(ALSA\) stopped responding"):
        player.play()
    player.close()
    assert player.state is PlaybackState.CLOSED
    with pytest.raises(DeviceUnavailableError, match="open a file before pressing play"):
        player.play()


# --- the real output path through JACK ----------------------------------------------------------------------
def make_clicks() -> np.ndarray:
    """16 kHz mono: CLICK_COUNT 2 ms Hann-windowed 3 kHz bursts CLICK_SPACING_S apart from CLICK_START_S."""
    signal = np.zeros(int(TOTAL_S * SOURCE_RATE_HZ), dtype=np.float32)
    count = int(0.002 * SOURCE_RATE_HZ)
    burst = 0.8 * np.hanning(count) * np.sin(2 * np.pi * 3000.0 * np.arange(count) / SOURCE_RATE_HZ)
    for k in range(CLICK_COUNT):
        at = int(round((CLICK_START_S + k * CLICK_SPACING_S) * SOURCE_RATE_HZ))
        signal[at : at + count] = burst
    return signal


def _onsets(signal: np.ndarray, threshold: float, refractory_samples: int) -> list[int]:
    found: list[int] = []
    position = 0
    while True:
        above = np.flatnonzero(np.abs(signal[position:]) > threshold)
        if not above.size:
            return found
        found.append(position + int(above[0]))
        position = found[-1] + refractory_samples


def test_clicks_played_through_jack_come_back_and_the_position_follows(jack_server, tmp_path):
    completed = subprocess.run(
        [sys.executable, __file__, str(tmp_path)], env=jack_server.env, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, f"scenario failed:\n{completed.stdout}\n{completed.stderr}"
    result = json.loads((tmp_path / "result.json").read_text())
    print("output latency", result["output_latency_s"], "playhead minus capture (ms)", result["playhead_minus_capture_ms"])
    assert result["device"] == "system (JACK Audio Connection Kit)" and result["rate_hz"] == RATE_HZ
    assert result["duration_s"] == pytest.approx(TOTAL_S, abs=1e-3)
    assert result["callback_errors"] == 0

    captured = np.load(tmp_path / "captured_48k.npy")
    onsets = _onsets(captured, 0.1, int(0.1 * RATE_HZ))
    assert len(onsets) == CLICK_COUNT, f"click onsets at {np.array(onsets) / RATE_HZ}"
    np.testing.assert_allclose(np.diff(onsets) / RATE_HZ, CLICK_SPACING_S, atol=0.001)
    assert np.max(np.abs(captured[: max(0, onsets[0] - int(0.01 * RATE_HZ))])) < 0.02  # silence before

    positions = np.array(result["positions_s"])
    assert positions.size > 50
    assert np.all(np.diff(positions) >= 0.0), "the heard position went backwards while playing"
    assert positions[-1] == pytest.approx(TOTAL_S, abs=1e-3) and result["finished"]
    assert result["take_finished"] == [True, False]

    assert result["seek_paused_s"] == 0.5
    assert result["paused_a_s"] == result["paused_b_s"]  # no advance while paused
    assert 0.5 < result["paused_a_s"] < TOTAL_S
    assert result["seek_playing_s"] == 1.5  # jumps at once while playing
    assert result["after_seek_playing_s"] > 1.5
    assert result["bad_device"][0] == "DeviceNotFoundError" and "No Such Output 9000" in result["bad_device"][1]
    assert result["after_bad_device"] == ["paused", pytest.approx(TOTAL_S, abs=1e-3)]
    assert result["state_after_close"] == "closed"


def _scenario(out_dir: Path) -> None:
    import threading
    import time

    from desktop_app.audio import AudioDeviceError
    from desktop_app.audio.capture import AudioCapture
    from desktop_app.audio.playback import FilePlayer

    def jack(*args: str) -> str:
        return subprocess.run(["jack_" + args[0], *args[1:]], capture_output=True, text=True, timeout=10,
                              check=True).stdout

    capture = AudioCapture()
    capture.open("system", channel=0)
    capture.start()
    player = FilePlayer()
    player.open(make_clicks(), SOURCE_RATE_HZ, device="system")
    names = [line.strip() for line in jack("lsp").splitlines() if line.strip()]
    out_port = sorted(n for n in names if not n.startswith("system:") and ":out_" in n)[0]
    in_port = [n for n in names if not n.startswith("system:") and ":in_" in n][0]
    for line in jack("lsp", "-c", in_port).splitlines()[1:]:  # PortAudio auto-connects system:capture
        jack("disconnect", line.strip(), in_port)
    jack("connect", out_port, in_port)
    time.sleep(0.1)
    capture.read()  # what came before the connection

    pieces: list[np.ndarray] = []
    first_indices: list[int] = []
    stop_reading = threading.Event()

    def reader() -> None:
        while not stop_reading.is_set():
            samples, first, _ = capture.read()
            if samples.size:
                pieces.append(samples)
                first_indices.append(first)
            time.sleep(0.01)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    positions: list[float] = []
    times: list[float] = []
    player.play()
    deadline = time.monotonic() + TOTAL_S + 2.0
    while time.monotonic() < deadline and not player.finished:
        positions.append(player.position_s)
        times.append(time.monotonic())
        time.sleep(0.01)
    positions.append(player.position_s)
    time.sleep(0.2)
    stop_reading.set()
    thread.join()
    result: dict = {
        "device": player.device.label,
        "rate_hz": player.sample_rate_hz,
        "duration_s": player.duration_s,
        "output_latency_s": player.output_latency_s,
        "positions_s": positions,
        "finished": player.finished,
        "take_finished": [player.take_finished(), player.take_finished()],
    }
    # measured, not asserted: when the playhead showed each click minus when the capture callback got it
    captured = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    lags_ms = []
    if pieces and first_indices[-1] - first_indices[0] == captured.size - pieces[-1].size:  # no gap
        for k, onset in enumerate(_onsets(captured, 0.1, int(0.1 * RATE_HZ))):
            shown_at = np.interp(CLICK_START_S + k * CLICK_SPACING_S, positions[:-1], times)
            lags_ms.append(1000.0 * (shown_at - capture.capture_time_s(first_indices[0] + onset)))
    result["playhead_minus_capture_ms"] = lags_ms
    result["seek_paused_s"] = player.seek(0.5) and player.position_s
    player.play()
    time.sleep(0.4)
    player.pause()
    time.sleep(0.3)
    result["paused_a_s"] = player.position_s
    time.sleep(0.3)
    result["paused_b_s"] = player.position_s
    player.play()
    time.sleep(0.1)
    player.seek(1.5)
    result["seek_playing_s"] = player.position_s
    time.sleep(0.2)
    result["after_seek_playing_s"] = player.position_s
    player.pause()
    player.seek(TOTAL_S)
    try:
        player.open(make_clicks(), SOURCE_RATE_HZ, device="No Such Output 9000")
        result["bad_device"] = [None, ""]
    except AudioDeviceError as exc:
        result["bad_device"] = [type(exc).__name__, str(exc)]
    result["after_bad_device"] = [player.state.value, player.position_s]
    result["callback_errors"] = player.callback_error_count
    result["underflows"] = player.underflow_count
    player.close()
    result["state_after_close"] = player.state.value
    capture.close()
    np.save(out_dir / "captured_48k.npy", captured)
    (out_dir / "result.json").write_text(json.dumps(result))


def test_a_jack_server_that_dies_is_reported_and_the_player_stays_usable(private_jack_server, tmp_path):
    completed = subprocess.run(
        [sys.executable, __file__, str(tmp_path), str(private_jack_server.process.pid)],
        env=private_jack_server.env, capture_output=True, text=True, timeout=60,
    )
    assert completed.returncode == 0, f"scenario failed:\n{completed.stdout}\n{completed.stderr}"
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["before"] == "playing"
    assert result["after"] in ("died", "stalled")
    assert result["play"][0] == "DeviceUnavailableError" and "system (JACK Audio Connection Kit)" in result["play"][1]
    assert result["reopen"][0] == "DeviceUnavailableError", result["reopen"]
    assert isinstance(result["position_s"], float)
    assert result["closed"] == "closed"


def _scenario_server_dies(out_dir: Path, jackd_pid: int) -> None:
    import os
    import signal
    import time

    from desktop_app.audio import AudioDeviceError
    from desktop_app.audio.playback import FilePlayer, PlaybackConfig

    def attempt(action) -> list:
        try:
            action()
            return [None, ""]
        except AudioDeviceError as exc:
            return [type(exc).__name__, str(exc)]

    player = FilePlayer(PlaybackConfig(stall_timeout_s=0.5))
    player.open(np.zeros(10 * RATE_HZ, np.float32), RATE_HZ, device="system")
    player.play()
    time.sleep(0.3)
    result: dict = {"before": player.state.value}
    os.kill(jackd_pid, signal.SIGTERM)  # SIGTERM: a killed jackd leaves its slot in JACK's server registry
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and player.state.value == "playing":
        time.sleep(0.05)
    result["after"] = player.state.value
    result["position_s"] = player.position_s
    result["play"] = attempt(player.play)
    result["reopen"] = attempt(lambda: player.open(np.zeros(RATE_HZ, np.float32), RATE_HZ, device="system"))
    player.close()
    result["closed"] = player.state.value
    (out_dir / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) > 2:
        _scenario_server_dies(Path(sys.argv[1]), int(sys.argv[2]))
    else:
        _scenario(Path(sys.argv[1]))
