"""Throughput of the GCN backbones in PyTorch eager mode on this CPU.

    python bench/bench_backbone.py                  # batch 1 and 64, 2 threads
    python bench/bench_backbone.py --batches 1 8 --threads 4 --min-time 5

Rows: Shift-GCN at the released 300-frame window (recipe shiftgcn300) and at a 52-frame live window,
ST-GCN (SMIE configuration) at its 50-frame window (recipe smie50). Weights are randomly initialised
(speed does not depend on them; the released Shift-GCN shifts have |xpos| ~ 1e-11 like a fresh model, so
the same code path runs). Inputs have two persons, as the recipes produce. Each cell: one warm-up call,
then repeated calls for at least --min-time seconds (at least one); the best call is reported.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import torch
from torch import nn

from dvta_live.backbone import STGCN, ShiftGCN

ROWS: list[tuple[str, Callable[[], nn.Module], int]] = [
    ("Shift-GCN (T=300, shiftgcn300)", lambda: ShiftGCN(num_class=120), 300),
    ("Shift-GCN (T=52, live window)", lambda: ShiftGCN(num_class=120), 52),
    ("ST-GCN SMIE (T=50, smie50)", lambda: STGCN(num_class=0), 50),
]


def time_model(model: nn.Module, batch: int, frames: int, min_time: float) -> float:
    """Best seconds per forward call at this batch size."""
    x = torch.randn(batch, 3, frames, 25, 2)
    with torch.inference_mode():
        model(x)  # warm-up: first-call allocations and oneDNN primitive creation
        best, spent = float("inf"), 0.0
        while spent < min_time or best == float("inf"):
            t0 = time.perf_counter()
            model(x)
            dt = time.perf_counter() - t0
            best, spent = min(best, dt), spent + dt
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-time", type=float, default=2.0, help="seconds of timed calls per cell")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} threads, {platform.processor() or platform.machine()}, "
          "eager, float32, inference_mode")
    header = f"{'backbone':<32}{'batch':>6}{'ms/call':>12}{'samples/s':>12}"
    print(header)
    print("-" * len(header))
    for name, make, frames in ROWS:
        model = make().eval()
        for batch in args.batches:
            sec = time_model(model, batch, frames, args.min_time)
            print(f"{name:<32}{batch:>6}{sec * 1e3:>12.1f}{batch / sec:>12.2f}", flush=True)


if __name__ == "__main__":
    main()
