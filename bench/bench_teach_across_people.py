"""Teach by example across people: k recorded examples of each action from SOME people / scenes, tested on
OTHERS, on real-video 2-D keypoints (Penn Action, J-HMDB); today's backbone (the bundled Shift-GCN model)
against the camera model (PoseC3D X3D + a DVTA head, models/camera).

    OMP_NUM_THREADS=1 python bench/bench_teach_across_people.py
    python bench/bench_teach_across_people.py --max-test 400      # subsample the test clips (fixed seed)

Protocol (bench/bench_examples.py's, on other people):

- Penn Action: examples drawn from the official TRAIN split clips, tests on the official TEST split (other
  YouTube clips: other people and scenes). J-HMDB: examples from the scene groups of split 1's train part,
  tests on the groups of its test part (``meta["scene"]`` keeps each film title whole and every group lies
  on one side of split 1, so no group, hence no title, is on both sides).
- Classes: each dataset's classes as their entries in dvta_live/assets/labels/camera-training.yaml (found by
  name or alias, e.g. Penn's "squat" -> "squat down"), written to a labels file in a temp folder and loaded
  with ``dvta_live.load(model, labels, runtime="torch", threads=1)``; candidates = the dataset's classes.
- k = 0 (text alone), 1, 3, 5 examples per class, 3 draws (seeds 0-2; the k = 1 and 3 draws are the first
  examples of the k = 5 draw). An example is a whole clip cut into the live loop's example windows
  (``example_windows``: a window a second, a short clip one window); the fusion is the live loop's:
  ``example_side`` with the recogniser's ExampleBank weight and sharpness (the defaults), through
  ``Runtime.prepare_text(text, examples)`` and the head's ``score``. One test window per clip: the clip's
  middle 3 s (all of it when shorter) through the live window (``example_windows``' last window).
  Backbone features are computed once per window; the (text, examples) side is scored on them with the
  packed head, and that equals ``Runtime.scores`` on the windows (checked, max |difference| reported).
- Today's backbone is fed the COCO-17 keypoints as an image-plane NTU-25 skeleton (``coco17_to_ntu25_image``:
  dvta_live has no COCO-17 -> NTU-25 mapping; the image recipes scale by bones, not joints): spine base =
  mid-hips, spine shoulder = mid-shoulders, head = nose, neck and spine mid on those segments at
  dvta_live.skeleton.convert's NTU ratios, hands / hand tips / thumbs at the wrists, feet at the ankles, x
  and y flipped (NTU axes: x subject-right for an unmirrored video, y up), z = 0, scaled so the body's
  size (recipe.SIZE_BONES' lengths, 90th percentile over the clip, each bone) is recipe.BODY_SIZE_M (an
  adult of ~1.7 m); a joint whose source keypoint is missing stays missing (zeros).
- The camera model gets the keypoints as they are (Penn: pixels; J-HMDB's puppet-frame units scaled to a
  pixel-like size with scripts/build_camera_model.py's ``pixel_like``, as its training saw them).

The camera model's head was trained on these datasets' classes, and the as-built head on EVERY clip of
them (test clips included), so its text-only figure is neither zero-shot nor held-out. Its build also keeps
a seen-check head trained without Penn's official test split and J-HMDB's split-1 test part: packed here
with the same backbone and bridge weight (row "camera, seen-check head"), it has seen the classes but not
the test clips. The bundled model's head never saw either dataset.

Writes bench/results/teach_across_people.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("DVTA_SHARED", REPO.parent / "shared"))
REAL2D = SHARED / "data" / "real-video-2d"
LABELS = REPO / "dvta_live" / "assets" / "labels" / "camera-training.yaml"
CAMERA = REPO / "models" / "camera"
CAMERA_WORK = REPO / "models" / "camera-work"
KS = (0, 1, 3, 5)
DRAWS = 3
TEST_SECONDS = 3.0


# --- data --------------------------------------------------------------------------------------------------

def coco17_to_ntu25_image(kp: np.ndarray) -> np.ndarray:
    """COCO-17 keypoints [3, T, 17, M] (x, y pixels, y down; score) -> an image-plane NTU-25 skeleton
    [3, T, 25, M] in NTU axes, z = 0, scaled to an adult's size (see the module docstring)."""
    from dvta_live.skeleton.coco17 import COCO17
    from dvta_live.skeleton.convert import NECK_ALONG_SPINE_SHOULDER_TO_HEAD, SPINE_MID_ALONG_BASE_TO_SHOULDER
    from dvta_live.skeleton.layouts import NTU25
    from dvta_live.skeleton.recipe import BODY_SIZE_M, SIZE_BONES, SIZE_PERCENTILE

    c, n = COCO17.index, NTU25.index
    kp = np.asarray(kp, dtype=np.float64)
    t, m = kp.shape[1], kp.shape[3]
    xy = np.stack([-kp[0], -kp[1]], axis=-1).transpose(0, 2, 1, 3)  # [T, M, 17, 2], NTU axes
    ok = (kp[2] > 0).transpose(0, 2, 1)  # [T, M, 17]
    out = np.zeros((t, m, 25, 2))
    has = np.zeros((t, m, 25), bool)

    def put(joint: str, value: np.ndarray, present: np.ndarray) -> None:
        out[:, :, n(joint)] = np.where(present[..., None], value, 0.0)
        has[:, :, n(joint)] = present

    for side in ("left", "right"):
        for joint in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
            put(f"{side}_{joint}", xy[:, :, c(f"{side}_{joint}")], ok[:, :, c(f"{side}_{joint}")])
        for extra in ("hand", "hand_tip", "thumb"):
            put(f"{side}_{extra}", xy[:, :, c(f"{side}_wrist")], ok[:, :, c(f"{side}_wrist")])
        put(f"{side}_foot", xy[:, :, c(f"{side}_ankle")], ok[:, :, c(f"{side}_ankle")])

    def mid(a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
        return (xy[:, :, c(a)] + xy[:, :, c(b)]) / 2, ok[:, :, c(a)] & ok[:, :, c(b)]

    base, base_ok = mid("left_hip", "right_hip")
    shoulder, shoulder_ok = mid("left_shoulder", "right_shoulder")
    head, head_ok = xy[:, :, c("nose")], ok[:, :, c("nose")]
    put("spine_base", base, base_ok)
    put("spine_shoulder", shoulder, shoulder_ok)
    put("head", head, head_ok)
    put("spine_mid", base + SPINE_MID_ALONG_BASE_TO_SHOULDER * (shoulder - base), base_ok & shoulder_ok)
    put("neck", shoulder + NECK_ALONG_SPINE_SHOULDER_TO_HEAD * (head - shoulder), shoulder_ok & head_ok)
    # scale: each SIZE_BONE's 90th-percentile length over the frames that show it (body 0), summed; bones
    # never seen count as the mean of those seen
    lengths = []
    for a, b in SIZE_BONES:
        seen = has[:, 0, a] & has[:, 0, b]
        if seen.any():
            d = np.linalg.norm(out[seen, 0, a] - out[seen, 0, b], axis=-1)
            lengths.append(float(np.percentile(d, SIZE_PERCENTILE)))
    size = float(np.mean(lengths)) * len(SIZE_BONES) if lengths else 0.0
    scale = BODY_SIZE_M / size if size > 1e-6 else 1.0
    data = np.zeros((3, t, 25, m), np.float32)
    data[:2] = (out * scale).transpose(3, 0, 2, 1)
    return data


def read_dataset(name: str) -> tuple[list[str], list[dict[str, Any]]]:
    """(class names, clips {name, label, test, kp (camera input), fps, scene}) of a real-video 2-D set."""
    from build_camera_model import pixel_like

    from dvta_live.skeleton.readers2d import read_jhmdb, read_penn_action

    if name == "penn-action":
        ds = read_penn_action(REAL2D / "penn-action")
    else:
        ds = read_jhmdb(REAL2D / "jhmdb-ddnet")
    clips = []
    for s in ds.sequences:
        if not (s.data[2] > 0).any():
            continue  # Penn's one all-zero clip
        meta = s.meta or {}
        test = not bool(meta["train"]) if name == "penn-action" else meta["splits"].get(1) == "test"
        clips.append({"name": s.name, "label": int(s.label), "test": bool(test), "fps": float(s.fps or 30.0),
                      "scene": meta.get("scene"), "kp": pixel_like(np.asarray(s.data, np.float32))})
    if name == "jhmdb-ddnet":  # no scene group on both sides
        sides: dict[str, set] = {}
        for cl in clips:
            sides.setdefault(cl["scene"], set()).add(cl["test"])
        assert all(len(v) == 1 for v in sides.values()) and None not in sides, "a J-HMDB scene on both sides"
    return list(ds.class_names), clips


def labels_file(class_names: list[str], folder: Path) -> tuple[Path, list[str]]:
    """The dataset's classes as their camera-training.yaml entries (by name or alias), in class order."""
    from dvta_live.labels import load_labels

    labels = load_labels(LABELS)
    actions, found = [], []
    for name in class_names:
        a = labels.find(name)
        if a is None:  # not listed: the class name alone
            actions.append({"name": name, "context": [f"The person does this action: {name}."]})
            found.append(f"{name} (no entry)")
        else:
            actions.append({"name": a.name, "context": list(a.context)})
            found.append(a.name)
    path = folder / "classes.yaml"
    path.write_text(json.dumps({"text_model": labels.text_model, "actions": actions}, indent=1))  # JSON is YAML
    return path, found


def test_window(data: np.ndarray, fps: float) -> np.ndarray | None:
    """The clip's middle TEST_SECONDS (all of it when shorter) as the live window; None when no body is seen
    there (the clip is then left out of the tests for every model)."""
    from dvta_live.realtime.example_bank import example_windows

    t = data.shape[1]
    n = round(TEST_SECONDS * fps)
    start = max(0, (t - n) // 2)
    windows = example_windows(data[:, start:start + n], fps)
    return windows[-1] if windows else None


# --- models ----------------------------------------------------------------------------------------------

def seen_check_model(camera: Path, work: Path, folder: Path, notes: list[str]) -> Path | None:
    """The camera build's seen-check head packed with its backbone and bridge weight (None: not built)."""
    from dvta_live.errors import UserError
    from dvta_live.model import pack_model

    head = work / "heads" / "seen-check-head.safetensors"
    backbone = camera / "backbone.safetensors"
    if not (head.is_file() and backbone.is_file()):
        return None
    sidecar = json.loads((camera / "head.json").read_text()) if (camera / "head.json").is_file() else {}
    weight = float((sidecar.get("head", {}).get("bridge") or {}).get("weight", 0.0))
    try:
        return pack_model(backbone, head, folder / "camera-seen-check", bridge_weight=weight)
    except UserError as exc:  # a packed X3D bridge that does not load: the head alone
        notes.append(f"seen-check head packed without the bridge (with weight {weight}: {exc})")
        return pack_model(backbone, head, folder / "camera-seen-check-nobridge", bridge_weight=0.0)


def head_scores(runtime: Any, feats: np.ndarray, prepared: Any) -> np.ndarray:
    """The packed head's scores of backbone features [N, F] against a prepared (text, examples) side: what
    ``TorchRuntime.scores`` computes after the backbone."""
    import torch

    side, examples = prepared.value
    with torch.inference_mode():
        return runtime.model.head.score(torch.from_numpy(np.ascontiguousarray(feats, np.float32)), side,
                                        examples=examples).float().numpy()


def batch_features(runtime: Any, windows: list[np.ndarray], probe: Any, batch: int) -> np.ndarray:
    recipe = runtime.info.recipe
    out = []
    for i in range(0, len(windows), batch):
        x = np.stack([recipe.apply(w) for w in windows[i:i + batch]])
        out.append(runtime.features(x, probe))
    return np.concatenate(out)


def evaluate(model: Path, kind: str, dataset: str, class_names: list[str], clips: list[dict], tests: list[int],
             picks: dict[int, dict[int, list[int]]], folder: Path, feats_cache: dict | None = None) -> dict:
    """Top-1 per (k, draw) of one model on one dataset; ``feats_cache`` reuses another packing's features
    of the same backbone."""
    import dvta_live
    from dvta_live.dvta.examples import example_side
    from dvta_live.realtime.example_bank import example_windows

    started = time.perf_counter()
    path, entries = labels_file(class_names, folder)
    rec = dvta_live.load(model, labels=path, runtime="torch", threads=1)
    runtime, info = rec.runtime, rec.info
    text = np.asarray(rec.watcher.text.embeddings)
    weight, sharpness = rec.examples.weight, rec.examples.sharpness
    probe = runtime.prepare_text(text)
    image = info.recipe.plane != "keypoints2d"

    def data_of(i: int) -> np.ndarray:
        return coco17_to_ntu25_image(clips[i]["kp"]) if image else clips[i]["kp"]

    batch = 16 if image else 1  # X3D: one clip a forward is the fastest on one thread (build_camera_model)
    if feats_cache is None:
        feats_cache = {}
        test_windows = [test_window(data_of(i), clips[i]["fps"]) for i in tests]
        feats_cache["test"] = batch_features(runtime, test_windows, probe, batch)
        ex_ids = sorted({i for per in picks.values() for ids in per.values() for i in ids})
        feats_cache["examples"] = {i: batch_features(runtime, example_windows(data_of(i), clips[i]["fps"]), probe,
                                                     batch) for i in ex_ids}
    feature_seconds = round(time.perf_counter() - started, 1)
    # the fusion on cached features equals Runtime.scores on the windows (first draw, k = 5, 8 test clips)
    ids = [i for c in range(len(class_names)) for i in picks[0][c][:5]]
    side = example_side(np.concatenate([feats_cache["examples"][i] for i in ids]),
                        [clips[i]["label"] for i in ids for _ in range(len(feats_cache["examples"][i]))],
                        len(class_names), weight=weight, sharpness=sharpness)
    prepared = runtime.prepare_text(text, side)
    x = np.stack([info.recipe.apply(test_window(data_of(i), clips[i]["fps"])) for i in tests[:8]])
    check = float(np.abs(runtime.scores(x, prepared) - head_scores(runtime, feats_cache["test"][:8], prepared)).max())
    feats = feats_cache["test"]
    label = np.array([clips[i]["label"] for i in tests])
    rows = []
    for draw in range(DRAWS):
        for k in KS:
            ids = [i for c in range(len(class_names)) for i in picks[draw][c][:k]]
            if k:
                ex = [feats_cache["examples"][i] for i in ids]
                side = example_side(np.concatenate(ex), [clips[i]["label"] for i, f in zip(ids, ex, strict=True)
                                                         for _ in range(len(f))],
                                    len(class_names), weight=weight, sharpness=sharpness)
            else:
                side = None
            scores = head_scores(runtime, feats, runtime.prepare_text(text, side))
            top1 = float((scores.argmax(axis=1) == label).mean() * 100)
            rows.append({"draw": draw, "k": k, "top1": round(top1, 2),
                         "example_windows": int(sum(len(feats_cache["examples"][i]) for i in ids)) if k else 0})
            if k == 0 and draw:
                rows[-1]["same_as_draw_0"] = True
    rec.close()
    return {"model": kind, "model_path": str(model), "dataset": dataset, "runtime": runtime.describe(),
            "recipe": info.recipe.name, "classes": entries, "example_weight": weight, "sharpness": sharpness,
            "test_clips": len(tests), "rows": rows, "runtime_check_max_abs": check,
            "feature_seconds": feature_seconds, "seconds": round(time.perf_counter() - started, 1),
            "_feats": feats_cache}


def mapping_check() -> dict[str, Any]:
    """The COCO-17 -> image-plane NTU-25 mapping on the six NTU samples (bundled model, ntu120 labels):
    top-1 of the Kinect skeleton, of it with z dropped, and of its front view (``front_view_keypoints``)
    mapped back with ``coco17_to_ntu25_image``; first live window of each."""
    import dvta_live
    from dvta_live.labels.bundled import bundled_labels_path
    from dvta_live.realtime.example_bank import example_windows
    from dvta_live.skeleton.coco17 import front_view_keypoints
    from dvta_live.skeleton.readers import read_path

    rec = dvta_live.load(None, labels=bundled_labels_path("ntu120"), runtime="torch", threads=1)
    rows = []
    for s in read_path(SHARED / "data" / "ntu"):
        flat = np.array(s.data, np.float32)
        flat[2] = 0
        got = []
        for d in (s.data, flat, coco17_to_ntu25_image(front_view_keypoints(s.data))):
            got.append(rec.names[int(np.argmax(rec.scores(example_windows(np.asarray(d, np.float32), 30.0)[0])))])
        rows.append({"sample": s.name, "true": rec.names[int(s.label)], "kinect_3d": got[0], "z_dropped": got[1],
                     "coco17_image_plane": got[2]})
    rec.close()
    return {"rows": rows, **{k: sum(r[k] == r["true"] for r in rows) for k in
                             ("kinect_3d", "z_dropped", "coco17_image_plane")}}


def summary(part: dict) -> dict[int, tuple[float, float, float]]:
    out = {}
    for k in KS:
        v = [r["top1"] for r in part["rows"] if r["k"] == k]
        out[k] = (float(np.mean(v)), float(min(v)), float(max(v)))
    return out


def render(res: dict) -> str:
    lines = ["# Teach by example across people: Penn Action and J-HMDB, today's backbone vs the camera model\n",
             (f"`python bench/bench_teach_across_people.py` at commit {res['commit']}; {res['machine']}; "
              f"{res['seconds']:.0f} s. Method: the bench's docstring. Fusion: `example_side`, weight "
              f"{res['example_weight']}, sharpness {res['sharpness']} (the live loop's defaults).\n"),
             ("Examples from some people / scenes, tests on others: Penn Action examples from the official "
              "train split, tests on the official test split; J-HMDB examples from split 1's train scene "
              "groups, tests on its test groups (no scene group, so no film title, on both sides). One test "
              "window per clip (its middle 3 s, or all of it). Top-1 (%) among the dataset's classes, mean "
              "over 3 draws of the examples (min-max).\n"),
             "| data | classes | test clips | model | k = 0 (text) | k = 1 | k = 3 | k = 5 |",
             "|---|---|---|---|---|---|---|---|"]
    for part in res["parts"]:
        s = summary(part)
        cells = [f"{s[0][0]:.1f}"] + [f"{s[k][0]:.1f} ({s[k][1]:.1f}-{s[k][2]:.1f})" for k in KS[1:]]
        lines.append(f"| {part['dataset']} | {len(part['classes'])} | {part['test_clips']} | {part['model']} | "
                     + " | ".join(cells) + " |")
    lines += ["", "Notes:", ""]
    lines += [f"- {n}" for n in res["notes"]]
    m = res.get("mapping_check")
    if m:
        lines += ["", (f"Mapping check (today's backbone, NTU-120 labels, the six NTU samples in ../shared, top-1): "
                       f"Kinect 3-D {m['kinect_3d']}/6, z dropped {m['z_dropped']}/6, its front view as COCO-17 "
                       f"mapped back to an image-plane NTU-25 {m['coco17_image_plane']}/6 (misses: "
                       + "; ".join(f"{r['true']} -> {r['coco17_image_plane']}" for r in m["rows"]
                                   if r["coco17_image_plane"] != r["true"]) + ").")]
    lines += ["", "Chance: " + ", ".join(f"{d} {100 / n:.1f} %" for d, n in res["classes_per_dataset"].items()),
              "", "Runtime path check (cached features + head vs `Runtime.scores` on the windows, with examples): "
              + ", ".join(f"{p['dataset']} {p['model']} {p['runtime_check_max_abs']:.1e}" for p in res["parts"]),
              ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "teach_across_people.json")
    parser.add_argument("--max-test", type=int, default=0,
                        help="at most this many test clips per dataset (a fixed-seed sample, stratified by class)")
    parser.add_argument("--datasets", default="penn-action,jhmdb-ddnet")
    parser.add_argument("--camera", type=Path, default=CAMERA, help="the camera model folder")
    parser.add_argument("--camera-work", type=Path, default=CAMERA_WORK, help="its build's work folder")
    args = parser.parse_args()
    import subprocess

    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, str(REPO / "scripts"))
    from dvta_live.model import bundled_model_path

    started = time.perf_counter()
    notes: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="dvta-teach-"))
    models: list[tuple[str, Path]] = [("bundled (Shift-GCN NTU-120, today's)", bundled_model_path())]
    if (args.camera / "head.safetensors").is_file():
        models.append(("camera (as built: head trained on every clip, test clips included)", args.camera))
        seen = seen_check_model(args.camera, args.camera_work, tmp, notes)
        if seen is not None:
            models.append(("camera, seen-check head (test clips not trained on)", seen))
        else:
            notes.append(f"no seen-check head in {args.camera_work / 'heads'}: that row is missing")
    else:
        notes.append(f"camera model pending: {args.camera / 'head.safetensors'} does not exist yet "
                     "(scripts/build_camera_model.py); rerun this bench once it does")
    mapping = mapping_check()
    parts, classes_per = [], {}
    for dataset in args.datasets.split(","):
        class_names, clips = read_dataset(dataset)
        classes_per[dataset] = len(class_names)
        label = np.array([c["label"] for c in clips])
        test = np.array([c["test"] for c in clips])
        tests = [int(i) for i in np.flatnonzero(test)]
        seen = [i for i in tests if test_window(clips[i]["kp"], clips[i]["fps"]) is not None
                and test_window(coco17_to_ntu25_image(clips[i]["kp"]), clips[i]["fps"]) is not None]
        if len(seen) < len(tests):
            notes.append(f"{dataset}: {len(tests) - len(seen)} test clip(s) left out: no body in their middle 3 s "
                         "(the live window would hold nothing)")
            tests = seen
        if args.max_test and len(tests) > args.max_test:
            rng = np.random.default_rng(0)
            keep = []
            for c in range(len(class_names)):
                mine = [i for i in tests if label[i] == c]
                keep += list(rng.choice(mine, size=min(len(mine), round(args.max_test * len(mine) / len(tests))),
                                        replace=False))
            notes.append(f"{dataset}: {len(keep)} of its {len(tests)} test clips (seed 0, stratified by class)")
            tests = sorted(int(i) for i in keep)
        picks = {}
        for draw in range(DRAWS):  # nested draws: k = 1 and 3 are the first of k = 5
            rng = np.random.default_rng(draw)
            picks[draw] = {c: [int(i) for i in rng.permutation(np.flatnonzero(~test & (label == c)))[:max(KS)]]
                           for c in range(len(class_names))}
        pool = int((~test).sum())
        notes.append(f"{dataset}: {len(tests)} test clips, example pool {pool} clips "
                     f"({len({clips[i]['scene'] for i in range(len(clips)) if not test[i]})} scenes/clip ids), "
                     f"test side {len({clips[i]['scene'] for i in tests})}")
        shared_feats = None
        for kind, path in models:
            print(f"{dataset}: {kind} ...", flush=True)
            reuse = shared_feats if kind.startswith("camera,") else None
            part = evaluate(path, kind, dataset, class_names, clips, tests, picks, tmp, reuse)
            if kind.startswith("camera (as built"):
                shared_feats = part["_feats"]
            part["examples_drawn"] = {f"draw {d}": [clips[i]["name"] for c in picks[d] for i in picks[d][c]]
                                      for d in picks}
            print(render_row(part), flush=True)
            parts.append(part)
    for p in parts:
        p.pop("_feats")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO,
                            check=False).stdout.strip()
    import onnxruntime

    res = {"commit": commit, "machine": (f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
                                         f"1 thread, onnxruntime {onnxruntime.__version__}"),
           "seconds": round(time.perf_counter() - started, 1), "example_weight": parts[0]["example_weight"],
           "sharpness": parts[0]["sharpness"], "classes_per_dataset": classes_per, "notes": notes,
           "mapping_check": mapping, "parts": parts}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1, default=str) + "\n")
    args.out.with_suffix(".md").write_text(render(res))
    print(render(res))


def render_row(part: dict) -> str:
    s = summary(part)
    return (f"  {part['dataset']} {part['model']}: " + ", ".join(f"k={k} {s[k][0]:.1f}" for k in KS)
            + f" ({part['seconds']} s, check {part['runtime_check_max_abs']:.1e})")


if __name__ == "__main__":
    main()
