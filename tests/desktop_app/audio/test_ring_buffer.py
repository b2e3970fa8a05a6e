"""RingBuffer: wrap-around, absolute indices, drop-oldest overflow counting (no audio device needed)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from desktop_app.audio.ring_buffer import RingBuffer
from models.errors import ConfigError


def _ramp(start: int, count: int) -> np.ndarray:
    return np.arange(start, start + count, dtype=np.float32)


def test_read_returns_copy_and_first_index():
    ring = RingBuffer(8)
    ring.write(_ramp(0, 5))
    samples, first = ring.read_available()
    assert first == 0
    np.testing.assert_array_equal(samples, _ramp(0, 5))
    samples[:] = -1  # a copy: the ring is unaffected
    ring.write(_ramp(5, 2))
    again, first = ring.read_available()
    assert first == 5
    np.testing.assert_array_equal(again, _ramp(5, 2))
    empty, first = ring.read_available()
    assert empty.shape == (0,) and empty.dtype == np.float32 and first == 7


def test_wrap_around_keeps_order_and_indices():
    ring = RingBuffer(8)
    index = 0
    for block in (3, 5, 6, 2, 7, 1):
        ring.write(_ramp(index, block))
        index += block
        samples, first = ring.read_available()
        assert first == index - block
        np.testing.assert_array_equal(samples, _ramp(index - block, block))
    assert ring.samples_written == 24
    assert ring.overflow_count == 0 and ring.lost_samples == 0


def test_max_samples_reads_oldest_first():
    ring = RingBuffer(16)
    ring.write(_ramp(0, 10))
    part, first = ring.read_available(4)
    assert first == 0 and part.tolist() == [0, 1, 2, 3]
    assert ring.available_samples == 6
    rest, first = ring.read_available(100)
    assert first == 4 and rest.tolist() == [4, 5, 6, 7, 8, 9]
    none, first = ring.read_available(0)
    assert none.size == 0 and first == 10


def test_overflow_drops_oldest_and_counts():
    ring = RingBuffer(8)
    ring.write(_ramp(0, 6))
    ring.write(_ramp(6, 6))  # 12 unread > 8: samples 0..3 are overwritten
    assert ring.overflow_count == 1
    samples, first = ring.read_available()
    assert first == 4
    np.testing.assert_array_equal(samples, _ramp(4, 8))
    assert ring.lost_samples == 4
    ring.write(_ramp(12, 3))  # reader caught up: no new overflow
    assert ring.overflow_count == 1
    samples, first = ring.read_available()
    assert first == 12 and samples.tolist() == [12, 13, 14]


def test_block_larger_than_capacity_keeps_newest():
    ring = RingBuffer(4)
    ring.write(_ramp(0, 10))
    assert ring.overflow_count == 1 and ring.samples_written == 10
    samples, first = ring.read_available()
    assert first == 6 and samples.tolist() == [6, 7, 8, 9]
    assert ring.lost_samples == 6


def test_skip_to_latest():
    ring = RingBuffer(8)
    ring.write(_ramp(0, 5))
    assert ring.skip_to_latest() == 5
    ring.write(_ramp(5, 1))
    samples, first = ring.read_available()
    assert first == 5 and samples.tolist() == [5]


@pytest.mark.parametrize("capacity", [0, -3, 2.5])
def test_bad_capacity_is_a_config_error(capacity):
    with pytest.raises(ConfigError, match="capacity_samples"):
        RingBuffer(capacity)


def test_negative_max_samples_is_a_config_error():
    with pytest.raises(ConfigError, match="max_samples"):
        RingBuffer(4).read_available(-1)


def test_concurrent_writer_never_delivers_torn_samples():
    """A writer thread laps a slow reader many times: every sample read is its own index."""
    ring = RingBuffer(64)
    total = 200_000
    block = 48

    def produce() -> None:
        for start in range(0, total, block):
            ring.write(_ramp(start, min(block, total - start)))

    writer = threading.Thread(target=produce)
    writer.start()
    received = 0
    expected_next = 0
    while writer.is_alive() or ring.available_samples:
        samples, first = ring.read_available(40)
        assert first >= expected_next  # indices never go back
        np.testing.assert_array_equal(samples, _ramp(first, samples.size))  # value == absolute index
        expected_next = first + samples.size
        received += samples.size
    writer.join()
    assert ring.samples_written == total
    assert received + ring.lost_samples == total
