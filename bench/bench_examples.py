"""Teach by example (issue 15): what k recorded examples per action add to zero-shot text, and the
fusion's weight and sharpness chosen on skeleton data.

    python bench/bench_examples.py                      # skeleton data, real video, latency
    python bench/bench_examples.py --skip-real-video    # skeleton data only

Skeleton data (../shared): the official NTU-120 Shift-GCN (the bundled model's backbone) and a DVTA head
trained here on the SEEN classes of a published zero-shot split (NW-UCLA 5/5, UTD-MHAD 14/13; 40 epochs,
batch 32, the bundled build's settings), packed with the bridge as `dvta model pack` does. The unseen
classes are then scored with k = 0 (text alone), 1, 3 or 5 examples per unseen class, drawn (3 draws) from
OTHER recordings than the test ones: NW-UCLA examples from views 1-2, tested on view 3 (its cross-view
protocol); UTD-MHAD examples from the odd subjects, tested on the even ones (its cross-subject protocol).
Examples and test clips go through the live path's windows (``ExampleBank``: ``TimeWindow`` windows,
the recipe, ``Runtime.features``); a clip's scores are the mean over its windows. The fusion's weight and
sharpness are chosen on these two datasets (mean top-1 over k = 1, 3, 5 and the draws), and the chosen
pair is checked through ``Runtime.prepare_text`` + ``scores`` (the exported-graph path) against the
formula.

Real video (measurement only; the bench's pose cache from bench_real_video.py --pose-cache): for each of
the 12 real-actions clips, examples from the first 40 % of the clip (k stretches of up to 3 s), test
windows from the last 40 % (every 0.5 s, as `dvta run`), labels bench/labels/real-actions.yaml, clip
label = top-1 of the windows' summed probabilities; and NTU A001's Kinect skeleton as the example of
"drink water" (everyday labels), tested on the MediaPipe skeleton of the same recording's RGB video.

Latency: one window through ONNX Runtime (1 thread) with 0 and with 50 example windows.

Writes bench/results/examples.json and examples.md.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("DVTA_SHARED", REPO.parent / "shared"))
BACKBONE = REPO / "dvta_live" / "assets" / "model" / "backbone.safetensors"  # the official NTU-120 weights
SPLITS = {"nw-ucla": "nw-ucla-5/5", "utd-mhad": "utd-mhad-14/13"}
KS = (0, 1, 3, 5)
DRAWS = 3
WEIGHTS = (0.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0)
SHARPNESS = (5.0, 10.0, 20.0, 40.0)
POSE_CACHE = REPO / "bench" / "results" / "real_video_work"


def is_test(dataset: str, seq: Any) -> bool:
    """NW-UCLA: view 3 (cross-view); UTD-MHAD: even subjects (cross-subject)."""
    if dataset == "nw-ucla":
        return int(seq.meta.get("view", 0)) == 3
    return int(seq.subject) % 2 == 0


def added(feats: list[np.ndarray], ex_feats: list[np.ndarray], ex_class: list[int], num_classes: int,
          weight: float, sharpness: float) -> np.ndarray:
    """dvta.examples' formula in numpy, per clip (mean over its windows): [N, C]."""
    keys = np.concatenate(ex_feats)
    keys = keys / np.linalg.norm(keys, axis=1, keepdims=True)
    cls = np.concatenate([[c] * len(f) for f, c in zip(ex_feats, ex_class, strict=True)])
    counts = np.bincount(cls, minlength=num_classes)
    values = np.zeros((len(keys), num_classes))
    values[np.arange(len(keys)), cls] = weight / counts[cls]
    out = []
    for f in feats:
        unit = f / np.linalg.norm(f, axis=1, keepdims=True)
        out.append((np.exp(sharpness * (unit @ keys.T - 1.0)) @ values).mean(axis=0))
    return np.stack(out)


