"""Training settings of the backbone and the lifter: plain dataclasses without torch, so the commands can
use their defaults as option defaults and ``dvta --help`` stays fast."""

from __future__ import annotations

from dataclasses import dataclass

# clips whose reader gives no rate (NW-UCLA) are Kinect v1 recordings, taken at the project's rate; the
# name stays importable from here (pose.mannequin, bench scripts)
from dvta_live.conventions import DEFAULT_FPS  # noqa: F401


@dataclass(frozen=True)
class BackboneTrainConfig:
    epochs: int = 60
    batch_size: int = 32
    lr: float = 0.05
    weight_decay: float = 5e-4
    warmup_epochs: int = 3
    label_smoothing: float = 0.1
    seed: int = 1
    augment: bool = True
    num_workers: int = 0
    device: str = "auto"


@dataclass(frozen=True)
class LiftConfig:
    epochs: int = 60
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    width: int = 160
    blocks: int = 4
    views: int = 1  # random views of each clip per epoch
    seed: int = 0
    device: str = "auto"


RUN_FILES = ("backbone.safetensors", "last.pt", "history.json")  # what a train-backbone run folder holds


@dataclass(frozen=True)
class ClassChoice:
    """Which classes and subjects a backbone trains on: ``seen`` or ``unseen`` (ids/names, a comma list
    or a split file) or a named ``split``; ``val_subjects`` are held out for validation."""

    seen: str | None = None
    unseen: str | None = None
    split: str | None = None
    val_subjects: str | None = None
