"""Benchmark of the labels pipeline: parse; encode cold, from disk, from memory; one-line edit; watcher poll.

Runs the real packaged all-MiniLM-L6-v2 on this machine's CPU (or GPU with --device cuda), offline.

    python bench/bench_labels.py            # 120 NTU labels and 1000 synthetic labels
    python bench/bench_labels.py --threads 1 --json
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import itertools
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dvta_live.labels import LabelsWatcher, TextEncoder, bundled_labels_path, load_labels, parse_labels
from dvta_live.labels.encoder import load_model, resolve_model


def synthetic_labels(n: int) -> str:
    """n distinct actions with one or two context sentences each (names and contexts all different)."""
    verbs = ["raise", "lower", "shake", "rotate", "swing", "stretch", "tap", "rub", "point", "wave"]
    parts = ["left hand", "right hand", "left arm", "right arm", "head", "left leg", "right leg",
             "both hands",
             "shoulders", "hips"]
    manners = ["slowly", "quickly", "twice", "repeatedly", "gently", "forcefully", "in a circle",
               "up and down",
               "side to side", "while walking", "while seated"]
    lines = ["# synthetic labels for the benchmark\nactions:\n"]
    for i, (verb, part, manner) in enumerate(itertools.islice(itertools.product(verbs, parts, manners), n)):
        name = f"{verb} the {part} {manner}"
        ctx = f"The person moves the {part} to {verb} it {manner}, standing in front of the camera."
        if i % 3 == 0:  # some list contexts, pooled sentence by sentence
            lines.append(f"  - name: {name}\n    context:\n"
                         f"      - {ctx}\n      - Variant {i} of the movement.\n")
        else:
            lines.append(f"  - name: {name}\n    context: {ctx}\n")
    if len(lines) - 1 < n:
        raise SystemExit(f"only {len(lines) - 1} synthetic labels available")
    return "".join(lines)


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_file(name: str, text: str, device: str | None, work: Path) -> dict[str, float | int]:
    path = work / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    cache = work / f"cache-{name}"
    labels = load_labels(path)
    texts = len(labels) + sum(len(a.context) for a in labels.actions)
    parse_s = timed(lambda: parse_labels(text), repeat=3)

    cold = TextEncoder(cache_dir=cache, device=device)
    cold_s = timed(lambda: cold.encode_labels(labels))
    assert cold.stats.encoded == texts
    memory_s = timed(lambda: cold.encode_labels(labels), repeat=5)  # same encoder: in-memory layer
    disk = TextEncoder(cache_dir=cache, device=device)  # as a new process would: disk only
    disk_s = timed(lambda: disk.encode_labels(labels))
    assert disk.stats.encoded == 0

    # One edited context line: parse the file again and encode; exactly one text reaches the model.
    first = labels.actions[len(labels) // 2]
    edited = text.replace(first.context[0], first.context[0].rstrip(".") + ", then pauses.", 1)
    before = cold.stats.encoded
    edit_s = timed(lambda: cold.encode_labels(parse_labels(edited)))
    assert cold.stats.encoded - before == 1

    # The live loop's per-frame call when nothing changed (default throttle: a stat every 0.2 s).
    shutil.copy(path, work / f"{name}-live.yaml")
    watcher = LabelsWatcher(work / f"{name}-live.yaml", cache_dir=cache, device=device)
    n = 100_000
    poll_s = timed(lambda: [watcher.poll() for _ in range(n)]) / n
    watcher.min_interval = 0.0
    stat_s = timed(lambda: [watcher.poll() for _ in range(2000)]) / 2000  # a stat on every call
    return {"actions": len(labels), "texts": texts, "parse_s": parse_s, "encode_cold_s": cold_s,
            "encode_cached_disk_s": disk_s, "encode_cached_memory_s": memory_s,
            "edit_one_line_s": edit_s, "poll_us": poll_s * 1e6, "poll_with_stat_us": stat_s * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's choice); "
                        "1 avoids spin-waiting on a busy CPU")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    start = time.perf_counter()
    model = load_model(resolve_model(None), args.device)  # once per process, as in the live loop
    load_s = time.perf_counter() - start
    model.encode(["warm-up"], show_progress_bar=False)
    results: dict[str, object] = {"device": args.device, "torch_threads": torch.get_num_threads(),
                                  "cpu_count": os.cpu_count(), "model_load_s": load_s}
    with tempfile.TemporaryDirectory(prefix="dvta-bench-") as tmp:
        work = Path(tmp)
        results["ntu120"] = bench_file("ntu120", bundled_labels_path("ntu120").read_text(encoding="utf-8"),
                                       args.device, work)
        results["synthetic1000"] = bench_file("synthetic1000", synthetic_labels(1000), args.device, work)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"device {args.device}, {results['cpu_count']} CPUs, torch threads {results['torch_threads']}; "
          f"model load (once per process) {load_s:.2f} s")
    rows = [("actions", "{:d}"), ("texts", "{:d}"), ("parse_s", "{:.3f}"), ("encode_cold_s", "{:.3f}"),
            ("encode_cached_disk_s", "{:.4f}"), ("encode_cached_memory_s", "{:.4f}"),
            ("edit_one_line_s", "{:.3f}"), ("poll_us", "{:.2f}"), ("poll_with_stat_us", "{:.1f}")]
    print(f"{'':24s}{'ntu120':>14s}{'synthetic1000':>16s}")
    for key, fmt in rows:
        a = results["ntu120"][key]  # type: ignore[index]
        b = results["synthetic1000"][key]  # type: ignore[index]
        print(f"{key:24s}{fmt.format(a):>14s}{fmt.format(b):>16s}")


if __name__ == "__main__":
    main()
