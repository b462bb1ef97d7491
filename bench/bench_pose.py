"""Pose-stage latency and sustained FPS on this CPU: MediaPipe lite/full on real videos.

    python bench/bench_pose.py                        # ta_chi.mp4 and the NTU RGB video, lite and full
    python bench/bench_pose.py --models lite --people 1 2 --max-side 640 0
    python bench/bench_pose.py --videos PATH.mp4 --repeat 3

Per frame it times ``PoseEstimator.estimate`` (resize, colour conversion, MediaPipe, the masked
second-person search when it runs, tracking, NTU-25 mapping) apart from decoding the frame
(``Source.frames``). "sustained" is frames / (decode + pose) wall time with nothing else running, i.e.
the rate a non-realtime run of the source -> pose part of the loop reaches. Latency percentiles are over
all frames of all repeats; the first frame (model warm-up, first detection) is reported on its own.
The machine may be shared: compare configurations run in the same invocation.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from dvta_live.pose.estimator import PoseEstimator
from dvta_live.pose.sources import open_source

SHARED = Path(os.environ.get("DVTA_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DEFAULT_VIDEOS = [SHARED / "data" / "videos" / "ta_chi.mp4",
                  SHARED / "data" / "ntu" / "S001C001P001R001A001_rgb.avi"]


def bench(video: str, model: str, people: int, max_side: int | None, repeat: int) -> dict[str, float]:
    pose_s: list[float] = []
    decode_total = pose_total = 0.0
    first = 0.0
    frames = found = 0
    for r in range(repeat):
        src = open_source(video, realtime=False)
        with PoseEstimator(model, mirrored=src.mirrored, num_people=people, max_side=max_side) as est:
            it = src.frames()
            while True:
                t0 = time.perf_counter()
                frame = next(it, None)
                t1 = time.perf_counter()
                if frame is None:
                    break
                result = est.estimate(frame)
                t2 = time.perf_counter()
                decode_total += t1 - t0
                pose_total += t2 - t1
                if frame.index == 0 and r == 0:
                    first = t2 - t1
                else:
                    pose_s.append(t2 - t1)
                frames += 1
                found += result.num_people > 0
    ms = np.array(pose_s) * 1000
    return {"frames": frames, "first_ms": first * 1000, "mean_ms": float(ms.mean()),
            "p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)), "decode_ms": decode_total / frames * 1000,
            "pose_fps": frames / pose_total, "sustained_fps": frames / (decode_total + pose_total),
            "found": found / frames}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", nargs="+", default=[str(v) for v in DEFAULT_VIDEOS])
    ap.add_argument("--models", nargs="+", default=["lite", "full"])
    ap.add_argument("--people", nargs="+", type=int, default=[2, 1], help="num_people settings to compare")
    ap.add_argument("--max-side", nargs="+", type=int, default=[640], help="0 = no downscale")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    print(f"CPU cores visible: {os.cpu_count()}; times per frame in ms")
    print(f"{'video':34s} {'model':5s} {'ppl':>3s} {'side':>5s} {'first':>6s} {'mean':>6s} {'p50':>6s} "
          f"{'p90':>6s} {'p99':>6s} {'decode':>6s} {'pose fps':>8s} {'sust. fps':>9s} {'found':>6s}")
    for video in args.videos:
        if not Path(video).exists():
            print(f"{video}: missing, skipped")
            continue
        for model in args.models:
            for people in args.people:
                for side in args.max_side:
                    r = bench(video, model, people, side or None, args.repeat)
                    print(f"{Path(video).name[:34]:34s} {model:5s} {people:3d} {side or 'full':>5} "
                          f"{r['first_ms']:6.1f} {r['mean_ms']:6.1f} {r['p50_ms']:6.1f} {r['p90_ms']:6.1f} "
                          f"{r['p99_ms']:6.1f} {r['decode_ms']:6.1f} {r['pose_fps']:8.1f} "
                          f"{r['sustained_fps']:9.1f} {r['found']:6.0%}", flush=True)


if __name__ == "__main__":
    main()
