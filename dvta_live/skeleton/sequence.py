"""The skeleton sequence every reader returns and every model consumes.

Array convention: float32 [C=3, T, V=25, M=2] in NTU-25 order and NTU camera axes (metres, x to the
subject's right, y up, z away from the camera). Absent bodies and missing frames are all-zero, as in the
NTU tools; ``num_frames`` is the length that was recorded.

COCO-17 image keypoints (``layout == "coco17"``, the 2-D readers in ``readers2d`` and the camera models'
input): float32 [3, T, 17, 2] = (x pixels rightwards, y pixels downwards, score in [0, 1]) in COCO order
(nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles; left before right, "left" the subject's
left); a missing keypoint or absent body is x = y = score = 0. See ``coco17``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

# defined in dvta_live.conventions; importable from here too, where the readers and the recipes take them
from dvta_live.conventions import MAX_BODIES, NUM_COORDS, NUM_JOINTS

LAYOUT_OF_JOINTS = {NUM_JOINTS: "ntu25", 17: "coco17"}  # joint count -> layout of the data


@dataclass(frozen=True)
class SkeletonSequence:
    """One labelled skeleton clip. ``label`` is -1 when the clip has none."""

    data: np.ndarray  # [3, T, 25, 2] float32 (or [3, T, 17, 2] COCO-17 image keypoints)
    label: int = -1
    name: str = ""
    source: str = ""
    fps: float | None = None
    subject: int | None = None  # performer id where the dataset gives one (cross-subject splits)
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        d = self.data
        if d.ndim != 4 or d.shape[0] != NUM_COORDS or d.shape[2] not in LAYOUT_OF_JOINTS \
                or d.shape[3] != MAX_BODIES:
            raise ValueError(f"skeleton data must be [3, T, 25, 2] or [3, T, 17, 2], got {list(d.shape)}")

    @property
    def layout(self) -> str:
        """"ntu25" (3-D joints) or "coco17" (image keypoints with scores), from the joint count."""
        return LAYOUT_OF_JOINTS[int(self.data.shape[2])]

    @property
    def num_frames(self) -> int:
        return int(self.data.shape[1])

    @property
    def num_bodies(self) -> int:
        """Bodies present in at least one frame."""
        return int((np.abs(self.data).sum(axis=(0, 1, 2)) > 0).sum())


@dataclass(frozen=True)
class SkeletonDataset(Sequence[SkeletonSequence]):
    """Labelled sequences with the class names their labels index."""

    name: str
    class_names: tuple[str, ...]
    sequences: tuple[SkeletonSequence, ...]
    notes: tuple[str, ...] = ()  # things the reader skipped or repaired, for `dvta data inspect`

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, i):  # type: ignore[override]
        return self.sequences[i]

    def __iter__(self) -> Iterator[SkeletonSequence]:
        return iter(self.sequences)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def labels(self) -> np.ndarray:
        return np.array([s.label for s in self.sequences], dtype=np.int64)


def frames_to_sequence_array(frames: np.ndarray) -> np.ndarray:
    """[T, M<=2, 25, 3] bodies-per-frame -> the [3, T, 25, 2] convention (zero-padded bodies)."""
    t, m = frames.shape[:2]
    out = np.zeros((NUM_COORDS, t, NUM_JOINTS, MAX_BODIES), dtype=np.float32)
    out[..., : min(m, MAX_BODIES)] = np.transpose(frames[:, :MAX_BODIES], (3, 0, 2, 1))
    return out
