"""What `dvta data inspect` shows about a dataset: counts, frame statistics, bodies, empty sequences."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from dvta_live.skeleton.sequence import SkeletonDataset


@dataclass(frozen=True)
class DatasetSummary:
    """A dataset at a glance. Frame statistics are over all sequences (0 when there are none)."""

    name: str
    num_sequences: int
    num_classes: int
    class_counts: tuple[tuple[str, int], ...]  # (class name, sequences), every class in label order
    unlabelled: int  # sequences with label -1 or a label outside the class list
    frames_min: int
    frames_median: float
    frames_mean: float
    frames_max: int
    total_frames: int
    body_counts: tuple[tuple[int, int], ...]  # (bodies present, sequences), ascending
    empty_sequences: tuple[str, ...]  # names of all-zero sequences (no skeleton tracked)
    subjects: tuple[int, ...]  # distinct performer ids, ascending
    fps: tuple[float, ...]  # distinct frame rates given by the readers (empty when unknown)
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form; class counts and body counts become {name: count} mappings."""
        return {
            "name": self.name,
            "num_sequences": self.num_sequences,
            "num_classes": self.num_classes,
            "unlabelled": self.unlabelled,
            "frames_min": self.frames_min,
            "frames_median": self.frames_median,
            "frames_mean": round(self.frames_mean, 2),
            "frames_max": self.frames_max,
            "total_frames": self.total_frames,
            "body_counts": {str(k): v for k, v in self.body_counts},
            "empty_sequences": list(self.empty_sequences),
            "subjects": list(self.subjects),
            "fps": list(self.fps),
            "class_counts": dict(self.class_counts),
            "notes": list(self.notes),
        }


def summarize(dataset: SkeletonDataset) -> DatasetSummary:
    """Summarise ``dataset`` in one pass over its arrays (a memory-mapped store is read once)."""
    lengths = np.array([s.num_frames for s in dataset.sequences], dtype=np.int64)
    labels = dataset.labels()
    valid = (labels >= 0) & (labels < dataset.num_classes)
    per_class = np.bincount(labels[valid], minlength=dataset.num_classes)
    bodies = [s.num_bodies for s in dataset.sequences]
    has_frames = len(lengths) > 0
    return DatasetSummary(
        name=dataset.name,
        num_sequences=len(dataset),
        num_classes=dataset.num_classes,
        class_counts=tuple((name, int(c)) for name, c in zip(dataset.class_names, per_class)),
        unlabelled=int((~valid).sum()),
        frames_min=int(lengths.min()) if has_frames else 0,
        frames_median=float(np.median(lengths)) if has_frames else 0.0,
        frames_mean=float(lengths.mean()) if has_frames else 0.0,
        frames_max=int(lengths.max()) if has_frames else 0,
        total_frames=int(lengths.sum()),
        body_counts=tuple(sorted(Counter(bodies).items())),
        empty_sequences=tuple(s.name for s, b in zip(dataset.sequences, bodies) if b == 0),
        subjects=tuple(sorted({s.subject for s in dataset.sequences if s.subject is not None})),
        fps=tuple(sorted({float(s.fps) for s in dataset.sequences if s.fps is not None})),
        notes=dataset.notes,
    )
