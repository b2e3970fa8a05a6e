"""A single-producer / single-consumer float32 ring buffer for the audio callback.

The producer (the PortAudio callback) calls :meth:`RingBuffer.write`; it copies with numpy slice
assignments into a preallocated array, takes no lock and allocates no array. The consumer (the
analysis worker) calls :meth:`RingBuffer.read_available`, which returns a fresh copy and the absolute
index of its first sample (samples are numbered from 0 since the buffer was made, counting every
sample the producer delivered, so a sample's index / sample rate is its time since the stream started).

Overflow policy: **drop the oldest**. The writer never waits and never refuses data: when the reader
falls behind by more than ``capacity_samples`` the newest audio overwrites the oldest unread audio.
The live view wants the present, not a growing backlog, and because indices count every delivered
sample, what the reader gets after an overflow still carries its true position in time (the returned
index simply jumps forward by the number of samples lost).

How it stays safe without locks: two monotonically increasing counters. Before copying, the writer
publishes ``_writing_to`` (the end of the block it is about to write); after copying it publishes
``_written``. The reader copies what lies below ``_written`` and then re-reads ``_writing_to``: any
sample it copied that lies more than ``capacity`` behind that mark may have been overwritten during
the copy, so it is discarded and counted as lost (the pattern of a sequence lock, per sample). Each
counter has one writer; Python int attribute stores are atomic under the interpreter.
"""

from __future__ import annotations

import numpy as np

from models.errors import ConfigError


class RingBuffer:
    """Preallocated float32 SPSC ring buffer; overflow drops the oldest unread samples."""

    def __init__(self, capacity_samples: int) -> None:
        if int(capacity_samples) != capacity_samples or capacity_samples < 1:
            raise ConfigError(
                f"ring buffer capacity_samples must be a positive integer, got {capacity_samples!r}; "
                "use a few seconds of audio at the device rate"
            )
        self._capacity = int(capacity_samples)
        self._buffer = np.zeros(self._capacity, dtype=np.float32)
        # producer-owned
        self._writing_to = 0
        self._written = 0
        self._overflow_count = 0
        # consumer-owned
        self._read = 0
        self._lost_samples = 0

    # --- producer side (the audio callback) -----------------------------------------------------
    def write(self, block: np.ndarray) -> None:
        """Append a 1-D float32 block. Never blocks, never allocates an array, never refuses data."""
        count = block.shape[0]
        if count == 0:
            return
        capacity = self._capacity
        start = self._written
        end = start + count
        if count > capacity:  # only the newest ``capacity`` samples can be kept
            block = block[count - capacity :]
            start = end - capacity
            count = capacity
        if end - self._read > capacity:
            self._overflow_count += 1
        self._writing_to = end
        position = start % capacity
        first = min(count, capacity - position)
        self._buffer[position : position + first] = block[:first]
        if first < count:
            self._buffer[: count - first] = block[first:]
        self._written = end

    # --- consumer side (the analysis worker) ----------------------------------------------------
    def read_available(self, max_samples: int | None = None) -> tuple[np.ndarray, int]:
        """Return ``(samples, first_sample_index)``: a copy of up to ``max_samples`` unread samples.

        Oldest unread samples come first; an empty array (and the next index) when nothing is new.
        """
        if max_samples is not None and max_samples < 0:
            raise ConfigError(f"max_samples must be >= 0 or None, got {max_samples}")
        capacity = self._capacity
        written = self._written
        start = self._read
        lost = 0
        horizon = self._writing_to - capacity
        if start < horizon:
            lost = horizon - start
            start = horizon
        count = max(0, written - start)
        if max_samples is not None:
            count = min(count, int(max_samples))
        out = np.empty(count, dtype=np.float32)
        if count:
            position = start % capacity
            first = min(count, capacity - position)
            out[:first] = self._buffer[position : position + first]
            if first < count:
                out[first:] = self._buffer[: count - first]
            horizon = self._writing_to - capacity  # did the writer lap us while we copied?
            if horizon > start:
                cut = min(horizon - start, count)
                out = out[cut:].copy()
                lost += cut
                start += cut
        self._read = start + out.shape[0]
        self._lost_samples += lost
        return out, start

    def skip_to_latest(self) -> int:
        """Drop everything unread (e.g. after a pause); returns the number of samples skipped."""
        written = self._written
        skipped = max(0, written - self._read)
        self._read = written
        return skipped

    # --- counters --------------------------------------------------------------------------------
    @property
    def capacity_samples(self) -> int:
        return self._capacity

    @property
    def samples_written(self) -> int:
        """Every sample the producer delivered so far (kept or later overwritten)."""
        return self._written

    @property
    def read_index(self) -> int:
        """Absolute index of the next sample :meth:`read_available` will return."""
        return self._read

    @property
    def available_samples(self) -> int:
        """Unread samples still held (at most ``capacity_samples``)."""
        return min(self._written - self._read, self._capacity)

    @property
    def overflow_count(self) -> int:
        """Writes that overwrote samples the reader had not read yet."""
        return self._overflow_count

    @property
    def lost_samples(self) -> int:
        """Samples the reader never got because they were overwritten first."""
        return self._lost_samples
