"""Live recognition on REAL RGB video, through the same path `dvta run` takes (issue 13, item 1).

    python bench/bench_real_video.py                                   # the bundled model
    python bench/bench_real_video.py --model models/my-model --name real_video_my-model
    python bench/bench_real_video.py --clips walk ntu --no-paired      # a quick subset
    python bench/bench_real_video.py --shared /path/to/shared --out /tmp/rv.json

Every clip goes through ``dvta_live.realtime.live.recognize`` in-process with the settings of
``dvta run --no-realtime`` (``open_source``, ``PoseEstimator`` lite with 2 body slots, ``LiveConfig()``,
``open_runtime(..., "auto", threads=1)``), so a model and its recipe are measured exactly as the live
recogniser uses them. Per clip: the clip label is the top-1 of the scored windows' summed raw
probabilities (``Prediction.raw``); hit@1 / hit@3 say whether the expected action is first / in the
first three; window accuracy is the share of scored windows whose raw top-1 is the expected action;
"shown" is the share whose displayed label (smoothed, thresholded: what a user sees) is.

Clips (from ``--shared``, default ``../shared`` beside the repository; nothing from it is copied here):
  * the 12 clips of data/videos/real-actions, scored against bench/labels/real-actions.yaml (16 actions);
  * NTU A001 (drink water) RGB video, against the bundled ntu120 labels (goal: top-5) and the bundled
    everyday labels (goal: top-1);
  * Kinetics ta_chi.mp4 and clean_and_jerk.mp4, against bench/labels/everyday-plus.yaml.

Paired-clip report on NTU A001 (the pose of the first NTU run, i.e. the live path's own MediaPipe output,
against the Kinect v2 skeleton of the same recording): per NTU-25 joint the 2-D image distance between
MediaPipe's landmarks (``PoseResult.image_ntu25``) and Kinect's colour-space joints, in torso lengths
(Kinect spine_base -> spine_shoulder in the image, per frame); the 3-D distance between MediaPipe's NTU-25
joints and Kinect's camera-space joints after centring both on spine_base, in metres; and the official
NTU-120 X-sub Shift-GCN's top-5 (its own classifier, recipe shiftgcn64) on the Kinect skeleton and on the
MediaPipe skeleton.

Writes JSON (default bench/results/<name>.json, name "real_video") and a markdown table rendered from it
beside it (.md). The machine may be shared: run one process at a time; latencies are this machine's.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DVTA_SHARED", REPO.parent / "shared"))
LABELS_DIR = REPO / "bench" / "labels"
NTU_A001 = "data/ntu/S001C001P001R001A001"
OFFICIAL_NTU120 = "weights/shift-gcn/ntu120_ShiftGCN_joint_xsub.pt"
OFFICIAL_RECIPES = ("shiftgcn64", "shiftgcn300")

# clip (relative to --shared) -> (group, labels file key, expected action name in that labels file)
REAL_ACTIONS = {
    "walk__alesoto__1.mp4": "walk",
    "run__prash__1.mp4": "run",
    "wave__omkar__1.mp4": "wave",
    "box__darebee__1.mp4": "punch",
    "kick__prash__1.mp4": "kick",
    "squat__darebee__1.mp4": "squat",
    "push_up__darebee__1.mp4": "push-up",
    "jumping_jacks__rjsong__1.mp4": "jumping jacks",
    "jump__darebee__1.mp4": "jump",
    "dance__vivaan__1.avi": "dance",
    "climb__vivaan__1.avi": "climb",
    "stand__omkar__1.mp4": "stand still",
}
CLIPS: list[tuple[str, str, str, str]] = [
    *[(f"data/videos/real-actions/{f}", "real-actions", "real-actions", a) for f, a in REAL_ACTIONS.items()],
    (f"{NTU_A001}_rgb.avi", "ntu", "ntu120", "drink water"),
    (f"{NTU_A001}_rgb.avi", "ntu", "everyday", "drink water"),
    ("data/videos/ta_chi.mp4", "kinetics", "everyday-plus", "tai chi"),
    ("data/videos/clean_and_jerk.mp4", "kinetics", "everyday-plus", "lift a barbell overhead"),
]


def labels_file(key: str) -> Path:
    from dvta_live.labels.bundled import bundled_labels

    local = LABELS_DIR / f"{key}.yaml"
    return local if local.is_file() else bundled_labels()[key]


def _norm(name: str) -> str:
    return "".join(name.lower().split())


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def git_commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty", "--abbrev=10"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# --- one clip through the live loop --------------------------------------------------------------------

class CachedPose:
    """The pose stage with its results kept on disk per clip: comparing models reruns only what differs.
    Same results as the estimator by construction (they are its results); pose timings are then not
    measured. The cache is derived from the clips: it stays in a gitignored folder."""

    def __init__(self, estimator: Any, cache: Path) -> None:
        self.estimator, self.cache = estimator, cache
        self.results: dict[int, Any] = pickle.loads(cache.read_bytes()) if cache.is_file() else {}
        self.hit = bool(self.results)

    def estimate(self, frame: Any) -> Any:
        if frame.index not in self.results:
            self.results[frame.index] = self.estimator.estimate(frame)
        return self.results[frame.index]

    def save(self) -> None:
        if not self.hit:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(self.results))
            os.replace(tmp, self.cache)


def run_clip(path: Path, runtime: Any, watcher: Any, config: Any, pose_model: str, people: int,
             keep_poses: bool, pose_cache: Path | None = None) -> tuple[list[Any], list[Any], Any, float]:
    """(predictions, pose results if asked, Stats, wall seconds) of one clip, as `dvta run` processes it."""
    from dvta_live.pose.estimator import PoseEstimator
    from dvta_live.pose.sources import open_source
    from dvta_live.realtime.live import FrameResult, Prediction, Stats, recognize

    src = open_source(str(path), realtime=False)
    stats = Stats()
    preds: list[Prediction] = []
    poses: list[Any] = []
    started = time.perf_counter()
    with PoseEstimator(pose_model, mirrored=src.mirrored, num_people=people) as estimator, src:
        pose = estimator
        if pose_cache is not None:
            pose = CachedPose(estimator, pose_cache / f"{path.name}.{pose_model}.{people}.pkl")
        for event in recognize(src, runtime, watcher, config, pose=pose, stats=stats):
            if isinstance(event, Prediction):
                preds.append(event)
            elif keep_poses and isinstance(event, FrameResult):
                poses.append(event.pose)  # not the frame: its image would pile up
        if isinstance(pose, CachedPose):
            pose.save()
    return preds, poses, stats, time.perf_counter() - started


def score_clip(preds: list[Any], expected: str) -> dict[str, Any]:
    from dvta_live.realtime.live import ACTION

    scored = [p for p in preds if p.raw is not None]
    row: dict[str, Any] = {"windows": len(scored), "predictions": len(preds)}
    if not scored:
        return {**row, "top": [], "rank": None, "hit1": False, "hit3": False, "hit5": False,
                "window_acc": 0.0, "shown_acc": 0.0}
    names = list(scored[-1].names)
    keys = [_norm(n) for n in names]
    if _norm(expected) not in keys:
        raise SystemExit(f"expected action {expected!r} is not in the labels file ({', '.join(names)})")
    target = keys.index(_norm(expected))
    summed = np.sum([p.raw for p in scored], axis=0)
    probs = summed / summed.sum()
    order = [int(i) for i in np.argsort(-probs)]
    rank = order.index(target) + 1
    window_top = [int(np.argmax(p.raw)) for p in scored]
    shown = [p.label for p in scored]
    return {**row, "top": [{"name": names[i], "p": round(float(probs[i]), 4)} for i in order[:5]],
            "rank": rank, "hit1": rank == 1, "hit3": rank <= 3, "hit5": rank <= 5,
            "window_acc": round(float(np.mean([w == target for w in window_top])), 4),
            "shown_acc": round(float(np.mean([s == names[target] for s in shown])), 4),
            "shown_unknown": round(float(np.mean([p.state != ACTION for p in scored])), 4)}


# --- paired clip: MediaPipe vs Kinect on NTU A001 --------------------------------------------------------

def _top5(logits: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    z = logits - logits.max()
    p = np.exp(z) / np.exp(z).sum()
    return [{"index": int(i), "name": names[int(i)], "p": round(float(p[i]), 4)} for i in np.argsort(-p)[:5]]


def paired_report(poses: list[Any], shared: Path, model_info: Any = None) -> dict[str, Any]:
    from dvta_live.backbone.checkpoint import load_backbone, load_torch_checkpoint
    from dvta_live.backbone.extract import run_backbone
    from dvta_live.model import BACKBONE_FILE, bundled_model_path
    from dvta_live.skeleton.layouts import NTU25_JOINTS
    from dvta_live.skeleton.readers import read_ntu_skeleton
    from dvta_live.skeleton.recipe import get_recipe
    from dvta_live.skeleton.sequence import SkeletonSequence

    kinect = read_ntu_skeleton(shared / f"{NTU_A001}.skeleton")
    color = kinect.meta["color_xy"]  # [2, T, 25, 2] pixels
    tracked = kinect.meta["tracking_state"]  # [T, 25, 2]
    base, shoulder = NTU25_JOINTS.index("spine_base"), NTU25_JOINTS.index("spine_shoulder")
    d2: list[np.ndarray] = []
    d3: list[np.ndarray] = []
    used = 0
    for pr in poses:
        t = pr.index
        if t >= kinect.num_frames or not pr.present[0] or not np.any(kinect.data[:, t, :, 0]):
            continue
        used += 1
        k_xy = color[:, t, :, 0].T  # [25, 2]
        m_xy = pr.image_ntu25()[0]
        torso = float(np.linalg.norm(k_xy[shoulder] - k_xy[base]))
        dist2 = np.linalg.norm(m_xy - k_xy, axis=1) / torso
        dist2[tracked[t, :, 0] == 0] = np.nan  # joints Kinect did not track
        d2.append(dist2)
        k3 = kinect.data[:, t, :, 0].T
        m3 = np.asarray(pr.joints[:, :, 0]).T
        d3.append(np.linalg.norm((m3 - m3[base]) - (k3 - k3[base]), axis=1))
    a2, a3 = np.array(d2), np.array(d3)
    joints = [{"joint": NTU25_JOINTS[j], "d2_torso": round(float(np.nanmean(a2[:, j])), 3),
               "d3_m": round(float(a3[:, j].mean()), 3)} for j in range(len(NTU25_JOINTS))]
    body = [j for j in joints if j["joint"] != "spine_base"]
    report: dict[str, Any] = {
        "clip": f"{NTU_A001}_rgb.avi vs {NTU_A001}.skeleton", "frames_paired": used,
        "frames_video": len(poses), "frames_kinect": kinect.num_frames,
        "frames_second_person": int(sum(bool(p.present[1]) for p in poses)),
        "joints": joints,
        "d2_torso_median_joint": round(float(np.median([j["d2_torso"] for j in body])), 3),
        "d2_torso_max_joint": max(body, key=lambda j: j["d2_torso"]),
        "d3_m_mean": round(float(np.mean([j["d3_m"] for j in body])), 3),
        "d3_m_max_joint": max(body, key=lambda j: j["d3_m"]),
    }
    # the official NTU-120 Shift-GCN, its own classifier; recipe shiftgcn64 (the bundled model's)
    official = shared / OFFICIAL_NTU120
    if official.is_file():
        model, info = load_torch_checkpoint(official, "shiftgcn64")
        where = f"<shared>/{OFFICIAL_NTU120}"
    else:  # the bundled backbone is that checkpoint imported unchanged (if it still has 120 classes)
        model, info = load_backbone(bundled_model_path() / BACKBONE_FILE)
        where = "bundled backbone (no official checkpoint in --shared)"
        if info.num_class != 120:
            report["official"] = {"error": f"{official} missing and the bundled backbone has no NTU-120 fc"}
            return report
    label_map = shared / "data/ntu/label_map_ntu120.txt"
    names = (label_map.read_text().splitlines() if label_map.is_file() else list(info.class_names or []))
    mp_data = np.stack([np.asarray(p.joints) for p in poses], axis=1)  # [3, T, 25, 2], as the loop sees it
    mp_seq = SkeletonSequence(data=mp_data, name="mediapipe")
    # shiftgcn64: the bundled model's recipe (the live path); shiftgcn300: the published preprocessing
    report["official"] = {"checkpoint": where, "recipes": {}}
    for recipe in OFFICIAL_RECIPES:
        _, logits = run_backbone(model, get_recipe(recipe), [kinect, mp_seq])
        report["official"]["recipes"][recipe] = {"kinect_top5": _top5(logits[0], names),
                                                 "mediapipe_top5": _top5(logits[1], names)}
    # the measured model's own backbone on the MediaPipe input as the live loop prepares it (for a lifted
    # backbone: MediaPipe's 2-D landmarks, lifted, through the official weights and their classifier)
    if model_info is not None and model_info.recipe.plane != "xyz":
        lifted, binfo = load_backbone(model_info.backbone_path)
        if binfo.num_class == len(names):
            plane = model_info.recipe.plane
            seq = SkeletonSequence(data=np.stack([np.asarray(p.joints_for(plane)) for p in poses], axis=1))
            _, logits = run_backbone(lifted, model_info.recipe, [seq])
            report["official"]["model_backbone"] = {"recipe": model_info.recipe.name,
                                                    "mediapipe_top5": _top5(logits[0], names)}
    return report


# --- output --------------------------------------------------------------------------------------------

def _top3(row: dict[str, Any]) -> str:
    return ", ".join(f"{t['name']} {t['p']:.2f}" for t in row["top"][:3])


def _fmt_top(top: list[dict[str, Any]]) -> str:
    return ", ".join(f"{x['name']} {x['p']:.2f}" for x in top)


def _mark(ok: bool) -> str:
    return "yes" if ok else "-"


def render_md(res: dict[str, Any]) -> str:
    out = [f"# Real-video live recognition: {res['name']}", "",
           (f"Commit `{res['commit']}`, model `{res['model']}`, runtime {res['runtime']}, pose model "
            f"{res['pose_model']} ({res['people']} slots), window {res['config']['window_s']} s every "
            f"{res['config']['stride_s']} s. {res['machine']}. Run time {res['wall_s']:.0f} s."), "",
           ("Clip label = top-1 of the scored windows' summed raw probabilities; win acc = share of windows "
            "whose raw top-1 is the expected action; shown = share whose displayed (smoothed, thresholded) "
            "label is."), "",
           "| clip | labels | expected | predicted top-3 (p) | rank | @1 | @3 | win acc | shown | windows |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["clips"]:
        out.append(f"| {r['clip']} | {r['labels']} | {r['expected']} | {_top3(r)} | {r['rank']} | "
                   f"{_mark(r['hit1'])} | {_mark(r['hit3'])} | {r['window_acc']:.2f} | {r['shown_acc']:.2f} | "
                   f"{r['windows']} |")
    t = res["totals"]
    out += ["", (f"**real-actions ({t['clips']} clips): top-1 {t['top1']}/{t['clips']}, top-3 {t['top3']}/"
                 f"{t['clips']}, mean window accuracy {t['window_acc']:.2f}.**"), ""]
    for r in res["clips"]:
        if r["group"] != "real-actions":
            out.append(f"- {r['clip']} with {r['labels']} labels: expected *{r['expected']}* ranks {r['rank']} "
                       f"(top-1 {_mark(r['hit1'])}, top-5 {_mark(r['hit5'])}); predicted {_top3(r)}.")
    lat = res["latency"]
    out += ["", (f"Latency per window (mean over all clips, this machine): inference (recipe + runtime) "
                 f"{lat['inference_ms']:.1f} ms; pose {lat['pose_ms']:.1f} ms per frame; capture-to-prediction "
                 f"{lat['latency_ms']:.1f} ms in --no-realtime mode (includes queue waits)."), ""]
    p = res.get("paired")
    if p:
        out += ["## Paired clip: NTU A001, MediaPipe (live path) vs Kinect v2", "",
                (f"{p['frames_paired']} frames paired ({p['frames_video']} video, {p['frames_kinect']} "
                 f"Kinect); a second MediaPipe person in {p['frames_second_person']} frames. 2-D: image distance "
                 "in torso lengths (Kinect spine_base-spine_shoulder); 3-D: metres after centring both on "
                 "spine_base."),
                "",
                (f"2-D median over joints {p['d2_torso_median_joint']:.3f}, worst "
                 f"{p['d2_torso_max_joint']['joint']} {p['d2_torso_max_joint']['d2_torso']:.3f}; 3-D mean "
                 f"{p['d3_m_mean']:.3f} m, worst {p['d3_m_max_joint']['joint']} "
                 f"{p['d3_m_max_joint']['d3_m']:.3f} m."),
                "", "| joint | 2-D (torso lengths) | 3-D (m) |", "|---|---|---|"]
        out += [f"| {j['joint']} | {j['d2_torso']:.3f} | {j['d3_m']:.3f} |" for j in p["joints"]]
        o = p.get("official", {})
        if "recipes" in o:
            out += ["", f"Official NTU-120 X-sub Shift-GCN ({o['checkpoint']}, its own classifier) top-5:", ""]
            for recipe, r in o["recipes"].items():
                out += [f"- recipe {recipe}, Kinect skeleton: {_fmt_top(r['kinect_top5'])}",
                        f"- recipe {recipe}, MediaPipe skeleton: {_fmt_top(r['mediapipe_top5'])}"]
            if "model_backbone" in o:
                out += [(f"- the measured model's backbone (recipe {o['model_backbone']['recipe']}: MediaPipe "
                        f"image landmarks, lifted): {_fmt_top(o['model_backbone']['mediapipe_top5'])}")]
        elif o:
            out += ["", f"Official model: {o.get('error')}"]
    return "\n".join(out) + "\n"


def print_table(res: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"real video: {res['model']}", title_justify="left")
    for col, just in (("clip", "left"), ("labels", "left"), ("expected", "left"), ("predicted top-3", "left"),
                      ("rank", "right"), ("@1", "center"), ("@3", "center"), ("win acc", "right"),
                      ("windows", "right")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in res["clips"]:
        table.add_row(r["clip"], r["labels"], r["expected"], _top3(r), str(r["rank"]), _mark(r["hit1"]),
                      _mark(r["hit3"]), f"{r['window_acc']:.2f}", str(r["windows"]))
    console = Console(width=160)
    console.print(table)
    t = res["totals"]
    console.print(f"real-actions: top-1 {t['top1']}/{t['clips']}, top-3 {t['top3']}/{t['clips']}, "
                  f"window accuracy {t['window_acc']:.2f}; run time {res['wall_s']:.0f} s")
    p = res.get("paired")
    if p:
        console.print(f"paired NTU A001: 2-D median {p['d2_torso_median_joint']:.3f} torso lengths (worst "
                      f"{p['d2_torso_max_joint']['joint']} {p['d2_torso_max_joint']['d2_torso']:.3f}), 3-D mean "
                      f"{p['d3_m_mean']:.3f} m")
        for recipe, r in p.get("official", {}).get("recipes", {}).items():
            for key in ("kinect_top5", "mediapipe_top5"):
                console.print(f"  official Shift-GCN ({recipe}) on {key.split('_')[0]}: {_fmt_top(r[key])}")


# --- main ----------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None, help="model folder (default: the bundled model)")
    ap.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder (default ../shared)")
    ap.add_argument("--name", default="real_video", help="result name: bench/results/NAME.json and .md")
    ap.add_argument("--out", type=Path, default=None, help="JSON to write (default bench/results/NAME.json); "
                    "the markdown goes beside it")
    ap.add_argument("--runtime", default="auto", help="auto | onnx | torch | tensorrt (as dvta run)")
    ap.add_argument("--pose-model", default="lite", help="lite | full | a .task file (as dvta run)")
    ap.add_argument("--people", type=int, default=2, help="body slots (as dvta run)")
    ap.add_argument("--clips", nargs="*", default=None, help="only clips whose path contains one of these")
    ap.add_argument("--no-paired", action="store_true", help="skip the NTU A001 paired-clip report")
    ap.add_argument("--pose-cache", type=Path, nargs="?", const=REPO / "bench" / "results" / "real_video_work",
                    default=None, help="keep MediaPipe's results per clip in this folder (default "
                    "bench/results/real_video_work, gitignored) and reuse them: model comparisons in seconds; "
                    "pose timings are then not measured")
    args = ap.parse_args()

    from dvta_live.labels.watcher import LabelsWatcher
    from dvta_live.model import default_model
    from dvta_live.outputs import JSONL_SUFFIXES, check_output, write_text_atomic
    from dvta_live.realtime.live import LiveConfig
    from dvta_live.runtimes import open_runtime

    shared = args.shared
    if not (shared / "data").is_dir():
        sys.exit(f"no shared data folder at {shared}: pass --shared (see the docstring)")
    out = args.out or REPO / "bench" / "results" / f"{args.name}.json"
    check_output(out, suffixes=JSONL_SUFFIXES)  # before minutes of pose estimation
    model = default_model(args.model)
    config = LiveConfig(min_span_s=min(1.0, LiveConfig().window_s))  # dvta run's defaults
    started = time.perf_counter()
    runtime = open_runtime(model, args.runtime, threads=1)
    watchers: dict[str, LabelsWatcher] = {}
    clips = [c for c in CLIPS if not args.clips or any(s in c[0] for s in args.clips)]
    rows: list[dict[str, Any]] = []
    timings: dict[str, list[float]] = {"pose_ms": [], "inference_ms": [], "latency_ms": []}
    paired: dict[str, Any] | None = None
    for rel, group, key, expected in clips:
        path = shared / rel
        if not path.is_file():
            print(f"{rel}: missing, skipped", file=sys.stderr)
            continue
        if key not in watchers:
            watchers[key] = LabelsWatcher(labels_file(key), expected_dim=runtime.info.text_dim)
        want_poses = (not args.no_paired and paired is None and group == "ntu")
        preds, poses, stats, wall = run_clip(path, runtime, watchers[key], config, args.pose_model,
                                             args.people, want_poses, args.pose_cache)
        row = {"clip": Path(rel).name, "group": group, "labels": key, "expected": expected,
               **score_clip(preds, expected), "frames": stats.frames_processed,
               "pose_errors": stats.pose_errors, "wall_s": round(wall, 2),
               "inference_ms": round(mean_of(stats.inference_ms), 2),
               "pose_ms": round(mean_of(stats.pose_ms), 2)}
        for k in timings:
            timings[k] += list(getattr(stats, k))
        rows.append(row)
        print(f"{row['clip']:30s} {key:14s} expected {expected!r:26s} -> {_top3(row)}  rank {row['rank']} "
              f"win {row['window_acc']:.2f} ({row['windows']} windows, {wall:.1f} s)", file=sys.stderr)
        if want_poses:
            paired = paired_report(poses, shared, runtime.info)
    real = [r for r in rows if r["group"] == "real-actions"]
    res: dict[str, Any] = {
        "name": args.name, "commit": git_commit(), "model": _rel(Path(model)), "runtime": runtime.describe(),
        "pose_model": args.pose_model, "people": args.people,
        "config": {"window_s": config.window_s, "stride_s": config.stride_s, "rate_hz": config.rate_hz,
                   "smoothing": config.smoothing, "threshold": config.threshold},
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs visible, {platform.python_version()}",
        "labels_files": {k: _rel(labels_file(k)) for k in watchers},
        "clips": rows,
        "totals": {"clips": len(real), "top1": sum(r["hit1"] for r in real), "top3": sum(r["hit3"] for r in real),
                   "window_acc": round(float(np.mean([r["window_acc"] for r in real])), 4) if real else 0.0},
        "latency": {k: round(mean_of(v), 2) for k, v in timings.items()},
        "paired": paired,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    write_text_atomic(out, json.dumps(res, indent=1, ensure_ascii=False) + "\n")
    write_text_atomic(out.with_suffix(".md"), render_md(res))
    print_table(res)
    print(f"wrote {_rel(out)} and {_rel(out.with_suffix('.md'))}", file=sys.stderr)


def mean_of(values: list[float]) -> float:
    return float(np.mean(values)) if values else 0.0


if __name__ == "__main__":
    main()
