"""AudioCapture on a fake PortAudio (callback driven by the test) and the consumer-side Resampler."""

from __future__ import annotations

import time

import numpy as np
import pytest

from desktop_app.audio import DeviceNotFoundError, DeviceUnavailableError, UnsupportedFormatError
from desktop_app.audio.capture import AudioCapture, CaptureConfig, CaptureState, Resampler
from models.errors import ConfigError


def _frames(*columns: list[float]) -> np.ndarray:
    return np.array(columns, dtype=np.float32).T.copy()


def test_open_uses_device_rate_and_mixes_channels(fake_portaudio):
    capture = AudioCapture()
    settings = capture.open("Interface")
    assert capture.sample_rate_hz == 48000.0 and settings.stream_channels == 2  # mix of the first 2
    assert capture.state is CaptureState.STOPPED
    capture.start()
    stream = fake_portaudio.streams[-1]
    assert stream.kwargs["samplerate"] == 48000.0 and stream.kwargs["dtype"] == "float32"
    stream.feed(_frames([1.0, 0.5, 0.0], [0.0, 0.5, -1.0]))
    samples, first, capture_time_s = capture.read()
    assert first == 0 and samples.tolist() == [0.5, 0.5, -0.5]
    assert capture.samples_captured == 3 and capture.state is CaptureState.RUNNING
    assert abs(capture_time_s - (time.monotonic() - 3 / 48000.0)) < 5.0
    assert capture.latency_s == 0.0125


def test_channel_choice_copies_that_channel(fake_portaudio):
    capture = AudioCapture()
    settings = capture.open("Interface", channel=2)
    assert settings.stream_channels == 3
    capture.start()
    fake_portaudio.streams[-1].feed(_frames([1, 2], [3, 4], [5, 6]))
    samples, first, _ = capture.read()
    assert samples.tolist() == [5.0, 6.0] and first == 0


def test_blocks_larger_than_scratch_are_mixed_in_slices(fake_portaudio):
    capture = AudioCapture(CaptureConfig(scratch_samples=64))
    capture.open("Interface")
    capture.start()
    left = np.arange(200, dtype=np.float32)
    fake_portaudio.streams[-1].feed(np.stack([left, -left + 2], axis=1))
    samples, first, _ = capture.read()
    np.testing.assert_array_equal(samples, np.ones(200, dtype=np.float32))


def test_status_flags_and_callback_errors_are_counted_not_raised(fake_portaudio):
    capture = AudioCapture()
    capture.open("USB Mic")
    capture.start()
    stream = fake_portaudio.streams[-1]
    stream.feed(np.zeros((4, 1)), fake_portaudio.Flags(input_overflow=True))
    stream.feed(np.zeros((4, 1)))
    stream.callback("not an array", 4, None, fake_portaudio.Flags())  # must not raise
    assert capture.portaudio_overflow_count == 1
    assert capture.overflow_count == 1
    assert capture.callback_error_count == 1 and capture.dropped_block_count == 1
    assert capture.samples_captured == 8


def test_ring_overflow_is_counted_with_portaudio_flags(fake_portaudio):
    capture = AudioCapture(CaptureConfig(ring_duration_s=0.001))  # 44 samples at 44.1 kHz
    capture.open("USB Mic")
    capture.start()
    stream = fake_portaudio.streams[-1]
    for _ in range(3):
        stream.feed(np.ones((30, 1)))
    assert capture.overflow_count == 2
    samples, first, _ = capture.read()
    assert first == 90 - 44 and samples.size == 44 and capture.lost_samples == 46


def test_bad_rate_and_channel_are_refused_before_touching_the_running_stream(fake_portaudio):
    capture = AudioCapture()
    capture.open("USB Mic")
    capture.start()
    running = fake_portaudio.streams[-1]
    with pytest.raises(UnsupportedFormatError, match=r"USB Mic \(ALSA\) refuses the sample rate 12345 Hz.*own rate \(44100 Hz\)"):
        capture.open("USB Mic", sample_rate_hz=12345)
    with pytest.raises(UnsupportedFormatError, match=r"channel 4 does not exist on Interface .*0\.\.3"):
        capture.open("Interface", channel=4)
    with pytest.raises(UnsupportedFormatError, match=r"sample rate -1"):
        capture.open("USB Mic", sample_rate_hz=-1)
    with pytest.raises(UnsupportedFormatError, match=r"block size -256"):
        capture.open("USB Mic", block_size_samples=-256)
    with pytest.raises(DeviceNotFoundError, match="'Theremin'"):
        capture.open("Theremin")
    assert len(fake_portaudio.streams) == 1 and running.active and not running.closed
    assert capture.state is CaptureState.RUNNING and capture.device.name == "USB Mic"


def test_switch_device_restores_previous_when_new_one_is_busy(fake_portaudio):
    capture = AudioCapture()
    capture.open("USB Mic")
    capture.start()
    fake_portaudio.refuse_open.add(2)
    with pytest.raises(DeviceUnavailableError, match=r"Interface .*could not be opened .*in use by another program"):
        capture.switch_device("Interface")
    assert capture.device.name == "USB Mic" and capture.state is CaptureState.RUNNING
    restored = fake_portaudio.streams[-1]
    assert restored.kwargs["device"] == 1 and restored.active
    assert fake_portaudio.streams[0].closed  # the old stream was released before trying the new device
    fake_portaudio.refuse_open.clear()
    capture.switch_device("Interface", channel=1)
    assert capture.device.name == "Interface" and capture.state is CaptureState.RUNNING