def skeleton_part(dataset: str, work: Path) -> dict[str, Any]:
    from dvta_live.backbone.extract import extract_features
    from dvta_live.dvta.features import class_texts_from_labels, load_features
    from dvta_live.dvta.headfile import save_head
    from dvta_live.dvta.splits import get_split
    from dvta_live.dvta.train import HeadTrainConfig, train_head
    from dvta_live.model import pack_model
    from dvta_live.realtime.example_bank import example_windows
    from dvta_live.runtimes import TorchRuntime
    from dvta_live.skeleton.readers import read_path

    split = get_split(SPLITS[dataset])
    folder = work / dataset
    features, head, model = folder / "features", folder / "head.safetensors", folder / "model"
    data = SHARED / "data" / dataset
    started = time.perf_counter()
    if not (features / "train.npy").is_file():
        extract_features(BACKBONE, [data], features, split=split.name)
    if not head.is_file():
        result = train_head(load_features(features), class_texts_from_labels(dataset), split,
                            HeadTrainConfig(epochs=40, batch_size=32, metric_hidden=None, seed=0), dataset=dataset)
        save_head(head, result.head, result.info)
    if not (model / "head.safetensors").is_file():
        pack_model(BACKBONE, head, model)
    runtime = TorchRuntime(model, threads=1)
    texts = class_texts_from_labels(dataset)
    unseen = list(split.unseen)
    prepared = runtime.prepare_text(np.asarray(texts.embeddings)[unseen])
    recipe = runtime.info.recipe
    clips = [s for s in read_path(data) if s.label in unseen and np.any(s.data)]
    feats, text_scores = [], []
    for s in clips:  # every clip's live windows, once: its features and its text scores
        batch = np.stack([recipe.apply(w) for w in example_windows(s.data, float(s.fps or 30.0))])
        feats.append(runtime.features(batch, prepared))
        text_scores.append(runtime.scores(batch, prepared).mean(axis=0))
    label = np.array([unseen.index(s.label) for s in clips])
    test = np.array([is_test(dataset, s) for s in clips])
    text_scores_a = np.stack(text_scores)
    rows, drawn = [], {}
    test_idx = np.flatnonzero(test)
    for draw in range(DRAWS):
        rng = np.random.default_rng(draw)
        for k in KS:
            picks = {c: [] if k == 0 else [int(i) for i in rng.choice(np.flatnonzero(~test & (label == c)), size=k,
                                                                     replace=False)] for c in range(len(unseen))}
            drawn[f"draw {draw}, k {k}"] = [clips[i].name for c in range(len(unseen)) for i in picks[c]]
            for weight in (WEIGHTS if k else (0.0,)):
                for sharpness in (SHARPNESS if k and weight else (SHARPNESS[0],)):
                    # "all": every unseen action has k examples; "one": one action at a time has them (a
                    # user teaching one action: its clips must become it, the others must not)
                    for protocol, taught in (("all", [list(range(len(unseen)))]),
                                             ("one", [[c] for c in range(len(unseen))])):
                        if k == 0 and protocol == "one":
                            continue
                        hits = []
                        for classes in taught:
                            chosen = [i for c in classes for i in picks[c]]
                            scores = text_scores_a[test_idx]
                            if chosen and weight:
                                scores = scores + added([feats[i] for i in test_idx], [feats[i] for i in chosen],
                                                        [int(label[i]) for i in chosen], len(unseen), weight,
                                                        sharpness)
                            hits.append(float((scores.argmax(axis=1) == label[test_idx]).mean() * 100))
                        rows.append({"draw": draw, "k": k, "weight": weight, "sharpness": sharpness,
                                     "protocol": protocol, "top1": round(float(np.mean(hits)), 3)})
    return {"dataset": dataset, "split": split.name, "unseen": [texts.names[c] for c in unseen],
            "test_clips": int(test.sum()), "example_pool": int((~test).sum()), "examples_drawn": drawn, "rows": rows,
            "runtime": runtime.describe(), "seconds": round(time.perf_counter() - started, 1),
            "_check": (runtime, prepared, feats, text_scores_a, label, test, clips, unseen)}


def mean_top1(part: dict[str, Any], k: int, weight: float, sharpness: float, protocol: str = "all") -> float:
    vals = [r["top1"] for r in part["rows"] if r["k"] == k and r["weight"] == weight
            and (k == 0 or r["protocol"] == protocol) and (k == 0 or weight == 0 or r["sharpness"] == sharpness)]
    return float(np.mean(vals))


def choose(parts: list[dict[str, Any]]) -> tuple[float, float, dict]:
    """The (weight, sharpness) with the best mean top-1 over both datasets, both protocols (every unseen
    action taught; one at a time), k = 1, 3, 5 and the draws."""
    grid = {(w, s): float(np.mean([mean_top1(p, k, w, s, protocol) for p in parts for k in KS[1:]
                                   for protocol in ("all", "one")]))
            for w in WEIGHTS[1:] for s in SHARPNESS}
    (w, s), _ = max(grid.items(), key=lambda kv: kv[1])
    return w, s, {f"{w}/{s}": round(v, 2) for (w, s), v in grid.items()}


