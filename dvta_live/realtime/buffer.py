"""The live path's frame store: the most recent skeleton frames, oldest first, so that
live inference is ``recipe.apply(buffer.window())`` on exactly what an offline sequence would give.

A preallocated ring: ``push`` copies one frame (O(1), no allocation); ``window`` copies out at most
``capacity`` frames in time order.
"""

from __future__ import annotations

import numpy as np

from dvta_live.conventions import DEFAULT_FPS, MAX_BODIES, MAX_GAP_S, NUM_COORDS, NUM_JOINTS, WINDOW_S

FRAME_SHAPE = (NUM_COORDS, NUM_JOINTS, MAX_BODIES)


class SkeletonBuffer:
    """Ring buffer of [3, 25, 2] frames with their timestamps (seconds, non-decreasing)."""

    def __init__(self, capacity: int, joints: int = NUM_JOINTS) -> None:
        if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
            raise ValueError(f"capacity must be a positive integer, got {capacity!r}")
        self.capacity = capacity
        self.frame_shape = (NUM_COORDS, joints, MAX_BODIES)  # 25 NTU joints, or 17 COCO keypoints
        # [3, capacity, V, 2]: already the sequence layout, so window() needs no transpose.
        self._frames = np.zeros((NUM_COORDS, capacity, joints, MAX_BODIES), dtype=np.float32)
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
        if frame.shape != self.frame_shape:
            raise ValueError(f"frame must be {list(self.frame_shape)}, got {list(frame.shape)}")
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


class TimeWindow:
    """The live window, indexed by time rather than frame count: the last ``duration_s`` seconds of
    skeleton frames, resampled onto a uniform ``rate_hz`` grid ending at the newest frame.

    Why time: cameras deliver 15-60 fps, drop frames and stall, but the models learnt from 30 fps
    Kinect clips resized by the recipe. Resampling to the training rate first and then calling the
    very same ``Recipe.apply`` as training makes a 2-second gesture look like a 2-second training clip
    whatever the camera does.

    Per body slot, a grid time between two frames where the body is present, at most ``max_gap_s``
    apart, is linearly interpolated (short gaps: a missed detection or a dropped frame); a longer gap
    stays empty (zeros, as absent bodies are everywhere). The window starts after the last long absence
    of body 0, so it only ever holds the current person's continuous track: the smie50 recipe counts
    the window's length on body 0's frames and would mis-read a hole in the middle.
    """

    def __init__(self, duration_s: float = WINDOW_S, rate_hz: float = DEFAULT_FPS, max_gap_s: float = MAX_GAP_S,
                 max_fps: float = 120.0, joints: int = NUM_JOINTS) -> None:
        if not (duration_s > 0 and rate_hz > 0 and max_gap_s >= 0 and max_fps > 0):
            raise ValueError("duration_s, rate_hz and max_fps must be positive and max_gap_s >= 0")
        self.duration_s = float(duration_s)
        self.rate_hz = float(rate_hz)
        self.max_gap_s = float(max_gap_s)
        # frames older than the window are never read; the ring holds a window at the fastest camera
        self._ring = SkeletonBuffer(int(np.ceil(duration_s * max_fps)) + 2, joints)

    def __len__(self) -> int:
        return len(self._ring)

    def clear(self) -> None:
        self._ring.clear()

    @property
    def last_timestamp(self) -> float | None:
        return self._ring.last_timestamp

    def push(self, frame: np.ndarray, timestamp: float) -> None:
        """One [3, 25, 2] frame (zeros for an absent body) at ``timestamp`` seconds (non-decreasing)."""
        self._ring.push(frame, timestamp)

    def span(self) -> float:
        """Seconds of the current continuous body-0 track inside the window (0: nobody)."""
        grid = self._grid()
        return 0.0 if grid is None else float(grid[-1] - grid[0])

    def _present(self, frames: np.ndarray) -> np.ndarray:
        """[T, M] whether each body is present in each stored frame."""
        return np.any(frames != 0, axis=(0, 2))

    def _grid(self, frames: np.ndarray | None = None, times: np.ndarray | None = None) -> np.ndarray | None:
        frames = self._ring.window() if frames is None else frames
        times = self._ring.timestamps() if times is None else times
        if not len(times):
            return None
        end = times[-1]
        present0 = self._present(frames)[:, 0] & (times >= end - self.duration_s - self.max_gap_s)
        t0 = times[present0]
        if not len(t0) or end - t0[-1] > self.max_gap_s:
            return None  # nobody now, or body 0 gone for longer than a short gap
        breaks = np.flatnonzero(np.diff(t0) > self.max_gap_s)
        start = max(end - self.duration_s, t0[breaks[-1] + 1] if len(breaks) else t0[0])
        n = int(np.floor((end - start) * self.rate_hz + 1e-6)) + 1
        return end - (n - 1 - np.arange(n)) / self.rate_hz

    def window(self) -> np.ndarray | None:
        """[3, N, 25, 2] float32 on the uniform grid (N = span * rate_hz + 1), or None without body 0.

        Feed it to ``recipe.apply``: the same call training and evaluation make on whole sequences.
        """
        frames, times = self._ring.window(), self._ring.timestamps()
        grid = self._grid(frames, times)
        if grid is None:
            return None
        present = self._present(frames)
        tol = 0.5 / self.rate_hz + 1e-9  # a grid point this close to a lone frame takes that frame
        out = np.zeros((frames.shape[0], len(grid), frames.shape[2], frames.shape[3]), dtype=np.float32)
        for m in range(frames.shape[3]):
            idx = np.flatnonzero(present[:, m])
            if not len(idx):
                continue
            t = times[idx]
            nxt = np.searchsorted(t, grid, side="left")  # first present frame at or after each grid time
            prev = np.clip(nxt - 1, 0, len(t) - 1)
            nxt_c = np.clip(nxt, 0, len(t) - 1)
            exact = (nxt < len(t)) & (np.abs(t[nxt_c] - grid) <= 1e-9)
            inside = (nxt > 0) & (nxt < len(t)) & (t[nxt_c] - t[prev] <= self.max_gap_s)
            near_prev = (nxt > 0) & (grid - t[prev] <= tol)
            near_next = (nxt < len(t)) & (t[nxt_c] - grid <= tol)
            body_frames = frames[..., m]  # [3, T, 25]
            a, b = body_frames[:, idx[prev]], body_frames[:, idx[nxt_c]]  # [3, N, 25]
            span = np.where(inside, t[nxt_c] - t[prev], 1.0)
            w = np.where(inside, (grid - t[prev]) / np.maximum(span, 1e-12), 0.0).astype(np.float32)
            lerp = a + (b - a) * w[None, :, None]
            body = np.where((exact | ~inside & ~near_prev & near_next)[None, :, None], b,
                            np.where(inside[None, :, None], lerp, a))
            keep = exact | inside | near_prev | near_next
            out[..., m] = np.where(keep[None, :, None], body, np.float32(0))
        return out
