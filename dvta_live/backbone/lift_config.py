"""Settings of `dvta backbone lift` (torch-free, so the CLI shows defaults without importing torch)."""

from __future__ import annotations

from dataclasses import dataclass


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