def check_runtime_path(part: dict[str, Any], weight: float, sharpness: float) -> float:
    """The chosen fusion through Runtime.prepare_text + scores equals the formula: max |difference|."""
    from dvta_live.dvta.examples import example_side
    from dvta_live.dvta.features import class_texts_from_labels
    from dvta_live.realtime.example_bank import example_windows

    runtime, _, feats, text_scores, label, test, clips, unseen = part["_check"]
    picks = [int(np.flatnonzero(~test & (label == c))[0]) for c in range(len(unseen))]
    texts = np.asarray(class_texts_from_labels(part["dataset"]).embeddings)[unseen]
    side = example_side(np.concatenate([feats[i] for i in picks]),
                        [int(label[i]) for i in picks for _ in range(len(feats[i]))], len(unseen),
                        weight=weight, sharpness=sharpness)
    prepared = runtime.prepare_text(texts, side)
    worst = 0.0
    recipe = runtime.info.recipe
    for i in np.flatnonzero(test)[:20]:
        batch = np.stack([recipe.apply(w) for w in example_windows(clips[i].data, float(clips[i].fps or 30.0))])
        got = runtime.scores(batch, prepared).mean(axis=0)
        want = text_scores[i] + added([feats[i]], [feats[j] for j in picks], [int(label[j]) for j in picks],
                                      len(unseen), weight, sharpness)[0]
        worst = max(worst, float(np.abs(got - want).max()))
    return worst


