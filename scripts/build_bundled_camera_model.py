"""Build the bundled camera model: the project's own KeypointGCN (ST-GCN on COCO-17 keypoints with scores),
trained here with the camera model's PoseC3D X3D as a teacher, + a DVTA head on its features, with its own
NTU-60 classifier (distilled from the teacher) as the bridge. Written to dvta_live/assets/camera-model.

Inputs: the teacher's cache of `scripts/build_camera_model.py` (`make camera-model`; WORK/cache/*.npz):
per clip of the 16 training datasets (6 real-video 2-D datasets + the 3-D datasets through 2 virtual
cameras with estimator-like errors), the recipe window [3, 48, 17, 2] (posec3d48: pyskl's test sampling
and compact box, the input the live loop sends), the teacher's pooled 216-d feature and NTU-60 logits, the
dataset label and the held-out flag.

1. Student training (resumable: WORK/student/last.pt after every epoch; rerun the same command): clips of
   neither a held-out part (build_camera_model's HELD_RULE) nor a held-out class (its HELD_OUT) only, so
   every held-out figure below is on data the backbone never saw. Loss per clip: cross-entropy on its
   class among the merged camera-training classes (label smoothing 0.1) + the teacher's NTU-60
   probabilities (KL at temperature 2, x T^2) + 1 - cosine between the teacher's feature and a linear
   map of the student's (the map is dropped after training). Augmentation: box scale 0.85-1.15 and shift
   +-4 px, 5 % of keypoints dropped (score 0), scores jittered.
2. Student features of every clip -> features folders (all / fit / test per dataset) -> the merges of
   build_camera_model -> three heads (model, seen-class check, zero-shot check; the same settings).
3. Held-out figures at each bridge weight and the weight chosen the same way (zero-shot top-1).
4. `dvta model pack` into OUT (default dvta_live/assets/camera-model), with metrics.json.

    OMP_NUM_THREADS=1 python scripts/build_bundled_camera_model.py --shared ../shared
    python scripts/build_bundled_camera_model.py --reuse-heads      # after an interrupted head step

Results: bench/results/bundled_camera_model/build.json and build.md.
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
import build_camera_model as bcm  # the teacher build: staging, merges, heads and checks

RESULTS = ROOT / "bench" / "results" / "bundled_camera_model"
OUT = ROOT / "dvta_live" / "assets" / "camera-model"
RECIPE = "posec3d48"
SEED = 0
EPOCHS = 16  # about 3.1 min an epoch on one thread (6,836 clips); 10 scored lower on the held-out checks
BATCH = 32
LR = 2e-3
WEIGHT_DECAY = 5e-4
HIDDEN = 32
KD_T = 2.0
LOSS_WEIGHTS = {"label": 1.0, "kd": 1.0, "feature": 1.0}
TEACHER_DIM = 216  # the X3D's pooled feature (its cached 256 carry 40 zero columns)


def load_cache(cache: Path, keys: list[str]) -> dict[str, Any]:
    """Every clip of the teacher's cache, in dataset order, with merged class ids and the training mask."""
    from dvta_live.labels import load_labels

    labels = load_labels(bcm.LABELS)
    names = list(labels.names)
    held_classes = {names.index(labels.find(c).name) for c in bcm.HELD_OUT}
    parts: dict[str, list] = {k: [] for k in ("windows", "features", "logits", "labels", "held", "dataset")}
    for i, key in enumerate(keys):
        path = cache / f"{key}.npz"
        if not path.is_file():
            raise SystemExit(f"{path}: no teacher cache; run `make camera-model` first")
        z = np.load(path)
        if "windows" not in z:
            raise SystemExit(f"{path}: the cache has no model windows (an older build); rerun "
                             "`make camera-model` without --skip-extract")
        info = json.loads((cache / f"{key}.json").read_text())
        merged = np.array([names.index(labels.find(info["class_names"][c]).name) for c in z["labels"]])
        parts["windows"].append(z["windows"])
        parts["features"].append(z["features"][:, :TEACHER_DIM].astype(np.float32))
        parts["logits"].append(z["logits"].astype(np.float32))
        parts["labels"].append(merged)
        parts["held"].append(z["held"])
        parts["dataset"].append(np.full(len(merged), i))
    data = {k: np.concatenate(v) for k, v in parts.items()}
    data["train"] = ~data["held"] & ~np.isin(data["labels"], sorted(held_classes))
    data["class_names"] = names
    return data


