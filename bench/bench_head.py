"""DVTA head throughput on this CPU: the released per-pair path vs the precomputed text side.

    python bench/bench_head.py                 # D = 384 (all-MiniLM-L6-v2) and D = 768 (the paper)
    python bench/bench_head.py --dims 384 --threads 2 --min-time 1.0

"naive" is ``DVTAHead.reference_scores`` (the released inference: SDE, text projector and the whole metric
network per window x class pair). "precomputed" is ``DVTAHead.score`` with ``encode_text`` done once
beforehand, as the live loop runs it (one labels file, many windows). Both give the same scores (checked
here on every configuration). Samples/s counts windows (skeleton features) scored against all C classes.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from dvta_live.dvta.head import DVTAHead, parameter_count


def per_call_seconds(fn: Callable[[], object], min_time: float, max_calls: int = 200) -> float:
    """Median seconds per call over repeated calls totalling at least `min_time` (after one warm-up call)."""
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_calls and (time.perf_counter() - start < min_time or len(times) < 3):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if times[-1] > min_time:  # a single call longer than the budget: one more sample is enough
            if len(times) >= 2:
                break
    times.sort()
    return times[len(times) // 2]


def multiply_adds_per_pair(head: DVTAHead) -> tuple[int, int]:
    """(naive, precomputed) multiply-adds per (window, class) pair, weights only."""
    d, h = head.text_dim, head.metric_hidden
    naive = d * d + (2 * d) * (2 * d) + (2 * d) * h + h  # text projector + metric network on [s ; p]
    fast = 3 * d + (2 * d) * h + h + 2 * d  # three dot products, second + third layers, first-layer axpy
    return naive, fast


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dims", type=int, nargs="+", default=[384, 768])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--classes", type=int, nargs="+", default=[5, 60, 120, 1000])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds of timing per cell")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, eval, no_grad")
    for d in args.dims:
        head = DVTAHead(text_dim=d).eval()
        naive_ma, fast_ma = multiply_adds_per_pair(head)
        print(f"\nD = {d}, metric hidden {head.metric_hidden}, {parameter_count(head):,} parameters; "
              f"multiply-adds per window x class: naive {naive_ma / 1e6:.2f} M, precomputed {fast_ma / 1e6:.2f} M "
              f"({naive_ma / fast_ma:.1f}x)")
        print(f"{'B':>4} {'C':>5} | {'naive ms':>9} {'naive win/s':>12} | {'pre ms':>8} {'pre win/s':>10} | "
              f"{'speed-up':>8} | {'encode_text ms':>14} | {'max |diff|':>10}")
        for b in args.batches:
            for c in args.classes:
                features = torch.randn(b, 256)
                text = torch.randn(c, 2, d)
                with torch.inference_mode():
                    side = head.encode_text(text)
                    diff = (head.score(features, side) - head.reference_scores(features, text)).abs().max().item()
                    t_naive = per_call_seconds(lambda: head.reference_scores(features, text), args.min_time)
                    t_fast = per_call_seconds(lambda: head.score(features, side), args.min_time)
                    t_text = per_call_seconds(lambda: head.encode_text(text), args.min_time / 5)
                print(f"{b:>4} {c:>5} | {t_naive * 1e3:>9.2f} {b / t_naive:>12.1f} | {t_fast * 1e3:>8.2f} "
                      f"{b / t_fast:>10.1f} | {t_naive / t_fast:>7.2f}x | {t_text * 1e3:>14.2f} | {diff:>10.2e}")


if __name__ == "__main__":
    main()
