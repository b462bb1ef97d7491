"""The whole live loop on real videos: per-stage latency and sustained FPS, lite vs full pose models;
and a soak mode (a looped video, paced in real time) that samples the process's memory.

    python bench/bench_live.py                                   # both pose models, ta_chi + the NTU clip
    python bench/bench_live.py --model models/default --runtime onnx
    python bench/bench_live.py --soak-minutes 30 --out bench/results/soak.json

"offline" runs with --no-realtime semantics (every frame, as fast as the machine goes): its FPS is the
sustained rate of source -> pose -> window -> inference. "paced" runs at the video's own frame rate, as a
camera would deliver it: frames dropped and the end-to-end latency say whether the loop keeps up.
Without --model an untrained ST-GCN model is used (same cost as a trained one). The machine may be
shared: compare rows of one invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import torch

from dvta_live.labels.bundled import bundled_labels_path
from dvta_live.labels.watcher import LabelsWatcher
from dvta_live.model import save_untrained_model
from dvta_live.pose.estimator import PoseEstimator
from dvta_live.pose.sources import LoopedSource, open_source
from dvta_live.realtime.live import LiveConfig, Prediction, Stats, recognize
from dvta_live.runtimes import open_runtime

SHARED = Path(__file__).resolve().parents[2] / "shared"
VIDEOS = [SHARED / "data/videos/ta_chi.mp4", SHARED / "data/ntu/S001C001P001R001A001_rgb.avi"]


def rss_mb() -> float:
    """Current resident set size (Linux /proc), MB."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def one_run(video: Path, pose_model: str, runtime, watcher, realtime: bool, passes: int = 1) -> dict:  # type: ignore[no-untyped-def]
    src = (open_source(str(video), realtime) if passes == 1
           else LoopedSource(lambda: open_source(str(video), realtime), passes))
    stats = Stats()
    with PoseEstimator(pose_model, mirrored=src.mirrored) as pose, src:
        started = time.perf_counter()
        preds = [e for e in recognize(src, runtime, watcher, LiveConfig(), pose=pose, stats=stats)
                 if isinstance(e, Prediction)]
        wall = time.perf_counter() - started
    row = {"video": video.name, "pose": pose_model, "mode": "paced" if realtime else "offline",
           "frames": stats.frames_processed, "read": stats.frames_read, "dropped": stats.dropped_frames,
           "windows": stats.windows_scored, "predictions": len(preds), "wall_s": round(wall, 2),
           "fps": round(stats.frames_processed / wall, 1), "source_fps": round(src.info.fps, 2)}
    for name in ("pose_ms", "inference_ms", "latency_ms", "queue_ms"):
        mean, p95 = stats.summary_of(getattr(stats, name))
        row[name] = {"mean": round(mean, 1), "p95": round(p95, 1)}
    return row


def soak(video: Path, minutes: float, runtime, watcher, out: Path | None) -> None:  # type: ignore[no-untyped-def]
    """Loop the video in real time for ``minutes``, sampling RSS every 10 s."""
    src = LoopedSource(lambda: open_source(str(video), True), None)
    stats = Stats()
    samples: list[tuple[float, float]] = []
    started = last = time.perf_counter()
    with PoseEstimator("lite", mirrored=src.mirrored) as pose, src:
        for _ in recognize(src, runtime, watcher, LiveConfig(), pose=pose, stats=stats):
            now = time.perf_counter()
            if now - last >= 10.0 or not samples:
                samples.append((round(now - started, 1), round(rss_mb(), 1)))
                last = now
                print(f"{samples[-1][0]:8.1f} s  rss {samples[-1][1]:7.1f} MB  frames {stats.frames_processed}"
                      f"  dropped {stats.dropped_frames}  windows {stats.windows_scored}", flush=True)
            if now - started >= minutes * 60:
                break
    warm = [s for s in samples if s[0] >= 60] or samples  # the first minute loads models and caches
    first, final = warm[0], warm[-1]
    growth = (final[1] - first[1]) / max((final[0] - first[0]) / 60, 1e-9)
    result = {"video": video.name, "minutes": minutes, "frames": stats.frames_processed,
              "dropped": stats.dropped_frames, "windows": stats.windows_scored,
              "rss_mb_after_1min": first[1], "rss_mb_end": final[1], "rss_mb_max": max(s[1] for s in samples),
              "growth_mb_per_min": round(growth, 3), "samples": samples}
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=1))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", nargs="+", type=Path, default=VIDEOS)
    parser.add_argument("--pose-models", nargs="+", default=["lite", "full"])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--runtime", default="torch")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--soak-minutes", type=float, default=0.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = args.model or save_untrained_model(Path(tempfile.mkdtemp()) / "untrained")
    runtime = open_runtime(model, args.runtime)
    watcher = LabelsWatcher(bundled_labels_path(), expected_dim=runtime.info.text_dim)
    print(f"runtime {runtime.describe()}, model {model}, {runtime.info.architecture} "
          f"window {runtime.info.window}, {len(watcher.labels)} labels, torch threads {args.threads}")
    if args.soak_minutes:
        soak(args.videos[0], args.soak_minutes, runtime, watcher, args.out)
        return
    rows = []
    for video in args.videos:
        for pose_model in args.pose_models:
            for realtime in (False, True):
                row = one_run(video, pose_model, runtime, watcher, realtime)
                rows.append(row)
                print(f"{row['video']:<34} {row['pose']:<5} {row['mode']:<8} {row['fps']:6.1f} fps "
                      f"(source {row['source_fps']:.0f})  dropped {row['dropped']:3d}/{row['read']}  "
                      f"pose {row['pose_ms']['mean']:.1f}/{row['pose_ms']['p95']:.1f} ms  "
                      f"inference {row['inference_ms']['mean']:.1f}/{row['inference_ms']['p95']:.1f} ms  "
                      f"latency {row['latency_ms']['mean']:.0f}/{row['latency_ms']['p95']:.0f} ms", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