def augment(x: Any, gen: Any) -> Any:
    """Box-scale / shift jitter, dropped keypoints and jittered scores on a batch [B, 3, T, 17, M]."""
    import torch

    b = x.shape[0]
    present = x[:, 2:3] > 0
    scale = torch.empty(b, 1, 1, 1, 1).uniform_(0.85, 1.15, generator=gen)
    shift = torch.empty(b, 2, 1, 1, 1).uniform_(-4.0, 4.0, generator=gen)
    xy = (x[:, :2] - 32.0) * scale + 32.0 + shift
    keep = torch.rand(x[:, 2:3].shape, generator=gen) > 0.05
    score = (x[:, 2:3] * torch.empty(b, 1, 1, 1, 1).uniform_(0.8, 1.1, generator=gen)).clamp(0, 1)
    mask = present & keep
    return torch.cat([xy * mask, score * mask], dim=1)


def train_student(data: dict, work: Path, epochs: int) -> tuple[Any, dict]:
    """KeypointGCN trained with the teacher (resumable from WORK/student/last.pt)."""
    import torch
    import torch.nn.functional as F

    from dvta_live.backbone.keypoint_gcn import KeypointGCN

    torch.manual_seed(SEED)
    idx = np.flatnonzero(data["train"])
    num_class = len(data["class_names"])
    model = KeypointGCN(num_class=60, hidden_channels=HIDDEN)
    aux = torch.nn.Linear(model.feature_dim, num_class)  # the labels' classifier, dropped after training
    adapter = torch.nn.Linear(model.feature_dim, TEACHER_DIM)  # student feature -> teacher feature
    params = [*model.parameters(), *aux.parameters(), *adapter.parameters()]
    opt = torch.optim.AdamW(params, lr=LR, weight_decay=WEIGHT_DECAY)
    steps_per_epoch = (len(idx) + BATCH - 1) // BATCH
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=epochs * steps_per_epoch,
                                                pct_start=0.1)
    ckpt = work / "student" / "last.pt"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    history: list = []
    start = 0
    if ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        if state["epochs"] == epochs:
            model.load_state_dict(state["model"])
            aux.load_state_dict(state["aux"])
            adapter.load_state_dict(state["adapter"])
            opt.load_state_dict(state["opt"])
            sched.load_state_dict(state["sched"])
            start, history = state["epoch"], state["history"]
            print(f"resumed the student at epoch {start}", flush=True)
    windows = torch.from_numpy(data["windows"])  # float16, [N, 3, 48, 17, 2]
    tfeat = F.normalize(torch.from_numpy(data["features"]), dim=1)
    tprob = F.softmax(torch.from_numpy(data["logits"]) / KD_T, dim=1)
    labels = torch.from_numpy(data["labels"])
    for epoch in range(start, epochs):
        started = time.perf_counter()
        gen = torch.Generator().manual_seed(SEED * 1000 + epoch)
        order = idx[torch.randperm(len(idx), generator=gen).numpy()]
        model.train()
        totals = {"loss": 0.0, "label": 0.0, "kd": 0.0, "feature": 0.0, "top1": 0.0}
        for s in range(0, len(order), BATCH):
            b = torch.from_numpy(order[s:s + BATCH])
            x = augment(windows[b].float(), gen)
            if not (x[:, 2, ..., 1:] > 0).any():  # nobody in the second slot: its empty pass adds nothing
                x = x[..., :1].contiguous()
            feat, logits = model(x)
            scores = aux(feat)
            l_label = F.cross_entropy(scores, labels[b], label_smoothing=0.1)
            l_kd = F.kl_div(F.log_softmax(logits / KD_T, dim=1), tprob[b], reduction="batchmean") * KD_T ** 2
            l_feat = (1 - (F.normalize(adapter(feat), dim=1) * tfeat[b]).sum(1)).mean()
            loss = (LOSS_WEIGHTS["label"] * l_label + LOSS_WEIGHTS["kd"] * l_kd
                    + LOSS_WEIGHTS["feature"] * l_feat)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            n = len(b)
            for k, v in (("loss", loss), ("label", l_label), ("kd", l_kd), ("feature", l_feat)):
                totals[k] += v.item() * n
            totals["top1"] += (scores.argmax(1) == labels[b]).sum().item()
        row = {k: round(v / len(order), 4) for k, v in totals.items()}
        row |= {"epoch": epoch + 1, "seconds": round(time.perf_counter() - started, 1)}
        history.append(row)
        print(f"epoch {epoch + 1}/{epochs}: {row}", flush=True)
        tmp = ckpt.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "aux": aux.state_dict(), "adapter": adapter.state_dict(),
                    "opt": opt.state_dict(), "sched": sched.state_dict(), "epoch": epoch + 1,
                    "epochs": epochs, "history": history}, tmp)
        tmp.replace(ckpt)
    return model.eval(), {"history": history, "train_clips": len(idx), "epochs": epochs}


