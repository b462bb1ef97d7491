"""Give a 3-D skeleton clip the body proportions of NTU's Kinect v2 skeletons (and of MediaPipe's).

The datasets here define their joints differently: relative to the spine (spine base to spine shoulder),
thighs are 0.63-0.73 long on NTU's Kinect v2 skeletons and on MediaPipe's landmarks of real videos, but
0.9 on the mocap takes and 1.07-1.31 on the Kinect v1 datasets (UTD-MHAD, NW-UCLA, MSR Action3D), whose
hip centre sits higher. A model trained on those proportions meets other ones live. So every bone is
set to the NTU length (scaled to the clip's own body size) along its own direction in each frame, from
the spine base outward: the motion and the pose are kept, the proportions become NTU's.
"""

from __future__ import annotations

import numpy as np

from dvta_live.skeleton.layouts import NTU25

_J = NTU25.index
# (child, parent, NTU length in metres): medians over the six NTU RGB+D samples in ../shared, left and
# right averaged; the hand points (Kinect's least reliable) at their usual short offsets.
_TREE = (
    ("spine_mid", "spine_base", 0.266), ("spine_shoulder", "spine_mid", 0.198), ("neck", "spine_shoulder", 0.065),
    ("head", "neck", 0.128),
    *((f"{s}_{c}", p if p.startswith("spine") else f"{s}_{p}", n) for s in ("left", "right") for c, p, n in (
        ("shoulder", "spine_shoulder", 0.149), ("elbow", "shoulder", 0.226), ("wrist", "elbow", 0.217),
        ("hand", "wrist", 0.063), ("hand_tip", "hand", 0.05), ("thumb", "hand", 0.05),
        ("hip", "spine_base", 0.069), ("knee", "hip", 0.324), ("ankle", "knee", 0.339), ("foot", "ankle", 0.097))),
)
CHILD = np.array([_J(c) for c, _, _ in _TREE])
PARENT = np.array([_J(p) for _, p, _ in _TREE])
LENGTH = np.array([n for _, _, n in _TREE])
# the bones that set a clip's size: trunk and limbs, not the short head, hand and hip offsets
_SIZE = np.array([n > 0.1 for _, _, n in _TREE])


def to_ntu_proportions(data: np.ndarray) -> np.ndarray:
    """[3, T, 25, M] -> the same clip with NTU bone proportions at its own size; absent frames stay zero."""
    out = np.zeros_like(data)
    for m in range(data.shape[3]):
        x = data[:, :, :, m].transpose(1, 2, 0).astype(np.float64)  # [T, V, 3]
        present = np.any(x != 0, axis=(1, 2))
        if not present.any():
            continue
        x = x[present]
        bones = x[:, CHILD] - x[:, PARENT]  # [T, B, 3]
        norms = np.linalg.norm(bones, axis=-1)
        size = np.median(norms[:, _SIZE], axis=0).sum() / LENGTH[_SIZE].sum()
        units = bones / np.maximum(norms, 1e-9)[..., None]
        units[norms < 1e-9] = 0  # a joint placed on its parent stays there
        y = np.zeros_like(x)
        y[:, _J("spine_base")] = x[:, _J("spine_base")]
        for b in range(len(CHILD)):  # parents come first in _TREE
            y[:, CHILD[b]] = y[:, PARENT[b]] + units[:, b] * (LENGTH[b] * size)
        body = out[:, :, :, m]  # a view: one advanced index keeps the axes in place
        body[:, present] = y.transpose(2, 0, 1)
    return out.astype(data.dtype, copy=False)


__all__ = ["to_ntu_proportions"]
