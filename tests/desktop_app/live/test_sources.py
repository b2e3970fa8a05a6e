"""FileAudioSource: pacing by an injected clock, as-fast-as-read delivery, overflow, loading, errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from desktop_app.live.sources import AudioSource, FileAudioSource
from models.errors import ConfigError, SampleRateError, UnreadableAudioError


class FakeClock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_realtime_pacing_follows_the_clock():
    clock = FakeClock()
    x = np.arange(16000, dtype=np.float32)
    src = FileAudioSource(x, 16000, clock=clock)
    assert isinstance(src, AudioSource)
    block, first, t = src.read(1000)  # starts the clock: nothing has arrived yet
    assert block.size == 0 and first == 0 and t == 100.0
    clock.t += 0.0101  # 161.6 samples have arrived
    block, first, t = src.read(1000)
    assert block.size == 161 and first == 0 and t == 100.0
    np.testing.assert_array_equal(block, x[:161])
    clock.t += 0.5
    block, first, t = src.read(100)  # max_samples caps the block
    assert (block.size, first, t) == (100, 161, pytest.approx(100.0 + 161 / 16000))
    block, first, _ = src.read(10**6)
    assert first == 261 and block.size == int(np.floor(0.5101 * 16000)) - 261
    clock.t += 10.0
    block, first, _ = src.read(10**6)
    assert first + block.size == 16000 and src.at_end and src.overflow_count == 0
    assert src.read(10)[0].size == 0


def test_not_realtime_delivers_everything_at_once():
    clock = FakeClock(5.0)
    src = FileAudioSource(np.ones(1000, np.float32), 8000, realtime=False, clock=clock)
    sizes = []
    while not src.at_end:
        block, first, t = src.read(300)
        sizes.append((first, block.size, t))
    assert sizes == [(0, 300, 5.0 - 299 / 8000), (300, 300, 5.0 - 299 / 8000), (600, 300, 5.0 - 299 / 8000),
                     (900, 100, 5.0 - 99 / 8000)]
    assert src.duration_s == 0.125 and src.sample_rate_hz == 8000
    src.rewind()
    assert src.position == 0 and src.read(2000)[0].size == 1000


def test_unread_samples_overflow_the_buffer():
    clock = FakeClock()
    src = FileAudioSource(np.arange(10000, dtype=np.float32), 1000, buffer_s=0.5, clock=clock)
    src.start()
    clock.t += 2.0  # 2000 samples arrived, only 500 fit
    block, first, t = src.read(10**6)
    assert (first, block.size, src.overflow_count, src.dropped_samples) == (1500, 500, 1, 1500)
    assert block[0] == 1500.0 and t == pytest.approx(101.5)
    clock.t += 0.3
    block, first, _ = src.read(10**6)
    assert (first, block.size, src.overflow_count) == (2000, 300, 1)


def test_from_file_at_native_and_given_rate(tmp_path):
    path = tmp_path / "tone.wav"
    t = np.arange(22050) / 22050
    sf.write(path, np.stack([np.sin(2 * np.pi * 440 * t)] * 2, axis=1).astype(np.float32), 22050)
    src = FileAudioSource.from_file(path, realtime=False)
    assert src.sample_rate_hz == 22050 and src.read(10**6)[0].size == 22050
    src16 = FileAudioSource.from_file(path, sample_rate_hz=16000, realtime=False)
    assert src16.sample_rate_hz == 16000 and abs(src16.read(10**6)[0].size - 16000) <= 1
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    with pytest.raises(UnreadableAudioError, match="bad.wav"):
        FileAudioSource.from_file(bad)


def test_bad_arguments_name_the_value():
    with pytest.raises(ConfigError, match=r"shape \(2, 10\)"):
        FileAudioSource(np.zeros((2, 10)), 16000)
    with pytest.raises(SampleRateError, match="-5"):
        FileAudioSource(np.zeros(10), -5)
    with pytest.raises(ConfigError, match="buffer_s"):
        FileAudioSource(np.zeros(10), 16000, buffer_s=0)
    with pytest.raises(ConfigError, match="max_samples"):
        FileAudioSource(np.zeros(10), 16000).read(-1)