def student_outputs(model: Any, windows: np.ndarray, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(features [N, 256], NTU-60 logits [N, 60]) of the recipe windows, in eval mode."""
    import torch

    feats, logits = [], []
    with torch.inference_mode():
        for i in range(0, len(windows), batch):
            x = torch.from_numpy(windows[i:i + batch].astype(np.float32))
            f, z = model(x)
            feats.append(f.numpy())
            logits.append(z.numpy())
    return np.concatenate(feats), np.concatenate(logits)


def teacher_agreement(data: dict, logits: np.ndarray) -> dict:
    """How often the student's NTU-60 top-1 is the teacher's, on held-out and on training clips."""
    same = logits.argmax(1) == data["logits"].argmax(1)
    test = ~data["train"]
    return {"held_out_top1_agreement": round(100 * float(same[test].mean()), 1),
            "train_top1_agreement": round(100 * float(same[data["train"]].mean()), 1)}


def write_parts(key: str, i: int, data: dict, feats: np.ndarray, out: Path, meta: dict) -> dict[str, Path]:
    """Features folders of dataset ``i`` (all / fit / test) in its own class names, as build_camera_model."""
    cache = Path(meta["cache"])
    info = json.loads((cache / f"{key}.json").read_text())
    z = np.load(cache / f"{key}.npz")
    rows = np.flatnonzero(data["dataset"] == i)
    return bcm.save_parts(key, feats[rows].astype(np.float32), z["labels"], z["held"], info["class_names"], out,
                          {k: v for k, v in meta.items() if k != "cache"})


def _head_job(features: Path, out: Path, epochs: int, reuse: bool) -> Any:
    import torch

    torch.set_num_threads(1)
    return bcm.train_and_save_head(features, bcm.LABELS, out, epochs, reuse=reuse)


def train_heads(jobs: list[tuple[Path, Path]], epochs: int, reuse: bool) -> list:
    """The heads of ``jobs`` ((features, out) pairs), two processes of one torch thread each."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(_head_job, f, o, epochs, reuse) for f, o in jobs]
        return [f.result() for f in futures]


def student_bridge(model: Any, text_model: str) -> Any:
    """The student's NTU-60 classifier as a bridge over its features (weight set later)."""
    from dvta_live.backbone.checkpoint import ntu_class_names
    from dvta_live.dvta.bridge import class_texts, make_bridge
    from dvta_live.labels.encoder import get_encoder

    names = ntu_class_names(model.fc.out_features)
    return make_bridge(model.fc, class_texts(tuple(names), get_encoder(text_model or None)), 1.0)


def write_markdown(m: dict, path: Path) -> None:
    seen, zs, w = m["seen_check"], m["zero_shot"], m["bridge_weight"]
    grid = bcm.BRIDGE_GRID
    lines = ["# Bundled camera model build (KeypointGCN student + DVTA head)", "",
             (f"Written by `scripts/build_bundled_camera_model.py` ({m['finished']}) into `{m['model_dir']}`. "
              f"Student: KeypointGCN, hidden {HIDDEN}, {m['student']['parameters']:,} parameters, "
              f"{m['student']['epochs']} epochs on {m['student']['train_clips']:,} clips (held-out parts and "
              f"held-out classes left out), batch {BATCH}, AdamW lr {LR} one-cycle, seed {SEED}. Teacher: the "
              "camera model's PoseC3D X3D (its cache in models/camera-work). Head: build_camera_model's "
              "settings."), "",
             "## Student training", "", "| epoch | loss | label CE | KD | 1 - cos | train top-1 | s |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in m["student"]["history"]:
        lines.append(f"| {r['epoch']} | {r['loss']} | {r['label']} | {r['kd']} | {r['feature']} | "
                     f"{100 * r['top1']:.1f} | {r['seconds']} |")
    a = m["teacher_agreement"]
    lines += ["", (f"NTU-60 top-1 equal to the teacher's: {a['held_out_top1_agreement']} % of held-out clips, "
                   f"{a['train_top1_agreement']} % of training clips."), "",
              "## Seen classes, held-out subjects / scenes", "",
              (f"Top-1 / top-5 among all {m['seen_check_classes']} seen classes; columns: bridge weight."), "",
              "| dataset | clips | " + " | ".join(f"w={x}" for x in grid) + " |",
              "|---|---:|" + "---:|" * len(grid)]
    for key, r in seen["0.0"]["per_dataset"].items():
        cells = [f"{seen[str(x)]['per_dataset'][key]['top1']:.1f} / {seen[str(x)]['per_dataset'][key]['top5']:.1f}"
                 for x in grid]
        lines.append(f"| {key} | {r['samples']} | " + " | ".join(cells) + " |")
    cells = [f"**{seen[str(x)]['all']['top1']:.1f} / {seen[str(x)]['all']['top5']:.1f}**" for x in grid]
    lines.append(f"| all | {seen['0.0']['all']['samples']} | " + " | ".join(cells) + " |")
    lines += ["", "## Zero-shot, held-out classes", "",
              f"Top-1 / top-5 among {', '.join(bcm.HELD_OUT)} (chance {zs['0.0']['chance_top1']} %).", "",
              "| bridge weight | top-1 | top-5 | " + " | ".join(bcm.HELD_OUT) + " |",
              "|---:|---:|---:|" + "---:|" * len(bcm.HELD_OUT)]
    for x in grid:
        r = zs[str(x)]
        lines.append(f"| {x} | {r['top1']:.1f} | {r['top5']:.1f} | "
                     + " | ".join(f"{r['per_class_top1'].get(c, float('nan')):.1f}" for c in bcm.HELD_OUT) + " |")
    lines += ["", f"Chosen bridge weight: **{w}** (as the camera model: best zero-shot top-1, ties: seen-class).",
              "", "## Steps", "", "| step | s |", "|---|---:|"]
    lines += [f"| {s['step']} | {s['seconds']} |" for s in m["timings"]["steps"]]
    lines += [f"| total | {m['timings']['total_s']} |", ""]
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--teacher-work", type=Path, default=ROOT / "models" / "camera-work",
                        help="build_camera_model's WORK folder (its cache/ is the teacher's)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--work", type=Path, default=ROOT / "models" / "bundled-camera-work")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--head-epochs", type=int, default=bcm.EPOCHS)
    parser.add_argument("--reuse-heads", action="store_true", help="keep heads already trained in WORK/heads")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from dvta_live.backbone.checkpoint import ntu_class_names, save_backbone
    from dvta_live.dvta.merge import merge_features
    from dvta_live.model import load_model_net, pack_model

    out, work = args.out.resolve(), args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    cache = args.teacher_work.resolve() / "cache"
    keys = ["penn-action", "jhmdb", "berkeley-mhad-2d", "utd-mhad-openpose", "pushfit-mediapipe",
            "md4fd-falls", *bcm.DATASETS_3D, "cmu-mocap", "cmu-described", "standing-still"]
    log: list = []
    started = time.perf_counter()
    m: dict[str, Any] = {"seed": SEED, "recipe": RECIPE, "hidden": HIDDEN, "loss_weights": LOSS_WEIGHTS,
                         "kd_temperature": KD_T, "held_out_classes": list(bcm.HELD_OUT)}
    data = bcm.step("load the teacher's cache", log, load_cache, cache, keys)
    model, m["student"] = bcm.step(f"train the student ({args.epochs} epochs)", log, train_student, data, work,
                                   args.epochs)
    m["student"]["parameters"] = sum(p.numel() for p in model.parameters())
    backbone = work / "backbone.safetensors"
    save_backbone(backbone, model, RECIPE, class_names=ntu_class_names(60),
                  source="KeypointGCN trained by scripts/build_bundled_camera_model.py (dvta-live), teacher: "
                         "PoseC3D X3D-shallow NTU-60 HRNet 2-D",
                  extra={"training": {k: v for k, v in m["student"].items() if k != "history"}})
    feats, logits = bcm.step("student features of every clip", log, student_outputs, model, data["windows"])
    m["teacher_agreement"] = teacher_agreement(data, logits)

    meta = {"backbone": str(backbone), "backbone_architecture": "keypoint-gcn", "recipe": {"name": RECIPE},
            "seed": SEED, "cache": str(cache)}
    parts = {key: write_parts(key, i, data, feats, work / "features", meta) for i, key in enumerate(keys)}
    fdir = work / "features"
    allf = [p["all"] for p in parts.values()]
    res = bcm.step("dvta merge-features (all)", log, merge_features, allf, bcm.LABELS, fdir / "merged-all")
    m["classes"] = len(res.class_names)
    merge_features([p["fit"] for p in parts.values() if "fit" in p], bcm.LABELS, fdir / "merged-fit")
    tests = {key: merge_features([p["test"]], bcm.LABELS, fdir / f"merged-test-{key}").folder
             for key, p in parts.items() if "test" in p}
    merge_features(allf, bcm.LABELS, fdir / "merged-held-out", ",".join(bcm.HELD_OUT))

    heads = work / "heads"
    heads.mkdir(exist_ok=True)
    info, seen_info, _ = bcm.step("dvta train-head x 3 (model, seen check, zero-shot check; 2 processes)", log,
                                  train_heads, [(fdir / "merged-all", heads / "head.safetensors"),
                                                (fdir / "merged-fit", heads / "seen-check-head.safetensors"),
                                                (fdir / "merged-held-out", heads / "zero-shot-head.safetensors")],
                                  args.head_epochs, args.reuse_heads)
    m["head"] = {"classes": info.classes.num_classes, "train_samples": info.features["train"],
                 "best_epoch": info.selection["best_epoch"]}
    bridge = student_bridge(model, info.text.model)
    m["seen_check"] = bcm.step("seen-class check", log, bcm.seen_check, heads / "seen-check-head.safetensors",
                               tests, bcm.LABELS, bridge)
    m["seen_check_classes"] = len(seen_info.classes.seen)
    m["zero_shot"] = bcm.step("zero-shot check", log, bcm.zero_shot_check, heads / "zero-shot-head.safetensors",
                              fdir / "merged-held-out", bcm.LABELS, bridge)
    m["bridge_weight"] = bcm.choose_weight(m["zero_shot"], m["seen_check"])
    m["model_dir"] = str(out.relative_to(ROOT)) if out.is_relative_to(ROOT) else str(out)
    bcm.step(f"dvta model pack --bridge-weight {m['bridge_weight']}", log, pack_model, backbone,
             heads / "head.safetensors", out, bridge_weight=m["bridge_weight"])
    load_model_net(out)
    m["timings"] = {"total_s": round(time.perf_counter() - started, 1), "steps": log}
    m["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "build.json").write_text(json.dumps(m, indent=1) + "\n")
    write_markdown(m, args.results / "build.md")
    (out / "metrics.json").write_text(json.dumps(m, indent=1) + "\n")
    print((args.results / "build.md").read_text())


if __name__ == "__main__":
    main()
