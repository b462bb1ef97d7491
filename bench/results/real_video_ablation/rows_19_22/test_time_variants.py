"""Offline test-time variants of the bundled model on the bench's own windows (rows_15_17/offline_eval.py,
which reproduces the bench exactly): the windows transformed, or a term added to the scores. Needs
runs/rows15_17/windows.pkl (rows_15_17/dump_windows.py) and, for the reference-feature variants, the
backbone features of the recorded and camera-path training windows (rows_15_17/adapt_cache.py writes
runs/rows15_17/rec_*.npz and cam_*.npz).

    python test_time_variants.py [VARIANT ...]     (default: all; prints top-1, top-3, window acc, other ranks)"""
import copy
import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rows_15_17"))
import offline_eval as O  # noqa: E402

from dvta_live.dvta.features import class_texts_from_labels  # noqa: E402
from dvta_live.labels.loader import load_labels  # noqa: E402
from dvta_live.skeleton.recipe import _agcn_align  # noqa: E402

MODEL = "dvta_live/assets/model"
TRAINING = "dvta_live/assets/labels/default-training.yaml"
SOURCES = ["utd-mhad", "nw-ucla", "msr-action3d", "bandai-namco", "cmu-described", "cmu-mocap", "ntu", "standing-still"]
WINDOWS = copy.deepcopy(O.W)


def scored(transforms):
    """Mean scores of the model over the windows under each transform (test-time augmentation)."""
    total = None
    for fn in transforms:
        for name, ws in WINDOWS.items():
            O.W[name] = [fn(w) for w in ws]
        O._rt.clear()
        ms = O.model_scores(MODEL)
        total = ms if total is None else {k: (total[k][0] + ms[k][0],) + ms[k][1:] for k in ms}
    for name, ws in WINDOWS.items():
        O.W[name] = ws
    return {k: (v[0] / len(transforms),) + v[1:] for k, v in total.items()}


def masked(fn):
    def apply(w):
        return np.where((w != 0).any(1, keepdims=True), fn(w), 0).astype(np.float32)
    return apply


def rotate(w, degrees, axis):  # recipe space: z is the first frame's spine, x its shoulders
    t = np.deg2rad(degrees)
    i, j = [a for a in range(3) if a != axis]
    out = w.copy()
    out[:, i] = np.cos(t) * w[:, i] - np.sin(t) * w[:, j]
    out[:, j] = np.sin(t) * w[:, i] + np.cos(t) * w[:, j]
    return out


def scale_depth(f):
    def apply(w):
        out = w.copy()
        out[:, 1] *= f  # y: front-back after the recipe's rotation
        return out
    return apply


def window_aligned(how):
    """Spine and shoulders of the whole window (mean or median) instead of its first frame."""
    def apply(w):
        out = w.copy()
        for i in range(w.shape[0]):
            b = w[i, :, :, :, 0].transpose(1, 2, 0).astype(np.float64)
            b = b[np.any(b != 0, axis=(1, 2))]
            stat = np.mean if how == "mean" else np.median
            spine, shoulders = stat(b[:, 1] - b[:, 0], axis=0), stat(b[:, 8] - b[:, 4], axis=0)
            rz = _agcn_align(spine, 2)
            r = _agcn_align(rz @ shoulders, 0) @ rz
            x = w[i].transpose(1, 2, 3, 0)
            out[i] = np.where(np.any(x != 0, axis=-1, keepdims=True), (x.reshape(-1, 3) @ r.T).reshape(x.shape),
                              0).transpose(3, 0, 1, 2)
        return out.astype(np.float32)
    return apply


def log_softmax(x):
    x = x - x.max(1, keepdims=True)
    return x - np.log(np.exp(x).sum(1, keepdims=True))


def added(ms, term):
    return {k: (s.astype(np.float64) + term(k, s, names, ctx), names, ctx, exp)
            for k, (s, names, ctx, exp) in ms.items()}


def reference_features(kind):
    return (np.concatenate([np.load(f"runs/rows15_17/{kind}_{s}.npz")["F"] for s in SOURCES]).astype(np.float32),
            np.concatenate([np.load(f"runs/rows15_17/{kind}_{s}.npz")["Y"] for s in SOURCES]))


