"""The pre-graph steps of the pyskl PoseC3D test pipeline, in numpy (the ``posec3d48`` recipe): pick 48
frames (``UniformSampleFrames``, test mode), crop to the clip's keypoints (``PoseCompact``) and resize that box
to the heatmap grid. The heatmaps themselves are drawn inside the model graph (``backbone.x3d.PseudoHeatmap``),
so every runtime takes keypoints.

Input: one sequence ``[3, T, 17, M]`` of COCO-17 image keypoints (x, y pixels, y down; score, 0 = missing).
"""

from __future__ import annotations

import numpy as np

NUM_KEYPOINTS = 17  # COCO-17


def uniform_sample_test(num_frames: int, clip_len: int = 48, seed: int = 255) -> np.ndarray:
    """pyskl ``UniformSampleFrames`` test-mode indices of one clip (``num_clips=1``, ``p_interval=1``).

    Deterministic (pyskl reseeds numpy with 255 on every call; the same legacy generator and call order
    are used here, so the indices are pyskl's). Shorter than ``clip_len``: frames 0.. looped; up to twice
    as long: consecutive frames with ``T - clip_len`` random skips; longer: one random frame per segment.
    """
    rng = np.random.RandomState(seed)
    rng.rand()  # pyskl draws the p_interval ratio even when the interval is (1, 1)
    rng.randint(1)  # ... and the offset inside it (always 0 here)
    if num_frames < clip_len:
        inds = np.arange(clip_len)
    elif num_frames < 2 * clip_len:
        skips = rng.choice(clip_len + 1, num_frames - clip_len, replace=False)
        offset = np.zeros(clip_len + 1, dtype=np.int64)
        offset[skips] = 1
        inds = np.arange(clip_len) + np.cumsum(offset)[:-1]
    else:
        bids = np.array([i * num_frames // clip_len for i in range(clip_len + 1)])
        inds = bids[:clip_len] + rng.randint(np.diff(bids))
    return np.mod(inds, num_frames).astype(np.int64)


def keypoints_to_model_input(kp: np.ndarray, window: int = 48, size: int = 64, *,
                             img_shape: tuple[int, int] | None = None, padding: float = 0.25,
                             threshold: float = 10.0) -> np.ndarray:
    """One sequence ``[3, T, 17, M]`` (x, y image pixels, y down; score) -> ``[3, window, 17, M]`` float32.

    pyskl's test steps before the heatmaps: ``UniformSampleFrames`` (:func:`uniform_sample_test`), then
    ``PoseCompact(hw_ratio=1, allow_imgpad=True)`` - the box of all present keypoints of the sampled clip
    (all persons), padded 25 %, made square around its centre, corners ``int()``-truncated - and
    ``Resize`` of that box to ``size x size`` (``keep_ratio=False``). Scores pass through; a missing
    keypoint (score <= 0 or non-finite) comes out as (0, 0, 0), as in pyskl's data. All missing: zeros.
    ``img_shape`` (h, w) only matters for clips spanning under ``threshold`` pixels (see module notes).
    """
    kp = np.asarray(kp, dtype=np.float32)
    if kp.ndim != 4 or kp.shape[0] != 3 or kp.shape[2] != NUM_KEYPOINTS:
        raise ValueError(f"keypoints must be [3, T, {NUM_KEYPOINTS}, M] (x, y, score), got {list(kp.shape)}")
    t, m = kp.shape[1], kp.shape[3]
    out = np.zeros((3, window, NUM_KEYPOINTS, m), dtype=np.float32)
    if t == 0:
        return out
    clip = kp[:, uniform_sample_test(t, window)]
    present = np.isfinite(clip).all(axis=0) & (clip[2] > 0)
    if not present.any():
        return out
    x, y = clip[0][present], clip[1][present]
    min_x, max_x, min_y, max_y = (float(v) for v in (x.min(), x.max(), y.min(), y.max()))
    if max_x - min_x < threshold or max_y - min_y < threshold:
        if img_shape is not None:  # pyskl: no compaction, the whole image is resized
            box = (0, 0, int(img_shape[1]), int(img_shape[0]))
        else:
            cx, cy, half = (max_x + min_x) / 2, (max_y + min_y) / 2, threshold * (1 + padding) / 2
            half = max(half, (max_x - min_x) / 2 * (1 + padding), (max_y - min_y) / 2 * (1 + padding))
            box = (int(cx - half), int(cy - half), int(cx + half), int(cy + half))
    else:
        cx, cy = (max_x + min_x) / 2, (max_y + min_y) / 2
        half = max(max_x - min_x, max_y - min_y) / 2 * (1 + padding)  # hw_ratio=1: the larger side
        box = (int(cx - half), int(cy - half), int(cx + half), int(cy + half))
    x0, y0, x1, y1 = box
    scale = np.array([size / max(x1 - x0, 1), size / max(y1 - y0, 1)], dtype=np.float32)
    out[0][present] = (x - np.float32(x0)) * scale[0]
    out[1][present] = (y - np.float32(y0)) * scale[1]
    out[2][present] = clip[2][present]
    return out


__all__ = ["keypoints_to_model_input", "uniform_sample_test"]