# --- real video ------------------------------------------------------------------------------------
def clip_poses(name: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(joints [3, T, 25, 2], timestamps) of a clip from the real-video bench's pose cache, or None."""
    found = sorted(POSE_CACHE.glob(f"{name}.lite.2.pkl"))
    if not found:
        return None
    results = pickle.loads(found[0].read_bytes())
    poses = [results[i] for i in sorted(results) if results[i] is not None]
    return np.stack([np.asarray(p.joints) for p in poses], axis=1), np.array([p.timestamp_s for p in poses])


def live_windows(joints: np.ndarray, times: np.ndarray, start_s: float, end_s: float,
                 stride_s: float = 0.5) -> list[np.ndarray]:
    """The windows `dvta run` scores (every stride) whose end lies in [start_s, end_s]."""
    from dvta_live.realtime.buffer import TimeWindow

    buffer, out, next_t = TimeWindow(3.0, 30.0, 0.3), [], -np.inf
    for i, t in enumerate(times):
        buffer.push(joints[:, i], float(t))
        if t + 1e-9 >= next_t:
            next_t = t + stride_s
            w = buffer.window()
            if w is not None and start_s <= t <= end_s and (w.shape[1] - 1) / 30.0 >= 1.0:
                out.append(w)
    return out


def last_window(joints: np.ndarray, times: np.ndarray, end: float) -> np.ndarray:
    """The live window ending at ``end``: up to 3 s of the clip, on the 30 Hz grid."""
    from dvta_live.realtime.buffer import TimeWindow

    buffer = TimeWindow(3.0, 30.0, 0.3)
    for i in np.flatnonzero((times > end - 3.0) & (times <= end)):
        buffer.push(joints[:, i], float(times[i]))
    return buffer.window()


def real_video_part(weight: float, sharpness: float) -> dict[str, Any]:
    import dvta_live
    from dvta_live.dvta.examples import example_side
    from dvta_live.realtime.example_bank import example_windows
    from dvta_live.realtime.live import softmax
    from dvta_live.skeleton.readers import read_ntu_skeleton

    sys.path.insert(0, str(REPO / "bench"))
    from bench_real_video import REAL_ACTIONS

    rec = dvta_live.load(labels=REPO / "bench" / "labels" / "real-actions.yaml", runtime="torch", threads=1)
    runtime, recipe, names = rec.runtime, rec.info.recipe, list(rec.names)
    prepared = runtime.prepare_text(np.asarray(rec.watcher.text.embeddings))
    clips = {}
    for file, action in REAL_ACTIONS.items():
        got = clip_poses(file)
        if got is None:
            return {"skipped": f"no pose cache for {file} in {POSE_CACHE}: run bench/bench_real_video.py "
                               "--pose-cache first"}
        joints, times = got
        span = times[-1] - times[0]
        tests = live_windows(joints, times, times[0] + 0.6 * span, times[-1])
        test_batch = np.stack([recipe.apply(w) for w in tests])
        examples = {}
        for k in (1, 3):  # k stretches of up to 3 s in the first 40 %, their ends evenly spaced
            first_end = times[0] + 0.4 * span
            ends = np.linspace(first_end, times[0] + min(3.0, 0.4 * span), k) if k > 1 else [first_end]
            stretches = [last_window(joints, times, end) for end in ends]  # one example = one stretch
            examples[k] = runtime.features(np.stack([recipe.apply(w) for w in stretches]), prepared)
        clips[file] = (action, test_batch, examples)
    table = {}
    for k in (0, 1, 3):
        feats, classes = [], []
        if k:
            for file, (action, _, examples) in clips.items():
                feats.append(examples[k])
                classes += [names.index(action)] * len(examples[k])
        side = example_side(np.concatenate(feats) if feats else np.zeros((0, 256)), classes, len(names),
                            weight=weight, sharpness=sharpness, feature_dim=256)
        text = runtime.prepare_text(np.asarray(rec.watcher.text.embeddings), side)
        rows = []
        for file, (action, batch, _) in clips.items():
            probs = softmax(runtime.scores(batch, text).astype(np.float64)).sum(axis=0)
            order = np.argsort(-probs)
            rank = int(np.flatnonzero(order == names.index(action))[0]) + 1
            rows.append({"clip": file, "expected": action, "predicted": names[int(order[0])], "rank": rank,
                         "windows": len(batch)})
        table[k] = {"top1": sum(r["rank"] == 1 for r in rows), "top3": sum(r["rank"] <= 3 for r in rows),
                    "clips": rows}
    # another recording as the example: NTU A001's Kinect skeleton, tested on MediaPipe of its RGB video
    a001 = {}
    kinect = read_ntu_skeleton(SHARED / "data" / "ntu" / "S001C001P001R001A001.skeleton")
    got = clip_poses("S001C001P001R001A001_rgb.avi")
    if got is not None:
        rec.set_labels(REPO / "dvta_live" / "assets" / "labels" / "everyday.yaml")
        enames = list(rec.names)
        joints, times = got
        tests = np.stack([recipe.apply(w) for w in live_windows(joints, times, times[0], times[-1])])
        ex = runtime.features(np.stack([recipe.apply(w) for w in example_windows(kinect.data, 30.0)]), prepared)
        for k, feats in ((0, np.zeros((0, 256))), (1, ex)):
            side = example_side(feats, [enames.index("drink water")] * len(feats), len(enames), weight=weight,
                                sharpness=sharpness, feature_dim=256)
            text = runtime.prepare_text(np.asarray(rec.watcher.text.embeddings), side)
            probs = softmax(runtime.scores(tests, text).astype(np.float64)).sum(axis=0)
            order = np.argsort(-probs)
            a001[k] = {"rank": int(np.flatnonzero(order == enames.index("drink water"))[0]) + 1,
                       "predicted": enames[int(order[0])]}
    return {"labels": "bench/labels/real-actions.yaml", "by_k": table, "a001_kinect_example": a001}


def latency(weight: float, sharpness: float) -> dict[str, Any]:
    """ms per window through ONNX Runtime (1 thread), 0 vs 50 example windows, median of 50 calls."""
    import dvta_live
    from dvta_live.dvta.examples import example_side

    rec = dvta_live.load(runtime="onnx", threads=1)
    runtime = rec.runtime
    window = rec.info.recipe.apply(np.random.default_rng(0).normal(size=(3, 90, 25, 2)).astype(np.float32))[None]
    text = np.asarray(rec.watcher.text.embeddings)
    out = {"runtime": runtime.describe(), "classes": len(text)}
    for k in (0, 50):
        feats = np.random.default_rng(1).random((k, 256)).astype(np.float32)
        side = example_side(feats, [i % len(text) for i in range(k)], len(text), weight=weight,
                            sharpness=sharpness, feature_dim=256)
        prepared = runtime.prepare_text(text, side)
        for _ in range(5):
            runtime.scores(window, prepared)
        times = []
        for _ in range(50):
            t = time.perf_counter()
            runtime.scores(window, prepared)
            times.append((time.perf_counter() - t) * 1e3)
        out[f"ms_{k}_examples"] = round(float(np.median(times)), 2)
    return out


def render(res: dict[str, Any]) -> str:
    w, s = res["chosen"]["weight"], res["chosen"]["sharpness"]
    lines = ["# Teach by example: zero-shot text + k recorded examples (issue 15)\n",
             (f"`python bench/bench_examples.py` at commit {res['commit']}; {res['machine']}. Method: the "
              "bench's docstring.\n"),
             (f"**Chosen fusion: weight {w}, sharpness {s}** (best mean top-1 over NW-UCLA 5/5 and UTD-MHAD "
              "14/13, k = 1, 3, 5, 3 draws; `dvta_live/dvta/examples.py` EXAMPLE_WEIGHT / DEFAULT_SHARPNESS). "
              f"Runtime path vs formula: max |score difference| {res['runtime_check']:.2e}.\n"),
             "## Skeleton data: unseen-class top-1 (%), mean over 3 draws (min-max)\n",
             ("*all*: every unseen action has k examples; *one*: one action at a time has them, the others "
              "stay text-only (mean over the actions): the taught action's clips must become it, the others' "
              "must not.\n"),
             "| data | test clips | taught | k = 0 (text) | k = 1 | k = 3 | k = 5 |", "|---|---|---|---|---|---|---|"]
    for part in res["skeleton"]:
        for protocol in ("all", "one"):
            cells = []
            for k in KS:
                vals = [r["top1"] for r in part["rows"] if r["k"] == k and r["weight"] == (w if k else 0.0)
                        and (k == 0 or (r["sharpness"] == s and r["protocol"] == protocol))]
                cells.append(f"{np.mean(vals):.1f} ({min(vals):.1f}-{max(vals):.1f})")
            lines.append(f"| {part['dataset']} {part['split']} | {part['test_clips']} | {protocol} | "
                         + " | ".join(cells) + " |")
    grid = ", ".join(f"{k} {v}" for k, v in res["grid"].items())
    lines += ["", f"Grid (mean top-1 over both datasets and protocols, k = 1, 3, 5; weight/sharpness: %): {grid}",
              ""]
    rv = res.get("real_video", {})
    if "by_k" in rv:
        lines += [("## Real video (measurement only): examples from the first 40 % of each clip, test on the "
                   "last 40 %\n"),
                  "| k | clip top-1 | top-3 | per clip (expected -> predicted) |", "|---|---|---|---|"]
        for k, row in rv["by_k"].items():
            per = ", ".join(f"{c['expected']} -> {c['predicted']}" for c in row["clips"])
            lines.append(f"| {k} | {row['top1']}/12 | {row['top3']}/12 | {per} |")
        a = rv.get("a001_kinect_example", {})
        if a:
            lines += ["", (f"NTU A001, MediaPipe skeleton of the RGB video, everyday labels: *drink water* ranks "
                           f"{a['0']['rank']} ({a['0']['predicted']} first) from text alone; with the Kinect "
                           f"skeleton of the same recording as its one example: rank {a['1']['rank']} "
                           f"({a['1']['predicted']} first).")]
    elif rv:
        lines += [f"Real video: skipped ({rv.get('skipped')})"]
    lat = res.get("latency", {})
    if lat:
        lines += ["", (f"## Latency per window\n\n{lat['runtime']}, {lat['classes']} classes: "
                       f"{lat['ms_0_examples']} ms with no examples, {lat['ms_50_examples']} ms with 50 example "
                       "windows (median of 50 calls).")]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "bench-examples")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "examples.json")
    parser.add_argument("--skip-real-video", action="store_true")
    args = parser.parse_args()
    import subprocess

    import torch

    torch.set_num_threads(1)
    if not (SHARED / "data").is_dir():
        sys.exit(f"no shared data at {SHARED} (set DVTA_SHARED)")
    parts = [skeleton_part(d, args.work) for d in SPLITS]
    weight, sharpness, grid = choose(parts)
    worst = max(check_runtime_path(p, weight, sharpness) for p in parts)
    for p in parts:
        p.pop("_check")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=REPO, check=False).stdout.strip()
    res = {"commit": commit, "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch 1 thread",
           "chosen": {"weight": weight, "sharpness": sharpness}, "grid": grid, "runtime_check": worst,
           "skeleton": parts}
    if not args.skip_real_video:
        res["real_video"] = real_video_part(weight, sharpness)
        res["latency"] = latency(weight, sharpness)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1, default=str))
    args.out.with_suffix(".md").write_text(render(json.loads(args.out.read_text())))
    print(render(json.loads(args.out.read_text())))


if __name__ == "__main__":
    main()
