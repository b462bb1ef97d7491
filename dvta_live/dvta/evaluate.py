"""Zero-shot and generalised zero-shot evaluation of a DVTA head on a features folder.

Figures, and where each convention comes from:

* **ZSL top-1** on the unseen classes, candidates = the split's unseen classes only. ``top1`` is
  sample-weighted (correct / samples). ``top1_batch_mean`` is what the released DVTA / SMIE ``train.py``
  print: the mean of per-batch accuracies over a test loader of batch 64 without shuffling, which weights
  the samples of a short last batch more (equal only when every batch is full).
* **GZSL** on ``gtest`` (samples of all classes), candidates = seen + unseen classes. Seen (unseen)
  accuracy = correct / samples over the test samples whose true class is seen (unseen), as SynSE's
  ``gating_synse_model_eval.py`` counts them; H = 2 S U / (S + U). The per-class-mean variants (Xian et
  al.'s convention) are reported beside them.
* **Calibrated stacking** (Chao et al., ECCV 2016): every seen class's score is lowered by gamma before
  the arg-max. gamma is chosen on the validation split (held-out seen classes as pseudo-unseen) by
  ``choose_calibration``, exactly: the optimum over all gamma is found by sorting each sample's
  seen-minus-unseen score margin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from dvta_live.dvta.features import class_texts_from_dict, load_features
from dvta_live.dvta.headfile import load_head
from dvta_live.errors import UserError
from dvta_live.outputs import atomic_path
from dvta_live.training import pick_device

if TYPE_CHECKING:
    from dvta_live.dvta.features import ClassTexts, FeatureSet
    from dvta_live.dvta.head import DVTAHead

RELEASED_TEST_BATCH = 64  # the released test DataLoader's batch size (DVTA data_loader.py, SMIE procedure.py)


# ------------------------------------------------------------------------------------------- scoring


@torch.no_grad()
def class_scores(head: DVTAHead, features: np.ndarray | torch.Tensor, text: np.ndarray | torch.Tensor,
                 candidates: Sequence[int], chunk: int = 2048) -> np.ndarray:
    """Scores [N, K] of features [N, 256] against the K candidate classes (global ids into ``text``)."""
    device = next(head.parameters()).device
    if isinstance(text, torch.Tensor):
        table = text.to(device=device, dtype=torch.float32)
    else:  # a copy: TextTensor / ClassTexts embeddings are read-only arrays
        table = torch.from_numpy(np.array(text, dtype=np.float32)).to(device)
    side = head.encode_text(table[torch.as_tensor(list(candidates), dtype=torch.long, device=device)])
    x = torch.as_tensor(features, dtype=torch.float32)
    out = [head.score(x[i:i + chunk].to(device), side).float().cpu() for i in range(0, len(x), chunk)]
    return torch.cat(out).numpy() if out else np.zeros((0, len(candidates)), np.float32)


def predict(scores: np.ndarray, candidates: Sequence[int]) -> np.ndarray:
    """Global class ids of the arg-max candidate per row (first on ties, as torch.max)."""
    return np.asarray(candidates, dtype=np.int64)[np.argmax(scores, axis=1)]


# ------------------------------------------------------------------------------------------- metrics


def sample_accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    """Correct / samples (0.0 for no samples)."""
    labels = np.asarray(labels)
    return float((np.asarray(pred) == labels).mean()) if labels.size else 0.0


def per_batch_mean_accuracy(pred: np.ndarray, labels: np.ndarray,
                            batch_size: int = RELEASED_TEST_BATCH) -> float:
    """The released figure: the mean over consecutive batches (the last one short) of batch accuracy."""
    correct = (np.asarray(pred) == np.asarray(labels)).astype(np.float64)
    if correct.size == 0:
        return 0.0
    return float(np.mean([correct[i:i + batch_size].mean() for i in range(0, correct.size, batch_size)]))


def per_class_accuracy(pred: np.ndarray, labels: np.ndarray,
                       classes: Sequence[int]) -> dict[int, float | None]:
    """Accuracy of each class over its own samples (None for a class without samples)."""
    pred, labels = np.asarray(pred), np.asarray(labels)
    out: dict[int, float | None] = {}
    for c in classes:
        mask = labels == c
        out[int(c)] = float((pred[mask] == c).mean()) if mask.any() else None
    return out


def _mean_defined(values: Sequence[float | None]) -> float:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else 0.0


def balanced_accuracy(pred: np.ndarray, labels: np.ndarray, classes: Sequence[int]) -> float:
    """Mean of the per-class accuracies over the classes that have samples (0 when none has)."""
    return _mean_defined(list(per_class_accuracy(pred, labels, classes).values()))


def harmonic_mean(seen: float, unseen: float) -> float:
    """2 S U / (S + U); 0 when both are 0."""
    return 0.0 if seen + unseen == 0 else 2.0 * seen * unseen / (seen + unseen)


def calibrated_stacking(scores: np.ndarray, seen_mask: np.ndarray, gamma: float) -> np.ndarray:
    """Chao et al.'s calibrated stacking: ``scores - gamma`` on the seen columns, unchanged elsewhere."""
    scores = np.asarray(scores)
    return scores - np.float64(gamma).astype(scores.dtype) * np.asarray(seen_mask, dtype=scores.dtype)