def main() -> None:
    wanted = set(sys.argv[1:])
    plain = None

    def want(kind):
        return not wanted or kind in wanted

    def show(name, compute):
        if want(name.split()[0]):
            print(f"{name:34s}", O.evaluate(compute()), flush=True)

    def base():
        nonlocal plain
        plain = plain or scored([lambda w: w])
        return plain

    show("bundled", base)
    for sigma in (1, 2, 3):
        smooth = masked(lambda w, s=sigma: gaussian_filter1d(w, s, axis=2, mode="nearest"))
        show(f"smooth sigma={sigma} frames", lambda smooth=smooth: scored([smooth]))
    for a in (15, 30, 45):
        views = [lambda w: w, masked(lambda w, a=a: rotate(w, a, 2)), masked(lambda w, a=a: rotate(w, -a, 2))]
        show(f"yaw +-{a} (3 views averaged)", lambda views=views: scored(views))
    for f in (0.5, 0.75, 1.5):
        show(f"depth x{f}", lambda f=f: scored([scale_depth(f)]))
    for a in (-15, 15):
        show(f"tilt {a}", lambda a=a: scored([masked(lambda w: rotate(w, a, 0))]))
    for how in ("mean", "median"):
        show(f"aligned window-{how}", lambda how=how: scored([window_aligned(how)]))
    # the rest add a term to the bundled model's scores
    import torch

    from dvta_live.runtimes import open_runtime

    rt = open_runtime(MODEL, "torch", threads=1)
    labels_of = {(n, i): key for n, i, key, _ in O.cl}
    for kind in ("rec", "cam"):  # hubness: each label's mean log-probability over training windows
        if not want("hubness"):
            break
        ref, _ = reference_features(kind)
        offsets = {}
        for key in set(labels_of.values()):
            side, ex = rt.prepare_text(O.enc.encode_labels(load_labels(O.B.labels_file(key))).embeddings).value
            with torch.inference_mode():
                s = rt.model.head.score(torch.from_numpy(ref), side, examples=ex).numpy().astype(np.float64)
            offsets[key] = log_softmax(s).mean(0)
        for lam in (0.25, 0.5, 1.0):
            show(f"hubness {kind} lambda={lam}",
                 lambda lam=lam, offsets=offsets: added(base(), lambda k, s, n, c: -lam * offsets[labels_of[k]][None]))
    training = load_labels(TRAINING)

    def trained(names):
        return np.array([training.find(n) is not None for n in names], float)[None]

    for gamma in (0.5, 1, 2, 3, 6.04):  # 6.04: the head's own GZSL calibration (validation, max H)
        show(f"calibrated stacking gamma={gamma}",
             lambda g=gamma: added(base(), lambda k, s, names, c: -g * trained(names)))
    if not want("knn"):
        return
    feats = {name: [rt.features(w, None) for w in ws] for name, ws in WINDOWS.items()}
    texts = class_texts_from_labels(TRAINING).embeddings[:, 1]
    texts = texts / np.linalg.norm(texts, axis=1, keepdims=True)
    for kind in ("rec", "cam"):  # nearest training windows' classes, matched to the labels as the bridge does
        ref, y = reference_features(kind)
        ref = ref / np.linalg.norm(ref, axis=1, keepdims=True)
        for k in (10, 50):
            def knn(key, s, names, ctx, k=k, ref=ref, y=y):
                f = feats[key[0]][key[1]]
                near = np.argsort(-(f / np.linalg.norm(f, axis=1, keepdims=True)) @ ref.T, axis=1)[:, :k]
                p = np.stack([np.bincount(y[row], minlength=len(texts)) / k for row in near])
                mean = p @ texts
                mean /= np.linalg.norm(mean, axis=1, keepdims=True)
                return log_softmax(mean @ ctx.T / 0.1)
            show(f"knn {kind} k={k}", lambda knn=knn: added(base(), knn))

if __name__ == "__main__":
    main()
