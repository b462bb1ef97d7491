"""ONNX Runtime (CPU) against PyTorch eager in the same run: samples/s and the ratio, batch 1 and 64.

    python bench/bench_runtime.py                          # ST-GCN (smie50, 50 frames), C = 60
    python bench/bench_runtime.py --arch shiftgcn --batches 1,8 --min-time 5   # 300-frame windows
    python bench/bench_runtime.py --threads 2 --classes 5,60,120 --json out.json

Both runtimes run the same model (random weights: speed does not depend on them) through the same
interface the live loop uses: ``prepare_text`` once, then ``scores(windows [B, 3, T, 25, 2])``; ONNX
Runtime runs the exported text + per-window graphs. A sample is one window scored against all C
classes. The two are timed in alternation, call by call, so background load on a shared machine hits
both alike; the table gives the fastest call (least disturbed) and the median. The scores of the two
are compared on every shape.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np


def alternate(fns: list[Callable[[], object]], min_time: float, min_rounds: int = 3) -> list[list[float]]:
    """Seconds of each call, the functions timed in alternation for ``min_time`` (at least 3 rounds)."""
    for fn in fns:
        fn()  # warm-up: thread pools, allocator, lazy initialisation
    times: list[list[float]] = [[] for _ in fns]
    start = time.perf_counter()
    while len(times[0]) < min_rounds or time.perf_counter() - start < min_time:
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - t0)
        if len(times[0]) >= 200:
            break
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", default="stgcn", choices=("stgcn", "shiftgcn"))
    parser.add_argument("--model", help="a model folder instead of a random-weight one")
    parser.add_argument("--batches", default="1,64")
    parser.add_argument("--classes", default="60")
    parser.add_argument("--threads", type=int, default=min(os.cpu_count() or 1, 2))
    parser.add_argument("--min-time", type=float, default=3.0, help="seconds of timed calls per shape")
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args()
    os.environ.setdefault("DVTA_CACHE", str(Path(tempfile.gettempdir()) / "dvta-bench-cache"))

    from dvta_live.model import save_untrained_model
    from dvta_live.runtimes import TorchRuntime, open_runtime
    from dvta_live.runtimes.benchmark import bench_windows

    with tempfile.TemporaryDirectory() as tmp:
        model = Path(args.model) if args.model else save_untrained_model(Path(tmp) / "model", args.arch)
        t0 = time.perf_counter()
        onnx_rt = open_runtime(model, "onnx", threads=args.threads)  # exports into the cache the first time
        opened = time.perf_counter() - t0
        eager = TorchRuntime(model, threads=args.threads)
        print(f"model: {args.model or f'random-weight {args.arch}'}, window {eager.info.window}, "
              f"{args.threads} threads; ONNX Runtime opened in {opened:.1f} s")
        print(f"  {eager.describe()}\n  {onnx_rt.describe()}")
        rows = []
        header = (f"{'B':>4} {'C':>4} | {'torch ms':>9} {'ort ms':>9} | {'torch /s':>9} {'ort /s':>9} "
                  f"{'ratio':>6} | {'median ratio':>12} | max |diff|")
        print(header + "\n" + "-" * len(header))
        for classes in (int(c) for c in args.classes.split(",")):
            text = np.random.default_rng(classes).standard_normal((classes, 2, eager.info.text_dim))
            text = text.astype(np.float32)
            p_eager, p_onnx = eager.prepare_text(text), onnx_rt.prepare_text(text)
            for batch in (int(b) for b in args.batches.split(",")):
                windows = bench_windows(eager.info.recipe, batch)
                diff = float(np.abs(eager.scores(windows, p_eager) - onnx_rt.scores(windows, p_onnx)).max())
                t_eager, t_onnx = alternate([partial(eager.scores, windows, p_eager),
                                             partial(onnx_rt.scores, windows, p_onnx)], args.min_time)
                best_e, best_o = min(t_eager), min(t_onnx)
                med_e, med_o = float(np.median(t_eager)), float(np.median(t_onnx))
                row = {"arch": args.arch, "batch": batch, "classes": classes, "threads": args.threads,
                       "torch_ms": best_e * 1e3, "onnxruntime_ms": best_o * 1e3,
                       "torch_samples_per_s": batch / best_e, "onnxruntime_samples_per_s": batch / best_o,
                       "ratio": best_e / best_o, "median_ratio": med_e / med_o, "runs": len(t_eager),
                       "max_abs_diff": diff}
                rows.append(row)
                print(f"{batch:>4} {classes:>4} | {best_e * 1e3:>9.1f} {best_o * 1e3:>9.1f} | "
                      f"{batch / best_e:>9.1f} {batch / best_o:>9.1f} {best_e / best_o:>5.2f}x | "
                      f"{med_e / med_o:>11.2f}x | {diff:.1e}")
    print("ratio: ONNX Runtime samples/s / PyTorch samples/s (fastest call each; median in the next column)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