@dataclass(frozen=True)
class GZSLResult:
    """Generalised zero-shot accuracies at one calibration factor (fractions, not percent)."""

    seen: float
    unseen: float
    harmonic: float
    calibration: float
    seen_per_class_mean: float
    unseen_per_class_mean: float
    harmonic_per_class_mean: float
    num_seen_samples: int
    num_unseen_samples: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gzsl_metrics(scores: np.ndarray, labels: np.ndarray, candidates: Sequence[int], seen: Sequence[int],
                 calibration: float = 0.0) -> GZSLResult:
    """Seen / unseen / harmonic accuracy of [N, K] scores over K candidate classes (global ids).

    A sample counts as seen when its true class is in ``seen``; ``calibration`` (gamma) is subtracted from
    the seen candidates' scores first.
    """
    candidates = np.asarray(candidates, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    seen_set = {int(c) for c in seen}
    seen_mask = np.isin(candidates, list(seen_set))
    pred = predict(calibrated_stacking(scores, seen_mask, calibration), candidates)
    is_seen = np.isin(labels, list(seen_set))
    s = sample_accuracy(pred[is_seen], labels[is_seen])
    u = sample_accuracy(pred[~is_seen], labels[~is_seen])
    seen_classes = [int(c) for c in candidates if int(c) in seen_set]
    unseen_classes = [int(c) for c in candidates if int(c) not in seen_set]
    s_pc = balanced_accuracy(pred, labels, seen_classes)
    u_pc = balanced_accuracy(pred, labels, unseen_classes)
    return GZSLResult(s, u, harmonic_mean(s, u), float(calibration), s_pc, u_pc, harmonic_mean(s_pc, u_pc),
                      int(is_seen.sum()), int((~is_seen).sum()))


def choose_calibration(scores: np.ndarray, labels: np.ndarray, candidates: Sequence[int],
                       seen: Sequence[int]) -> GZSLResult:
    """The calibration factor gamma that maximises the harmonic mean on these (validation) scores.

    Exact: a sample switches from a seen to an unseen prediction when gamma passes its margin
    d = max(seen scores) - max(unseen scores), so H is piecewise constant between sorted margins; every
    interval is tried (at its midpoint) and the best one with the smallest |gamma| wins.
    """
    candidates = np.asarray(candidates, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    seen_set = {int(c) for c in seen}
    seen_cols = np.isin(candidates, list(seen_set))
    is_seen = np.isin(labels, list(seen_set))
    if seen_cols.all() or not seen_cols.any() or is_seen.all() or not is_seen.any():
        return gzsl_metrics(scores, labels, candidates, seen, 0.0)
    s_scores, u_scores = scores[:, seen_cols], scores[:, ~seen_cols]
    margin = s_scores.max(axis=1) - u_scores.max(axis=1)
    right_if_seen = candidates[seen_cols][s_scores.argmax(axis=1)] == labels
    right_if_unseen = candidates[~seen_cols][u_scores.argmax(axis=1)] == labels
    cuts = np.unique(margin)
    span = float(cuts[-1] - cuts[0]) + 1.0
    gammas = np.concatenate(([cuts[0] - span], (cuts[:-1] + cuts[1:]) / 2, [cuts[-1] + span]))
    # seen-labelled sample i is right at gamma when margin_i > gamma and its seen arg-max is right
    s_m = np.sort(margin[is_seen & right_if_seen])
    u_m = np.sort(margin[~is_seen & right_if_unseen])
    seen_acc = (len(s_m) - np.searchsorted(s_m, gammas, side="right")) / is_seen.sum()
    unseen_acc = np.searchsorted(u_m, gammas, side="left") / (~is_seen).sum()
    total = seen_acc + unseen_acc
    h = np.where(total > 0, 2 * seen_acc * unseen_acc / np.maximum(total, 1e-12), 0.0)
    best = np.flatnonzero(h >= h.max() - 1e-12)
    gamma = float(gammas[best[np.argmin(np.abs(gammas[best]))]])
    return gzsl_metrics(scores, labels, candidates, seen, gamma)


def confusion_matrix(labels: np.ndarray, pred: np.ndarray, classes: Sequence[int]) -> np.ndarray:
    """[K, K] counts, rows = true class, columns = predicted class, in ``classes`` order."""
    index = {int(c): i for i, c in enumerate(classes)}
    out = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for t, p in zip(np.asarray(labels).tolist(), np.asarray(pred).tolist()):
        if t in index and p in index:
            out[index[t], index[p]] += 1
    return out


def save_confusion_png(matrix: np.ndarray, names: Sequence[str], path: str | Path, title: str) -> Path:
    """A row-normalised confusion matrix as a PNG (matplotlib, Agg backend: no display needed)."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserError("matplotlib is not installed, so no confusion-matrix PNG can be drawn",
                        fix="pip install matplotlib, or pass --no-confusion") from None

    out = Path(path)
    k = len(names)
    rows = matrix.sum(axis=1, keepdims=True)
    norm = np.divide(matrix, np.maximum(rows, 1), dtype=np.float64)
    size = min(4.0 + 0.35 * k, 40.0)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    try:
        im = ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
        if k <= 80:
            ax.set_xticks(range(k), [str(n) for n in names], rotation=60, ha="right", fontsize=8)
            ax.set_yticks(range(k), [str(n) for n in names], fontsize=8)
        if k <= 20:
            for i in range(k):
                for j in range(k):
                    if matrix[i, j]:
                        ax.text(j, i, f"{norm[i, j]:.2f}", ha="center", va="center", fontsize=7,
                                color="white" if norm[i, j] > 0.5 else "black")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title)
        fig.tight_layout()
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
    finally:
        plt.close(fig)
    return out


# --------------------------------------------------------------------------------------- whole report


def _pct(x: float) -> float:
    return round(100.0 * x, 4)


def zsl_report(pred: np.ndarray, labels: np.ndarray, unseen: Sequence[int], names: Sequence[str],
               batch_size: int = RELEASED_TEST_BATCH) -> dict[str, Any]:
    """ZSL figures (percent) of unseen-class predictions."""
    per_class = per_class_accuracy(pred, labels, unseen)
    counts = {int(c): int((np.asarray(labels) == c).sum()) for c in unseen}
    return {
        "top1": _pct(sample_accuracy(pred, labels)),
        "top1_batch_mean": _pct(per_batch_mean_accuracy(pred, labels, batch_size)),
        "batch_size": batch_size,
        "per_class_mean": _pct(_mean_defined(list(per_class.values()))),
        "num_samples": len(labels),
        "num_classes": len(unseen),
        "chance": round(100.0 / max(len(unseen), 1), 4),
        "per_class": [{"id": c, "name": names[c] if c < len(names) else str(c), "samples": counts[c],
                       "top1": None if per_class[c] is None else _pct(per_class[c])} for c in unseen],
    }


def gzsl_report(result: GZSLResult, uncalibrated: GZSLResult, source: str,
                pred: np.ndarray, labels: np.ndarray, classes: Sequence[int],
                names: Sequence[str]) -> dict[str, Any]:
    """GZSL figures (percent) at the chosen calibration, and without calibration for reference."""
    per_class = per_class_accuracy(pred, labels, classes)

    def pct(r: GZSLResult) -> dict[str, Any]:
        return {"seen": _pct(r.seen), "unseen": _pct(r.unseen), "harmonic": _pct(r.harmonic),
                "seen_per_class_mean": _pct(r.seen_per_class_mean),
                "unseen_per_class_mean": _pct(r.unseen_per_class_mean),
                "harmonic_per_class_mean": _pct(r.harmonic_per_class_mean),
                "calibration": r.calibration}

    return {**pct(result), "calibration_source": source, "uncalibrated": pct(uncalibrated),
            "num_seen_samples": result.num_seen_samples, "num_unseen_samples": result.num_unseen_samples,
            "per_class": [{"id": c, "name": names[c] if c < len(names) else str(c),
                           "top1": None if per_class[c] is None else _pct(per_class[c])} for c in classes]}


def evaluate_head(head: DVTAHead, texts: ClassTexts, features: FeatureSet, seen: Sequence[int],
                  unseen: Sequence[int], calibration: float | None = None, calibration_source: str = "",
                  batch_size: int = RELEASED_TEST_BATCH,
                  confusion_png: str | Path | None = None) -> dict[str, Any]:
    """The full report of ``dvta evaluate`` (accuracies in percent)."""
    unseen = sorted(int(c) for c in unseen)
    seen = sorted(int(c) for c in seen)
    names = texts.names
    report: dict[str, Any] = {"zsl": None}  # None: no unseen class (a head trained on every class)
    if unseen:
        z_scores = class_scores(head, features.ztest, texts.embeddings, unseen)
        z_pred = predict(z_scores, unseen)
        report["zsl"] = zsl_report(z_pred, features.z_labels, unseen, names, batch_size)
    if confusion_png is not None and unseen:
        matrix = confusion_matrix(features.z_labels, z_pred, unseen)
        report["confusion_png"] = str(save_confusion_png(
            matrix, [names[c] for c in unseen], confusion_png,
            f"zero-shot confusion, {len(unseen)} unseen classes (top-1 {report['zsl']['top1']:.1f} %)"))
    if features.gtest is not None and features.g_labels is not None:
        classes = sorted(set(seen) | set(unseen))
        g_scores = class_scores(head, features.gtest, texts.embeddings, classes)
        gamma = 0.0 if calibration is None else float(calibration)
        result = gzsl_metrics(g_scores, features.g_labels, classes, seen, gamma)
        raw = gzsl_metrics(g_scores, features.g_labels, classes, seen, 0.0)
        seen_mask = np.isin(classes, seen)
        g_pred = predict(calibrated_stacking(g_scores, seen_mask, gamma), classes)
        source = calibration_source or ("none" if calibration is None else "")
        report["gzsl"] = gzsl_report(result, raw, source, g_pred, features.g_labels, classes, names)
    else:
        report["gzsl"] = None
    return report


def evaluate_head_file(head: str | Path, features: str | Path, texts: ClassTexts | None = None, *,
                       calibration: float | None = None, batch_size: int = RELEASED_TEST_BATCH,
                       confusion_png: str | Path | None = None, device: str | None = None) -> dict[str, Any]:
    """``dvta evaluate``: a saved head on a features folder -> the full report (accuracies in percent).

    ``texts`` default to the names and contexts the head was trained with, re-encoded with its text
    model; ``calibration`` to the factor chosen on validation at training. The head's classes are checked
    against the folder's labels before any scoring; the confusion PNG is checked as an output first."""

    head, features = Path(head), Path(features)
    model, info = load_head(head, pick_device(device))
    feats = load_features(features)
    if confusion_png is not None:
        from dvta_live.outputs import check_output

        check_output(confusion_png, inputs=[head, *(features / name for name in feats.files.values())],
                     suffixes=(".png",), option="--confusion")
    texts = texts if texts is not None else class_texts_from_dict(info.text.to_dict())
    if texts.dim != model.text_dim:
        raise UserError(f"the text model gives {texts.dim}-d embeddings, the head takes {model.text_dim}-d",
                        head, f"use the text model it was trained with ({info.text.model})")
    seen, unseen = info.classes.seen, info.classes.unseen
    if not unseen:
        raise UserError("this head was trained on every class: it has no unseen classes to evaluate", head,
                        "train a head with some classes held out (unseen) to measure zero-shot accuracy")
    bad = sorted(set(np.unique(feats.z_labels).tolist()) - set(unseen))
    if bad:
        raise UserError(f"class(es) {bad[:10]} are not unseen classes of this head",
                        features / feats.files["ztest_labels"], "evaluate on the features of the split it was trained for")
    if feats.g_labels is not None:
        bad = sorted(set(np.unique(feats.g_labels).tolist()) - set(seen) - set(unseen))
        if bad:
            raise UserError(f"class(es) {bad[:10]} are neither seen nor unseen classes of this head",
                            features / feats.files["gtest_labels"],
                            "evaluate on the features of the split it was trained for")
    need = max(max(seen), max(unseen)) + 1
    if texts.num_classes < need:
        raise UserError(f"the class texts list {texts.num_classes} classes, the head's split needs {need}",
                        fix="give texts for every class id, in id order")
    gamma, source = ((calibration, "--calibration") if calibration is not None
                     else (info.calibration, info.calibration_source))
    report = evaluate_head(model, texts, feats, seen, unseen, gamma, source, batch_size, confusion_png)
    return {"head": str(head), "features": str(features), "split": info.classes.split, "text_source": texts.source,
            **report}


__all__ = [
    "RELEASED_TEST_BATCH", "GZSLResult", "calibrated_stacking", "choose_calibration", "class_scores",
    "confusion_matrix", "evaluate_head", "evaluate_head_file", "gzsl_metrics", "gzsl_report", "harmonic_mean",
    "per_batch_mean_accuracy", "per_class_accuracy", "predict", "sample_accuracy", "save_confusion_png",
    "zsl_report",
]
