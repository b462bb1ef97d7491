"""The live path's frame store: the most recent skeleton frames, oldest first, so that
live inference is ``recipe.apply(buffer.window())`` on exactly what an offline sequence would give.

A preallocated ring: ``push`` copies one frame (O(1), no allocation); ``window`` copies out at most
``capacity`` frames in time order.
"""

from __future__ import annotations

import numpy as np

from dvta_live.skeleton.sequence import MAX_BODIES, NUM_COORDS, NUM_JOINTS

FRAME_SHAPE = (NUM_COORDS, NUM_JOINTS, MAX_BODIES)


class SkeletonBuffer:
    """Ring buffer of [3, 25, 2] frames with their timestamps (seconds, non-decreasing)."""

    def __init__(self, capacity: int) -> None:
        if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
            raise ValueError(f"capacity must be a positive integer, got {capacity!r}")
        self.capacity = capacity
        # [3, capacity, 25, 2]: already the sequence layout, so window() needs no transpose.
        self._frames = np.zeros((NUM_COORDS, capacity, NUM_JOINTS, MAX_BODIES), dtype=np.float32)
        self._times = np.zeros(capacity, dtype=np.float64)
        self._next = 0  # slot the next push writes
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def full(self) -> bool:
        return self._count == self.capacity

    @property
    def last_timestamp(self) -> float | None:
        return None if self._count == 0 else float(self._times[self._next - 1])

    def clear(self) -> None:
        self._next = 0
        self._count = 0

    def push(self, frame: np.ndarray, timestamp: float) -> None:
        """Append one frame [3, 25, 2] (zeros for an absent body); drops the oldest when full."""
        frame = np.asarray(frame)
        if frame.shape != FRAME_SHAPE:
            raise ValueError(f"frame must be [3, 25, 2], got {list(frame.shape)}")
        timestamp = float(timestamp)
        if not np.isfinite(timestamp):
            raise ValueError(f"timestamp must be finite, got {timestamp}")
        last = self.last_timestamp
        if last is not None and timestamp < last:
            raise ValueError(f"timestamp {timestamp} is earlier than the previous frame's {last}")
        self._frames[:, self._next] = frame
        self._times[self._next] = timestamp
        self._next = (self._next + 1) % self.capacity
        self._count = min(self._count + 1, self.capacity)

    def _order(self) -> np.ndarray | slice:
        start = (self._next - self._count) % self.capacity
        if start + self._count <= self.capacity:
            return slice(start, start + self._count)
        return np.r_[start:self.capacity, 0:self._next]

    def window(self) -> np.ndarray:
        """The stored frames, oldest first, as a new [3, T, 25, 2] float32 array (T = len(self))."""
        return self._frames[:, self._order()].copy()

    def timestamps(self) -> np.ndarray:
        """Timestamps of ``window()``'s frames, oldest first."""
        return self._times[self._order()].copy()
