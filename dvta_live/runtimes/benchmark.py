"""Latency and throughput of runtimes on the same inputs (``dvta benchmark``, ``bench/bench_runtime.py``).

One call is ``runtime.scores(windows [B, ...], prepared text [C])``: the per-window path the live loop and
evaluation run; ``prepare_text`` is once per labels file and is timed apart (``prepare_ms``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from dvta_live.runtimes.base import Runtime
from dvta_live.skeleton.recipe import Recipe


@dataclass(frozen=True)
class BenchRow:
    runtime: str
    description: str
    batch: int
    classes: int
    runs: int
    latency_ms: float  # median of the timed calls
    latency_p90_ms: float
    samples_per_s: float  # batch / median latency
    prepare_ms: float  # prepare_text for these classes, once

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def bench_windows(recipe: Recipe, batch: int, seed: int = 0) -> np.ndarray:
    """Inputs of the recipe's shape and scale (``Recipe.random_input``); speed does not depend on the values."""
    return recipe.random_input(batch, seed)


def time_runtime(runtime: Runtime, batch: int, classes: int, *, min_time_s: float = 1.0, min_runs: int = 3,
                 max_runs: int = 200, warmup: int = 1) -> BenchRow:
    """Median latency of ``runtime.scores`` at (B, C) over at least ``min_runs`` calls and ``min_time_s``."""
    rng = np.random.default_rng(1)
    text = rng.standard_normal((classes, 2, runtime.info.text_dim)).astype(np.float32)
    start = time.perf_counter()
    prepared = runtime.prepare_text(text)
    prepare_ms = (time.perf_counter() - start) * 1e3
    windows = bench_windows(runtime.info.recipe, batch)
    for _ in range(warmup):
        runtime.scores(windows, prepared)
    times: list[float] = []
    began = time.perf_counter()
    while len(times) < max_runs and (len(times) < min_runs or time.perf_counter() - began < min_time_s):
        t0 = time.perf_counter()
        runtime.scores(windows, prepared)
        times.append(time.perf_counter() - t0)
    median = float(np.median(times))
    return BenchRow(runtime.name, runtime.describe(), batch, classes, len(times), median * 1e3,
                    float(np.percentile(times, 90)) * 1e3, batch / median, prepare_ms)


def benchmark(runtimes: Sequence[Runtime], batches: Sequence[int], classes: Sequence[int], **kwargs: Any
              ) -> list[BenchRow]:
    """Every runtime at every (B, C), runtimes interleaved per shape so a busy machine skews them alike."""
    return [time_runtime(rt, b, c, **kwargs) for b in batches for c in classes for rt in runtimes]


def speedups(rows: Sequence[BenchRow], baseline: str = "torch") -> dict[tuple[str, int, int], float]:
    """(runtime, B, C) -> samples/s relative to ``baseline`` at the same shape."""
    base = {(r.batch, r.classes): r.samples_per_s for r in rows if r.runtime == baseline}
    return {(r.runtime, r.batch, r.classes): r.samples_per_s / base[(r.batch, r.classes)]
            for r in rows if (r.batch, r.classes) in base}


__all__ = ["BenchRow", "bench_windows", "benchmark", "speedups", "time_runtime"]