def test_stopped_stream_stays_stopped_after_switch(fake_portaudio):
    capture = AudioCapture()
    capture.open("USB Mic")
    capture.switch_device("Interface")
    assert capture.state is CaptureState.STOPPED


def test_dead_and_stalled_streams_are_reported(fake_portaudio):
    capture = AudioCapture(CaptureConfig(stall_timeout_s=0.05))
    capture.open("USB Mic")
    capture.start()
    stream = fake_portaudio.streams[-1]
    stream.feed(np.zeros((8, 1)))
    assert capture.state is CaptureState.RUNNING
    time.sleep(0.1)  # no callback for longer than stall_timeout_s
    assert capture.state is CaptureState.STALLED
    stream.feed(np.zeros((8, 1)))
    assert capture.is_running
    stream.die()
    assert capture.state is CaptureState.DIED
    capture.close()
    assert capture.state is CaptureState.CLOSED and stream.closed


def test_read_and_start_without_device_name_the_fix(fake_portaudio):
    capture = AudioCapture()
    with pytest.raises(DeviceUnavailableError, match="open one"):
        capture.read()
    with pytest.raises(DeviceUnavailableError, match="open one"):
        capture.start()


def test_config_is_validated():
    with pytest.raises(ConfigError, match="ring_duration_s"):
        CaptureConfig(ring_duration_s=0)


# --- the resampler -----------------------------------------------------------------------------------
def _tone(frequency_hz: float, rate_hz: float, count: int, start: int = 0) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * frequency_hz * (np.arange(count) + start) / rate_hz)).astype(np.float32)


def test_resampler_keeps_time_alignment_across_blocks():
    resampler = Resampler(48000, 16000)
    signal = _tone(440.0, 48000, 48000)
    pieces, firsts = [], []
    for begin in range(0, 48000, 700):
        out, first = resampler.process(signal[begin : begin + 700], begin)
        pieces.append(out)
        firsts.append(first)
    tail, tail_first = resampler.flush()
    output = np.concatenate(pieces + [tail])
    assert firsts[0] == 0 and output.size == 16000
    expected = _tone(440.0, 16000, 16000)
    np.testing.assert_allclose(output[200:-200], expected[200:-200], atol=2e-3)  # same phase: no delay


def test_resampler_starts_at_the_first_index_and_restarts_after_a_gap():
    resampler = Resampler(48000, 16000)
    out, first = resampler.process(_tone(440.0, 48000, 4800, start=96000), 96000)
    assert first == 32000
    _, first = resampler.process(_tone(440.0, 48000, 480, start=100800), 100800)
    assert first == 32000 + out.size  # contiguous
    _, first = resampler.process(_tone(440.0, 48000, 480, start=120000), 120000)
    assert first == 40000 and resampler.gap_count == 1


def test_resampler_passthrough_and_bad_rate():
    resampler = Resampler(16000, 16000)
    out, first = resampler.process(np.ones(5, dtype=np.float32), 7)
    assert out.tolist() == [1.0] * 5 and first == 7
    with pytest.raises(UnsupportedFormatError, match="in_rate_hz"):
        Resampler(0, 16000)
    with pytest.raises(UnsupportedFormatError, match="whole number"):
        Resampler(44100.5, 16000)


def test_resampler_holds_back_less_than_2_ms():
    resampler = Resampler(48000, 16000)
    assert 0 < resampler.delay_s < 0.002 and Resampler(16000, 16000).delay_s == 0
    out, first = resampler.process(np.zeros(480, dtype=np.float32), 0)
    assert first == 0 and out.size == int(np.ceil((480 - resampler.delay_s * 48000) / 3))


def test_callback_allocates_no_arrays(fake_portaudio):
    """The mix of 2 x 4096 frames (32 KiB) runs 200 times; traced memory may grow by a few small objects only."""
    import tracemalloc

    capture = AudioCapture()
    capture.open("Interface")
    capture.start()
    stream = fake_portaudio.streams[-1]
    block = np.ones((4096, 2), dtype=np.float32)
    flags = fake_portaudio.Flags()
    stream.callback(block, 4096, None, flags)  # warm-up (first-call caches)
    capture.read()
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(200):
            stream.callback(block, 4096, None, flags)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - baseline < 4096  # one 4096-frame float32 temporary alone would be 16 KiB
    assert capture.callback_error_count == 0 and capture.samples_captured == 201 * 4096


def test_failed_switch_with_previous_gone_too_leaves_a_closed_capture(fake_portaudio):
    capture = AudioCapture()
    capture.open("USB Mic")
    capture.start()
    fake_portaudio.refuse_open.update({1, 2})  # the new device is busy and the old one vanished meanwhile
    with pytest.raises(DeviceUnavailableError, match="Interface"):
        capture.switch_device("Interface")
    assert capture.state is CaptureState.CLOSED and capture.device is None and capture.samples_captured == 0
    fake_portaudio.refuse_open.clear()
    capture.open("USB Mic")  # usable again
    assert capture.state is CaptureState.STOPPED
