"""Change the frame rate of skeleton sequences (e.g. 120 fps motion capture to a camera's 30 fps).

Frames are taken at times k / fps of the original clock by linear interpolation between the two nearest
recorded frames; an integer ratio (120 -> 30) picks every n-th frame exactly. Sequences already at or
below the target rate, and sequences with no fps, are kept as they are (never upsampled).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from dvta_live.errors import UserError
from dvta_live.skeleton.sequence import SkeletonDataset, SkeletonSequence


def resample_sequence(seq: SkeletonSequence, fps: float) -> SkeletonSequence:
    """``seq`` at ``fps`` frames per second (only ever fewer frames; see the module doc)."""
    if fps <= 0:
        raise UserError(f"the frame rate must be positive, got {fps}")
    if seq.fps is None or seq.fps <= fps * (1 + 1e-6) or seq.num_frames < 2:
        return seq
    duration = (seq.num_frames - 1) / seq.fps
    times = np.arange(0.0, duration + 1e-9, 1.0 / fps)
    pos = times * seq.fps
    lo = np.minimum(np.floor(pos + 1e-6).astype(np.int64), seq.num_frames - 1)
    hi = np.minimum(lo + 1, seq.num_frames - 1)
    w = np.clip(pos - lo, 0.0, 1.0).astype(np.float32)[None, :, None, None]
    w[np.abs(w) < 1e-5] = 0.0
    data = seq.data[:, lo] * (1 - w) + seq.data[:, hi] * w
    # a body absent in either neighbour stays absent (no half-interpolated joints toward zero)
    absent = (np.abs(seq.data[:, lo]).sum(axis=(0, 2)) == 0) | (np.abs(seq.data[:, hi]).sum(axis=(0, 2)) == 0)
    data[:, absent[:, None, :].repeat(data.shape[2], axis=1)] = 0.0
    meta = {**seq.meta, "resampled_from_fps": seq.fps}
    return replace(seq, data=np.ascontiguousarray(data, dtype=np.float32), fps=float(fps), meta=meta)


def resample_dataset(dataset: SkeletonDataset, fps: float) -> SkeletonDataset:
    """Every sequence of ``dataset`` at ``fps`` (see ``resample_sequence``)."""
    return replace(dataset, sequences=tuple(resample_sequence(s, fps) for s in dataset.sequences))


__all__ = ["resample_dataset", "resample_sequence"]
