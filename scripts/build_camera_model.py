"""Build the camera model: the PoseC3D X3D-shallow backbone (trained on HRNet 2-D pose estimates of NTU
RGB+D's videos) + a DVTA head trained on its features, with the backbone's NTU-60 classifier as a bridge.

Each step is the library call behind a `dvta` command where there is one, timed and logged:

1. `dvta backbone import x3d_shallow_ntu60_xsub_hrnet_epoch24.pth --recipe posec3d48` (import_checkpoint).
   Until that import exists (the x3d architecture is being wired in), the features are computed with
   `x3d_from_pyskl` + `keypoints_to_model_input` (the same calls the recipe makes) and no model is packed.
2. Stage the training data as 2-D keypoint datasets (COCO-17, [3, T, 17, 2]):
   (a) the real-video 2-D datasets as read (Penn Action, J-HMDB, Berkeley MHAD, UTD-MHAD OpenPose, push-ups,
       the falls of MD4FD; its "daily activity" windows are not an action and are left out);
   (b) the 3-D datasets of the default model (NTU samples, UTD-MHAD, NW-UCLA, MSR Action3D, Bandai Namco, CMU
       86_09 segments and described takes, stand-still clips) seen through VIEWS random virtual cameras
       each (`random_camera` + `project_ntu25` + `add_estimator_noise`, seeded per clip).
   Clips in units other than pixels (J-HMDB's puppet frame, UTD OpenPose's normalised ones) are scaled to
   a pixel-like size first: the PoseCompact step crops to the clip's box anyway, but boxes under 10 units
   would be taken as a tiny person.
3. Backbone features of every whole clip (pyskl test sampling: 48 frames, one pass), batched on one torch
   thread, cached per dataset in WORK/cache (`--skip-extract` reuses them): the 216-d pooled feature and the
   NTU-60 logits. Written as SynSE features folders per dataset (all / fit / held-out parts).
4. `dvta merge-features` into dvta_live/assets/labels/camera-training.yaml.
5. `dvta train-head` x 3 (HeadTrainConfig of build_default_model, EPOCHS below): the model's head (every
   sample), a seen-class check head (held-out subjects / scenes / official test splits left out) and a
   zero-shot check head (HELD_OUT classes left out).
6. Held-out figures: seen-class top-1 / top-5 per dataset on the held-out subjects and scenes, and zero-shot
   top-1 / top-5 among the HELD_OUT classes, each with the bridge at every weight of BRIDGE_GRID; the bridge
   weight is chosen on the zero-shot figure (ties: the better seen-class figure, then the lower weight).
   Nothing of /work/shared/data/videos is read.
7. `dvta model pack` (pack_model with the chosen bridge weight) into OUT (default models/camera: ignored
   by git; the weights derive from research-only data and a third-party checkpoint: never commit them).

Results: bench/results/camera_model/build.json and build.md.

    OMP_NUM_THREADS=1 python scripts/build_camera_model.py --shared ../shared --out models/camera
    python scripts/build_camera_model.py --skip-extract --reuse-heads   # reuse WORK/cache (and heads)

WORK defaults to OUT's sibling OUT-work (models/camera-work): caches, features folders, heads.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from build_default_model import step  # one timed-step logger for both builds

LABELS = ROOT / "dvta_live" / "assets" / "labels" / "camera-training.yaml"
RESULTS = ROOT / "bench" / "results" / "camera_model"
WEIGHTS = "weights/posec3d-x3d-ntu60-hrnet2d/x3d_shallow_ntu60_xsub_hrnet_epoch24.pth"
RECIPE = "posec3d48"
ARCH = "x3d"
WINDOW, SIZE = 48, 64  # pyskl test sampling and heatmap size (keypoints_to_model_input)
SEED = 0
VIEWS = 2  # virtual cameras per 3-D clip
# backbone batch: one clip a forward was the fastest on one thread (104 ms a clip, 124 at 4, 170 at 16)
BATCH_CLIPS = 1
# Head recipe: build_default_model's (batch 32, AA network at the text width, 8 pseudo-unseen classes pick
# the epoch) but 20 epochs, not 40: the training set here is about three times the default model's (two
# views of every 3-D clip + the real 2-D clips), so 20 epochs are more steps than the default's 40, and three
# heads are trained (model, seen-class check, zero-shot check).
EPOCHS = 20
BATCH = 32
METRIC_HIDDEN = 0
VAL_COUNT = 8
# Zero-shot check: held out of head training, spread over the datasets (2-D and 3-D) they come from
HELD_OUT = ("clap", "sit down", "jumping jacks", "pull up", "golf swing")
BRIDGE_GRID = (0.0, 0.5, 1.0, 1.5, 2.0)
REAL2D = "data/real-video-2d"
# 3-D datasets (features-cache key -> path under ../shared); CMU is staged as build_default_model does
DATASETS_3D = {"ntu": "data/ntu", "utd-mhad": "data/utd-mhad", "nw-ucla": "data/nw-ucla",
               "msr-action3d": "data/msr-action3d", "bandai-namco": "data/bandai-namco"}
# Held-out part of each dataset for the seen-class check (official splits where there are some)
HELD_RULE = {
    "penn-action": "official test split",
    "jhmdb": "split-1 test",
    "berkeley-mhad-2d": "subject 3",
    "utd-mhad-openpose": "subjects 7-8",
    "pushfit-mediapipe": "every 5th clip (no performer ids)",
    "md4fd-falls": "le2i_home_02 windows",
    "utd-mhad": "subjects 7-8",
    "nw-ucla": "view 3",
    "msr-action3d": "even subjects",
    "standing-still": "subjects 7-8 (UTD-MHAD performers)",
}


# --- staging: every dataset as 2-D keypoint clips --------------------------------------------------------

def pixel_like(kp: np.ndarray, target: float = 400.0) -> np.ndarray:
    """COCO-17 keypoints [3, T, 17, M] in small units (a box under 50 units) scaled to about ``target``
    pixels and moved to positive coordinates; pixel clips are returned as they are."""
    present = kp[2] > 0
    if not present.any():
        return kp
    x, y = kp[0][present], kp[1][present]
    extent = float(max(np.ptp(x), np.ptp(y)))
    if extent >= 50.0:
        return kp
    out = kp.copy()
    scale = target / max(extent, 1e-6)
    out[0][present] = (x - x.min()) * scale + 50.0
    out[1][present] = (y - y.min()) * scale + 50.0
    return out


def _held_2d(key: str, seq: Any, index: int) -> bool:
    meta = seq.meta or {}
    if key in ("penn-action", "jhmdb"):
        return not bool(meta.get("train", True))
    if key == "berkeley-mhad-2d":
        return seq.subject == 3
    if key == "utd-mhad-openpose":
        return (seq.subject or 0) >= 7
    if key == "pushfit-mediapipe":
        return index % 5 == 4
    if key == "md4fd-falls":
        return meta.get("scene") == "le2i_home_02"
    return False


def _held_3d(key: str, seq: Any) -> bool:
    meta = seq.meta or {}
    if key in ("utd-mhad", "standing-still"):
        return (seq.subject or 0) >= 7
    if key == "nw-ucla":
        return int(meta.get("view", 0) or 0) == 3
    if key == "msr-action3d":
        return (seq.subject or 1) % 2 == 0
    return False


def real2d_clips(shared: Path) -> dict[str, dict]:
    """Real-video 2-D datasets: key (the dataset's name) -> {class_names, clips: [(kp, label, held)]}."""
    from dvta_live.skeleton.readers2d import REAL2D_DATASETS, read_real2d

    out = {}
    for name in REAL2D_DATASETS:
        ds = read_real2d(name, shared / REAL2D)
        key = ds.name
        names = list(ds.class_names)
        keep = [i for i, n in enumerate(names) if n != "daily activity"]  # MD4FD's non-action windows
        clips = [(pixel_like(s.data), keep.index(s.label), _held_2d(key, s, i))
                 for i, s in enumerate(ds) if s.label in keep and (s.data[2] > 0).any()]
        out[key] = {"class_names": [names[i] for i in keep], "clips": clips, "source": name,
                    "kind": "real 2-D"}
    return out


def virtual_views(key: str, ds: Any, views: int, seed_key: int) -> dict:
    """A 3-D dataset seen through ``views`` random virtual cameras per clip (seeded per clip)."""
    from dvta_live.skeleton.coco17 import add_estimator_noise, project_ntu25, random_camera

    clips = []
    for i, s in enumerate(ds):
        rng = np.random.default_rng([SEED, seed_key, i])
        held = _held_3d(key, s)
        for _ in range(views):
            kp = add_estimator_noise(project_ntu25(s.data, random_camera(rng)), rng)
            if (kp[2] > 0).any():  # a clip with no joint in view is left out
                clips.append((kp, int(s.label), held))
    return {"class_names": list(ds.class_names), "clips": clips, "kind": f"3-D, {views} virtual views"}


def sources_3d(shared: Path, work: Path) -> dict[str, Path]:
    """The 3-D sources of the default model (CMU staged with build_default_model's helpers)."""
    import build_default_model as bdm

    sources = {name: shared / rel for name, rel in DATASETS_3D.items()}
    sources["cmu-mocap"] = bdm.stage_cmu(shared, work / "cmu-train", bdm.CMU_TRAIN_TAKES)
    store = work / "cmu-described.dvta.safetensors"
    sources["cmu-described"] = store if store.is_file() else bdm.cmu_described(shared, work)
    store = work / "standing-still.dvta.safetensors"
    sources["standing-still"] = store if store.is_file() else bdm.standing_still(shared, work)
    return sources


# --- features ----------------------------------------------------------------------------------------------

def load_x3d(shared: Path, backbone: Path | None) -> Any:
    """The X3D as the imported backbone loads it, else straight from the pyskl checkpoint."""
    import torch

    if backbone is not None:
        from dvta_live.backbone.checkpoint import load_backbone

        return load_backbone(backbone)[0].eval()
    from dvta_live.backbone.x3d import x3d_from_pyskl

    sd = torch.load(shared / WEIGHTS, map_location="cpu", weights_only=False)
    return x3d_from_pyskl(sd)


def model_window(kp: np.ndarray, persons: int = 2) -> np.ndarray:
    """The recipe's window [3, 48, 17, persons] of one clip (the teacher's input; the student's too)."""
    from dvta_live.backbone.x3d import keypoints_to_model_input

    x = keypoints_to_model_input(kp[..., :persons], WINDOW, SIZE)
    return np.pad(x, ((0, 0),) * 3 + ((0, persons - x.shape[3]),))


def clip_features(model: Any, clips: list, batch: int = BATCH_CLIPS,
                  windows: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(features [N, 216], NTU-60 logits [N, 60]) of keypoint clips [3, T, 17, M], one pass each; the
    model windows are appended to ``windows`` when given (the student's training inputs)."""
    import torch

    feats, logits = [], []
    with torch.inference_mode():
        for i in range(0, len(clips), batch):
            x = np.stack([model_window(kp) for kp, *_ in clips[i:i + batch]])
            if windows is not None:
                windows.extend(x.astype(np.float16))
            if not x[..., 1:].any():  # no second person in the batch: its empty maps add nothing (max with 0)
                x = np.ascontiguousarray(x[..., :1])
            f, z = model(torch.from_numpy(x))
            feats.append(f.float().numpy())
            logits.append(z.float().numpy())
    return np.concatenate(feats), np.concatenate(logits)


def head_width(x: np.ndarray, dim: int) -> np.ndarray:
    """Backbone features [N, 216] -> the head's input width (zero columns appended up to ``dim``)."""
    if x.shape[1] == dim:
        return x.astype(np.float32)
    return np.concatenate([x, np.zeros((len(x), dim - x.shape[1]), np.float32)], axis=1).astype(np.float32)


def cache_dataset(key: str, staged: dict, model: Any, cache: Path) -> dict:
    windows: list = []
    feats, logits = clip_features(model, staged["clips"], windows=windows)
    arrays = {"features": feats, "logits": logits, "windows": np.stack(windows),
              "labels": np.array([c[1] for c in staged["clips"]], np.int64),
              "held": np.array([c[2] for c in staged["clips"]], bool)}
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(cache / f"{key}.npz", **arrays)
    info = {k: v for k, v in staged.items() if k != "clips"} | {"clips": len(staged["clips"])}
    (cache / f"{key}.json").write_text(json.dumps(info, indent=1) + "\n")
    return info


def write_parts(key: str, cache: Path, out: Path, meta: dict, dim: int) -> dict[str, Path]:
    """Features folders of one dataset: all, fit (held-out part left out), test (the held-out part)."""
    info = json.loads((cache / f"{key}.json").read_text())
    z = np.load(cache / f"{key}.npz")
    return save_parts(key, head_width(z["features"], dim), z["labels"], z["held"], info["class_names"], out, meta)


def save_parts(key: str, x: np.ndarray, y: np.ndarray, held: np.ndarray, class_names: list, out: Path,
               meta: dict) -> dict[str, Path]:
    """Features [N, D] of one dataset's clips as folders OUT/KEY/{all, fit, test} in its own class names."""
    from dvta_live.dvta.features import save_features

    empty = np.zeros((0, x.shape[1]), np.float32)
    folders = {}
    for part, mask in (("all", np.ones(len(y), bool)), ("fit", ~held), ("test", held)):
        if not mask.any():
            continue
        folder = out / key / part
        save_features(folder, x[mask], y[mask], empty, np.zeros(0, np.int64),
                      metadata=meta | {"dataset": key, "class_names": class_names, "part": part})
        folders[part] = folder
    return folders


# --- heads and figures -------------------------------------------------------------------------------------

def train_and_save_head(features: Path, labels: Path, out: Path, epochs: int, seed: int = SEED,
                        reuse: bool = False) -> Any:
    """`dvta train-head FEATURES --labels L -o OUT` with the build's settings; the head's HeadInfo. With
    ``reuse``, a head already at OUT is kept (its info read back)."""
    if reuse and out.is_file():
        from dvta_live.dvta.headfile import read_head_info

        return read_head_info(out)
    from dvta_live.dvta.features import class_texts_from_labels, load_features
    from dvta_live.dvta.headfile import save_head
    from dvta_live.dvta.train import HeadTrainConfig, train_head

    feats = load_features(features)
    config = HeadTrainConfig(epochs=epochs, batch_size=BATCH, metric_hidden=METRIC_HIDDEN or None, seed=seed,
                             val_count=VAL_COUNT, device="cpu")
    result = train_head(feats, class_texts_from_labels(labels), None, config,
                        dataset=feats.metadata.get("dataset"))
    save_head(out, result.head, result.info, half=True)
    return result.info


def ntu60_bridge(model: Any, text_model: str, dim: int) -> Any:
    """The X3D's NTU-60 classifier as a bridge (dvta.bridge) over head-width features (weight set later)."""
    import torch

    from dvta_live.backbone.checkpoint import ntu_class_names
    from dvta_live.dvta.bridge import class_texts, classifier_of, make_bridge
    from dvta_live.labels.encoder import get_encoder

    fc = classifier_of(model)
    wide = torch.nn.Linear(dim, fc.out_features)
    with torch.no_grad():
        wide.weight.zero_()
        wide.weight[:, :fc.in_features] = fc.weight.detach().float()
        wide.bias.copy_(fc.bias.detach().float())
    names = ntu_class_names(fc.out_features)
    return make_bridge(wide, class_texts(tuple(names), get_encoder(text_model or None)), 1.0)


def scores_at(head: Any, bridge: Any, weight: float, x: np.ndarray, text: np.ndarray,
              cands: list) -> np.ndarray:
    import torch

    from dvta_live.dvta.evaluate import class_scores

    if weight > 0:
        bridge.weight.fill_(float(weight))
        head.bridge = bridge.to(next(head.parameters()).dtype)
    else:
        head.bridge = None
    with torch.no_grad():
        return class_scores(head, x, text, cands)


def topk(scores: np.ndarray, cands: list, y: np.ndarray) -> dict:
    order = np.asarray(cands)[np.argsort(-scores, axis=1)]
    return {"samples": len(y), "top1": round(100 * float((order[:, 0] == y).mean()), 2),
            "top5": round(100 * float((order[:, :5] == y[:, None]).any(axis=1).mean()), 2)}


def seen_check(head_path: Path, tests: dict[str, Path], labels: Path, bridge: Any) -> dict:
    """Top-1 / top-5 among every seen class, per dataset's held-out part, at each bridge weight."""
    from dvta_live.dvta.features import class_texts_from_labels, load_features
    from dvta_live.dvta.headfile import load_head

    head, meta = load_head(head_path)
    head = head.float().eval()
    texts = class_texts_from_labels(labels)
    cands = sorted(meta.classes.seen)
    out: dict[str, Any] = {}
    for w in BRIDGE_GRID:
        per, hit1, hit5, n = {}, 0.0, 0.0, 0
        for key, folder in tests.items():
            f = load_features(folder)
            r = topk(scores_at(head, bridge, w, f.train, texts.embeddings, cands), cands, f.train_labels)
            per[key] = r
            hit1, hit5, n = hit1 + r["top1"] * r["samples"], hit5 + r["top5"] * r["samples"], n + r["samples"]
        out[str(w)] = {"per_dataset": per, "all": {"samples": n, "top1": round(hit1 / n, 2),
                                                    "top5": round(hit5 / n, 2)},
                       "mean_of_datasets_top1": round(float(np.mean([r["top1"] for r in per.values()])), 2)}
    return out


def zero_shot_check(head_path: Path, folder: Path, labels: Path, bridge: Any) -> dict:
    """Zero-shot top-1 / top-5 among the held-out classes, at each bridge weight, with per-class top-1."""
    from dvta_live.dvta.features import class_texts_from_labels, load_features
    from dvta_live.dvta.headfile import load_head

    head, meta = load_head(head_path)
    head = head.float().eval()
    texts = class_texts_from_labels(labels)
    f = load_features(folder)
    cands = sorted(meta.classes.unseen)
    out = {}
    for w in BRIDGE_GRID:
        s = scores_at(head, bridge, w, f.ztest, texts.embeddings, cands)
        r = topk(s, cands, f.z_labels)
        pred = np.asarray(cands)[np.argmax(s, axis=1)]
        r["per_class_top1"] = {texts.names[c]: round(100 * float((pred[f.z_labels == c] == c).mean()), 1)
                               for c in cands}
        r["chance_top1"] = round(100 / len(cands), 2)
        out[str(w)] = r
    return out


def choose_weight(zs: dict, seen: dict) -> float:
    return float(max(BRIDGE_GRID, key=lambda w: (zs[str(w)]["top1"], seen[str(w)]["all"]["top1"], -w)))


def backbone_parity(shared: Path, backbone: Path, clips: list) -> dict:
    """The imported backbone's features against x3d_from_pyskl's on a few clips (same pre-graph steps)."""
    ref = clip_features(load_x3d(shared, None), clips)[0]
    got = clip_features(load_x3d(shared, backbone), clips)[0][:, :ref.shape[1]]
    return {"clips": len(clips), "max_abs_diff": float(np.abs(ref - got).max())}


def pack(backbone: Path, head: Path, out: Path, weight: float, bridge: Any, binfo: Any) -> str:
    """`dvta model pack --bridge-weight W`; where pack_model cannot bridge these features (the X3D's
    classifier reads the 216 pooled values, the head's features are those and 40 zeros), the head is packed
    without a bridge and this build's bridge (the same classifier with zero columns appended: the same
    logits) is attached in the packed head file, with the BridgeInfo pack_model writes."""
    from dataclasses import replace

    import torch

    from dvta_live.dvta.headfile import BridgeInfo, load_head, save_head
    from dvta_live.model import load_model_net, pack_model

    try:
        pack_model(backbone, head, out, bridge_weight=weight)
        net, _ = load_model_net(out)
        with torch.no_grad():  # the bridge scores head-width features
            net.head.bridge(torch.zeros(1, bridge.classifier_weight.shape[1]),
                            torch.nn.functional.normalize(torch.ones(2, bridge.class_text.shape[1]), dim=-1))
        return "pack_model"
    except Exception as exc:  # noqa: BLE001 - any failure of the library's bridge: attach this build's
        note = f"pack_model's bridge failed ({type(exc).__name__}: {str(exc)[:160]})"
        print(note + "; packing without it and attaching the widened bridge", flush=True)
    pack_model(backbone, head, out, bridge_weight=0)
    path = out / "head.safetensors"
    model, info = load_head(path)
    bridge.weight.fill_(float(weight))
    model.bridge = bridge.float()
    bi = BridgeInfo(classes=bridge.num_classes, weight=float(weight), temperature=float(bridge.temperature),
                    class_names=tuple(binfo.class_names), backbone=binfo.source or str(backbone),
                    method="ConSE over the backbone's classifier")
    info = replace(info, head=replace(info.head, bridge=bi))
    save_head(path, model, info, half=info.storage_dtype == "float16")
    load_model_net(out)
    return note + "; bridge attached by the build (classifier widened to the head width)"


# --- report ------------------------------------------------------------------------------------------------

def write_markdown(m: dict, path: Path) -> None:
    lines = ["# Camera model build (PoseC3D X3D-shallow + DVTA head)", "",
             (f"Written by `scripts/build_camera_model.py` ({m['finished']}); model folder: "
              f"`{m['model_dir']}` "
             f"({'packed' if m.get('packed') else 'NOT packed: ' + m.get('pack_note', '')}). Labels: "
             f"`{LABELS.relative_to(ROOT)}` ({m['classes']} classes). Backbone: `{WEIGHTS}` "
             f"({m['backbone_note']}). Head: {EPOCHS} epochs, batch {BATCH}, seed {SEED}."), "",
             "## Data", "",
             "| dataset | kind | classes | clips | held-out clips (seen check) | held-out rule |",
             "|---|---|---:|---:|---:|---|"]
    for key, d in m["data"].items():
        lines.append(f"| {key} | {d['kind']} | {len(d['class_names'])} | {d['clips']} | {d['held']} | "
                     f"{HELD_RULE.get(key, 'none (all trained)')} |")
    lines += ["", f"Total: {m['total_clips']} clips.", ""]
    seen, zs, w = m["seen_check"], m["zero_shot"], m["bridge_weight"]
    lines += ["## Seen classes, held-out subjects / scenes", "",
              (f"Head trained without the held-out parts; top-1 / top-5 among all {m['seen_check_classes']} "
              "seen classes. Columns: bridge weight."), "",
              "| dataset | clips | " + " | ".join(f"w={x}" for x in BRIDGE_GRID) + " |",
              "|---|---:|" + "---:|" * len(BRIDGE_GRID)]
    for key, r in seen["0.0"]["per_dataset"].items():
        rows = [seen[str(x)]["per_dataset"][key] for x in BRIDGE_GRID]
        cells = [f"{r['top1']:.1f} / {r['top5']:.1f}" for r in rows]
        lines.append(f"| {key} | {r['samples']} | " + " | ".join(cells) + " |")
    rows = [seen[str(x)]["all"] for x in BRIDGE_GRID]
    cells = [f"**{r['top1']:.1f} / {r['top5']:.1f}**" for r in rows]
    lines.append(f"| all | {seen['0.0']['all']['samples']} | " + " | ".join(cells) + " |")
    lines += ["", "## Zero-shot, held-out classes", "",
              (f"Head trained without {', '.join(HELD_OUT)} (every sample of them held out); top-1 / top-5 "
               "among "
              f"those {len(HELD_OUT)} (chance {zs['0.0']['chance_top1']} %)."), "",
              "| bridge weight | top-1 | top-5 | " + " | ".join(HELD_OUT) + " |",
              "|---:|---:|---:|" + "---:|" * len(HELD_OUT)]
    for x in BRIDGE_GRID:
        r = zs[str(x)]
        lines.append(f"| {x} | {r['top1']:.1f} | {r['top5']:.1f} | "
                     + " | ".join(f"{r['per_class_top1'].get(c, float('nan')):.1f}" for c in HELD_OUT) + " |")
    lines += ["", (f"Chosen bridge weight: **{w}** (best zero-shot top-1; ties: better seen-class top-1, "
              f"then the lower weight). Zero-shot top-1 {zs['0.0']['top1']} % without the bridge, "
              f"{zs[str(w)]['top1']} % "
              "with it."), "", "## Steps", "", "| step | s |", "|---|---:|"]
    lines += [f"| {s['step']} | {s['seconds']} |" for s in m["timings"]["steps"]]
    lines += [f"| total | {m['timings']['total_s']} |", ""]
    if m.get("parity"):
        lines += [(f"Imported backbone vs x3d_from_pyskl features: max abs diff "
                   f"{m['parity']['max_abs_diff']:.2e} "
                  f"on {m['parity']['clips']} clips."), ""]
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "camera")
    parser.add_argument("--work", type=Path, default=None,
                        help="caches, features and heads (default: OUT's sibling OUT-work)")
    parser.add_argument("--skip-extract", action="store_true", help="reuse the cached features of WORK/cache")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--reuse-heads", action="store_true", help="keep heads already trained in WORK/heads")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from dvta_live.conventions import FEATURE_DIM
    from dvta_live.dvta.merge import merge_features

    shared, out = args.shared.resolve(), args.out.resolve()
    work = (args.work or out.parent / f"{out.name}-work").resolve()
    work.mkdir(parents=True, exist_ok=True)
    cache = work / "cache"
    log: list = []
    started = time.perf_counter()
    m: dict[str, Any] = {"seed": SEED, "views": VIEWS, "epochs": args.epochs, "weights": WEIGHTS,
                         "recipe": RECIPE, "labels": LABELS.name, "held_out_classes": list(HELD_OUT),
                         "bridge_grid": list(BRIDGE_GRID)}

    # 1. the backbone
    backbone: Path | None = work / "backbone.safetensors"
    try:
        from dvta_live.backbone.checkpoint import import_checkpoint, read_backbone_info

        step(f"dvta backbone import {Path(WEIGHTS).name} --recipe {RECIPE}", log, import_checkpoint,
             shared / WEIGHTS, backbone, RECIPE)
        binfo = read_backbone_info(backbone)
        dim, recipe = int(binfo.feature_dim), dict(binfo.recipe)
        m["backbone_note"] = f"imported: architecture {binfo.architecture}, recipe {binfo.recipe_name}"
    except Exception as exc:  # noqa: BLE001 - the x3d import is not wired in yet: features without it
        print(f"backbone import not available ({type(exc).__name__}: {exc}); features from x3d_from_pyskl",
              flush=True)
        backbone, binfo, dim, recipe = None, None, FEATURE_DIM, {"name": RECIPE}
        m["backbone_note"] = f"import not available ({type(exc).__name__}): features from x3d_from_pyskl"
    model = load_x3d(shared, backbone)
    meta = {"backbone": str(backbone or shared / WEIGHTS), "backbone_architecture": ARCH, "recipe": recipe,
            "views": VIEWS, "seed": SEED}

    # 2-3. staging and features, per dataset (cached)
    keys = ["penn-action", "jhmdb", "berkeley-mhad-2d", "utd-mhad-openpose", "pushfit-mediapipe",
            "md4fd-falls", *DATASETS_3D, "cmu-mocap", "cmu-described", "standing-still"]
    cached = args.skip_extract and all((cache / f"{k}.npz").is_file() for k in keys)
    if not cached:
        from dvta_live.skeleton.readers import read_path

        real = step("stage real-video 2-D datasets (read_real2d)", log, real2d_clips, shared)
        three = step("stage 3-D sources (dvta data convert; CMU as build_default_model)", log, sources_3d,
                     shared, work)
        for key in keys:
            if args.skip_extract and (cache / f"{key}.npz").is_file():
                continue
            if key in real:
                staged = real[key]
            else:
                staged = step(f"project {key} through {VIEWS} random cameras", log, virtual_views, key,
                              read_path(three[key]), VIEWS, keys.index(key))
                staged["source"] = str(three[key])
            step(f"dvta extract-features {key} ({len(staged['clips'])} clips)", log, cache_dataset, key,
                 staged, model, cache)
    data = {}
    parts: dict[str, dict[str, Path]] = {}
    for key in keys:
        info = json.loads((cache / f"{key}.json").read_text())
        z = np.load(cache / f"{key}.npz")
        info["held"] = int(z["held"].sum())
        data[key] = info
        parts[key] = write_parts(key, cache, work / "features", meta, dim)
    m["data"] = data
    m["total_clips"] = sum(d["clips"] for d in data.values())
    if backbone is not None:
        probe = real2d_clips(shared)["penn-action"]["clips"][:8]
        m["parity"] = step("imported backbone vs x3d_from_pyskl features", log, backbone_parity, shared,
                           backbone, probe)

    # 4. merges
    feats = work / "features"
    allf = [p["all"] for p in parts.values()]
    res = step("dvta merge-features (all)", log, merge_features, allf, LABELS, feats / "merged-all")
    m["classes"] = len(res.class_names)
    m["train_samples"] = res.train
    step("dvta merge-features (fit: held-out parts left out)", log, merge_features,
         [p["fit"] for p in parts.values() if "fit" in p], LABELS, feats / "merged-fit")
    tests = {}
    for key, p in parts.items():
        if "test" in p:
            tests[key] = merge_features([p["test"]], LABELS, feats / f"merged-test-{key}").folder
    step("dvta merge-features --unseen HELD_OUT", log, merge_features, allf, LABELS,
         feats / "merged-held-out", ",".join(HELD_OUT))

    # 5. heads
    heads = work / "heads"
    heads.mkdir(exist_ok=True)
    info = step("dvta train-head (all)", log, train_and_save_head, feats / "merged-all", LABELS,
                heads / "head.safetensors", args.epochs, reuse=args.reuse_heads)
    m["head"] = {"classes": info.classes.num_classes, "train_samples": info.features["train"],
                 "best_epoch": info.selection["best_epoch"],
                 "validation_top1": info.selection["validation_top1"],
                 "validation_classes": [info.text.classes[c].name for c in info.classes.validation_unseen]}
    seen_info = step("dvta train-head (seen check: held-out parts left out)", log, train_and_save_head,
                     feats / "merged-fit", LABELS, heads / "seen-check-head.safetensors", args.epochs,
                     reuse=args.reuse_heads)
    zs_info = step("dvta train-head (zero-shot check: HELD_OUT left out)", log, train_and_save_head,
                   feats / "merged-held-out", LABELS, heads / "zero-shot-head.safetensors", args.epochs,
                   reuse=args.reuse_heads)
    m["seen_check_head"] = {"best_epoch": seen_info.selection["best_epoch"],
                            "validation_top1": seen_info.selection["validation_top1"]}
    m["zero_shot_head"] = {"best_epoch": zs_info.selection["best_epoch"],
                           "validation_top1": zs_info.selection["validation_top1"]}

    # 6. held-out figures and the bridge weight
    bridge = ntu60_bridge(model, info.text.model, dim)
    m["seen_check"] = step("seen-class check (held-out subjects / scenes)", log, seen_check,
                           heads / "seen-check-head.safetensors", tests, LABELS, bridge)
    m["seen_check_classes"] = len(seen_info.classes.seen)
    m["zero_shot"] = step("zero-shot check (held-out classes)", log, zero_shot_check,
                          heads / "zero-shot-head.safetensors", feats / "merged-held-out", LABELS, bridge)
    m["bridge_weight"] = choose_weight(m["zero_shot"], m["seen_check"])

    # 7. the model folder
    m["model_dir"] = str(out)
    if backbone is not None:
        m["pack"] = step(f"dvta model pack --bridge-weight {m['bridge_weight']}", log, pack, backbone,
                         heads / "head.safetensors", out, m["bridge_weight"], bridge, binfo)
        m["packed"] = True
    else:
        m["packed"] = False
        m["pack_note"] = "the x3d backbone import is not available yet; rerun with --skip-extract once it is"
        print(f"model NOT packed: {m['pack_note']}", flush=True)
    m["timings"] = {"total_s": round(time.perf_counter() - started, 1), "steps": log}
    m["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "build.json").write_text(json.dumps(m, indent=1) + "\n")
    write_markdown(m, args.results / "build.md")
    if m["packed"]:
        slim = {k: v for k, v in m.items() if k != "data"}
        (out / "metrics.json").write_text(json.dumps(slim, indent=1) + "\n")
    print(json.dumps({k: m[k] for k in ("bridge_weight", "head")}, indent=1))
    print((args.results / "build.md").read_text())


if __name__ == "__main__":
    main()
