"""What every trainer (backbone, lifter, DVTA head) shares: the device it runs on and its learning-rate
schedule. One of each, so ``--device`` and the warm-up mean the same thing in every command."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from dvta_live.errors import UserError

if TYPE_CHECKING:
    import torch


def pick_device(name: str | None = "auto") -> torch.device:
    """``auto`` (or None): CUDA when visible, else the CPU; a CUDA device that is not there is refused."""
    import torch

    if not name or name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {name}: no CUDA device is visible", fix="use --device cpu or auto")
    return torch.device(name)


def lr_at(epoch: float, epochs: int, lr_max: float, warmup: float, lr_min: float = 0.0) -> float:
    """Linear warm-up from 0 over ``warmup`` epochs, then a cosine from ``lr_max`` to ``lr_min`` at
    ``epochs``. ``epoch`` may be fractional (per-step schedules)."""
    if epoch < warmup:
        return lr_max * epoch / warmup
    span = max(epochs - warmup, 1e-9)
    return lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * (epoch - warmup) / span)) / 2


__all__ = ["lr_at", "pick_device"]
