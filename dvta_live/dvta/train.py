"""Train a DVTA head on a features folder, choosing the checkpoint on held-out SEEN classes.

The training schedule is the released one (jidongkuang/DVTA ``train.py``, ``config.py``, ``utils.py``; SMIE's
``procedure.py`` is the same loop): Adam (weight decay 0), 100 epochs, batch 128 (shuffled, last batch
kept), the learning rate set per epoch by a linear warm-up over 15 epochs from 0 then a cosine to 0
(``adjust_learning_rate``: epoch 0 trains at lr 0), the multi-positive KL loss on the summed DA + AA
logits, temperatures initialised at 0.1, LeakySigmoid gamma 0.01. Released learning rates, by dataset:
NTU-60 1e-6, NTU-120 5e-6, PKU-MMD 1e-5 (DVTA ``config.py``). DVTA released none for NW-UCLA, UTD-MHAD
or other data; there the default is 1e-4, PURLS's released rate (azzh1/PURLS ``configs/*.yaml``), the
paper whose small-dataset splits these are.

What differs from the released code is model selection. The released loop evaluates on the unseen test
classes after every epoch and keeps the best epoch, i.e. it selects on the test set. Here (the standard
zero-shot protocol; SynSE's ``phase='val'``):

1. **validation run**: some seen classes are held out as pseudo-unseen (SynSE's published ``rv`` classes
   when the split has them, else drawn with the seed), and a fraction of the samples of the remaining
   seen classes is held out too. A head trained on the rest is scored after every epoch on the pseudo-
   unseen classes; the epoch E with the best class-balanced top-1 is kept, among the epochs after the
   learning-rate warm-up (a head still warming up is not a candidate: the first epoch trains at lr 0, so
   it is the untrained initialisation, and with two pseudo-unseen classes a head that calls everything one
   class scores about 50 %, more than a trained one sometimes does; on NW-UCLA 5/5 seed 2 that picked the
   untrained head: 21.6 % zero-shot where every trained epoch scores 50-54 %). At E, the calibrated-
   stacking factor gamma that maximises the validation harmonic mean (pseudo-unseen + held-out seen
   samples, all seen classes as candidates) is chosen.
2. **final run** (default): a head with the same initialisation is trained on all seen training samples
   with the same schedule; its state after epoch E is the result. It is also scored on the test set
   after every epoch only to report, labelled as such, the test-selected figure the released code prints
   (best per-batch mean over epochs): never used to choose anything.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from dvta_live.dvta.evaluate import (
    RELEASED_TEST_BATCH,
    balanced_accuracy,
    choose_calibration,
    class_scores,
    evaluate_head,
    per_batch_mean_accuracy,
    predict,
    sample_accuracy,
)
from dvta_live.dvta.features import ClassTexts, FeatureSet
from dvta_live.dvta.head import RELEASED_METRIC_HIDDEN, DVTAHead, parameter_count
from dvta_live.dvta.headfile import HeadClasses, HeadInfo, HeadShape, TextInfo
from dvta_live.dvta.loss import multi_positive_kl_loss
from dvta_live.dvta.splits import Split
from dvta_live.errors import UserError
from dvta_live.training import lr_at, pick_device

_RULE = "max class-balanced top-1 on the pseudo-unseen classes, "
SELECTION_RULE = _RULE + "epochs after the warm-up"
SELECTION_RULE_ANY_EPOCH = _RULE + "any epoch"

# jidongkuang/DVTA config.py: learning_rate by dataset_name
RELEASED_LR: dict[str, float] = {"ntu60": 1e-6, "ntu120": 5e-6, "pku51": 1e-5}
FALLBACK_LR = 1e-4  # azzh1/PURLS configs/{5r,12r,10r,24r}.yaml lr (no released DVTA value)
RELEASED_WARMUP_FRACTION = 0.15  # warmup_epoch=15 of max_epoch=100 (DVTA utils.adjust_learning_rate)


def released_lr(dataset: str | None) -> tuple[float, str]:
    """(learning rate, where it comes from) for a dataset name ("ntu60", "ntu120", "pku51", ...)."""
    if dataset is not None and dataset.lower() in RELEASED_LR:
        d = dataset.lower()
        return RELEASED_LR[d], f"released DVTA config.py ({d})"
    return FALLBACK_LR, ("no released DVTA value for " + (dataset or "this data")
                         + "; PURLS configs lr 1e-4")


@dataclass
class HeadTrainConfig:
    """Head training settings; the defaults are the released ones (``lr=None``: by dataset, see ``released_lr``)."""

    epochs: int = 100
    batch_size: int = 128
    lr: float | None = None
    weight_decay: float = 0.0
    warmup_epochs: int | None = None  # None: 15 % of the epochs (= 15 of 100, as released)
    lr_min: float = 0.0
    temperature: float = 0.1
    leaky_gamma: float = 0.01
    metric_hidden: int | None = RELEASED_METRIC_HIDDEN
    seed: int = 0
    val_classes: tuple[int, ...] | None = None  # explicit pseudo-unseen classes
    val_count: int | None = None  # how many to draw (default: as many as unseen, at most half the seen)
    val_seen_fraction: float = 0.2  # held-out samples of the other seen classes (for gamma)
    select_after_warmup: bool = True  # checkpoint candidates: epochs after the warm-up only
    retrain: bool = True  # final run on all seen classes, stopped at the validation-chosen epoch
    eval_batch_size: int = RELEASED_TEST_BATCH
    device: str | None = None

    def warmup(self) -> int:
        w = self.warmup_epochs
        if w is None:
            w = round(RELEASED_WARMUP_FRACTION * self.epochs)
        return int(max(0, min(w, self.epochs - 1)))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["val_classes"] = None if self.val_classes is None else list(self.val_classes)
        d["warmup_epochs"] = self.warmup()
        return d


@dataclass
class EpochLog:
    """One epoch of one run, for progress displays and the metadata's history."""

    run: str  # "validation" or "final"
    epoch: int  # 1-based
    epochs: int
    lr: float
    loss: float
    val_top1: float | None = None  # pseudo-unseen classes, sample-weighted (validation run)
    val_balanced: float | None = None  # pseudo-unseen classes, mean of per-class top-1 (selects the epoch)
    test_top1: float | None = None  # unseen test classes, sample-weighted (reported only)
    test_top1_batch_mean: float | None = None  # the released per-batch mean (reported only)
    seconds: float = 0.0


@dataclass
class HeadTrainResult:
    head: DVTAHead
    info: HeadInfo  # what save_head writes beside the weights
    history: list[EpochLog] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- core


def new_head(text_dim: int, config: HeadTrainConfig) -> DVTAHead:
    torch.manual_seed(config.seed)
    return DVTAHead(text_dim=text_dim, temperature=config.temperature, gamma=config.leaky_gamma,
                    metric_hidden=config.metric_hidden)


def train_run(head: DVTAHead, x: np.ndarray, y: np.ndarray, text: np.ndarray, config: HeadTrainConfig, lr: float,
              *, run: str = "final", evaluate: Callable[[DVTAHead], dict[str, float]] | None = None,
              select: str | None = None, select_from: int = 1, snapshot_epoch: int | None = None,
              on_epoch: Callable[[EpochLog], None] | None = None,
              ) -> tuple[list[EpochLog], dict[str, Any]]:
    """Train ``head`` in place for ``config.epochs`` epochs with the released schedule.

    ``evaluate(head)`` runs after every epoch and returns figures for the log (keys of EpochLog); with
    ``select`` the state at the first epoch from ``select_from`` (1-based) on with the highest ``select``
    figure is kept, with ``snapshot_epoch`` (1-based) the state after that epoch. Returns (history,
    {"best_epoch", "best_state", "best_value", "snapshot_state"}).
    """
    device = next(head.parameters()).device
    xs = torch.as_tensor(x, dtype=torch.float32, device=device)
    ys = torch.as_tensor(y, dtype=torch.long, device=device)
    table = torch.from_numpy(np.array(text, dtype=np.float32)).to(device)  # a copy: TextTensor's is read-only
    optimizer = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    warmup = config.warmup()
    history: list[EpochLog] = []
    out: dict[str, Any] = {"best_epoch": None, "best_state": None, "best_value": -math.inf,
                           "snapshot_state": None}
    n = len(ys)
    for epoch in range(config.epochs):
        t0 = time.perf_counter()
        current = lr_at(epoch, config.epochs, lr, warmup, config.lr_min)
        for group in optimizer.param_groups:
            group["lr"] = current
        head.train()
        order = torch.randperm(n, generator=generator).to(device)
        total, batches = 0.0, 0
        for start in range(0, n, config.batch_size):
            idx = order[start:start + config.batch_size]
            labels = ys[idx]
            logits = head.training_logits(xs[idx], table, labels)
            loss = multi_positive_kl_loss(logits.total, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
            batches += 1
        head.eval()
        log = EpochLog(run, epoch + 1, config.epochs, current, total / max(batches, 1))
        if evaluate is not None:
            for key, value in evaluate(head).items():
                setattr(log, key, value)
        log.seconds = time.perf_counter() - t0
        history.append(log)
        if select is not None:
            value = getattr(log, select)
            if value is not None and epoch + 1 >= select_from and value > out["best_value"]:
                out.update(best_epoch=epoch + 1, best_value=value,
                           best_state=copy.deepcopy(head.state_dict()))
        if snapshot_epoch is not None and epoch + 1 == snapshot_epoch:
            out["snapshot_state"] = copy.deepcopy(head.state_dict())
        if on_epoch is not None:
            on_epoch(log)
    return history, out


def _zsl_eval(x: np.ndarray, y: np.ndarray, classes: Sequence[int], text: np.ndarray, prefix: str,
              batch: int) -> Callable[[DVTAHead], dict[str, float]]:
    def run(head: DVTAHead) -> dict[str, float]:
        pred = predict(class_scores(head, x, text, classes), classes)
        out = {f"{prefix}_top1": sample_accuracy(pred, y)}
        if prefix == "val":  # balanced: a head that calls everything one class scores chance, not more
            out["val_balanced"] = balanced_accuracy(pred, y, classes)
        if prefix == "test":
            out["test_top1_batch_mean"] = per_batch_mean_accuracy(pred, y, batch)
        return out
    return run


def _both(*fns: Callable[[DVTAHead], dict[str, float]]) -> Callable[[DVTAHead], dict[str, float]]:
    def run(head: DVTAHead) -> dict[str, float]:
        out: dict[str, float] = {}
        for fn in fns:
            out.update(fn(head))
        return out
    return run


# ------------------------------------------------------------------------------------- class choices


def resolve_classes(features: FeatureSet, texts: ClassTexts, split: Split | None,
                    text_source: str = "the text") -> tuple[list[int], list[int], int]:
    """(seen, unseen, num_classes) from the split, or from the features folder; checks both agree."""
    folder = features.folder
    files = features.files
    if split is not None:
        seen, unseen, num = list(split.seen), list(split.unseen), split.num_classes
        bad = sorted(set(features.seen_classes) - set(seen))
        if bad:
            raise UserError(f"class(es) {bad[:10]} have training samples but are not seen in split "
                            f"{split.name}", folder / files.get("train_labels", "train_label.npy"),
                            "use the features extracted for this split, or pick the matching --split")
        bad = sorted(set(features.unseen_classes) - set(unseen))
        if bad:
            raise UserError(f"class(es) {bad[:10]} of the zero-shot test set are not unseen in split "
                            f"{split.name}", folder / files.get("ztest_labels", "z_label.npy"),
                            "use the features extracted for this split, or pick the matching --split")
    else:
        seen, unseen = list(features.seen_classes), list(features.unseen_classes)
        num = features.max_class + 1
    need = max([*seen, *unseen, features.max_class]) + 1
    if texts.num_classes < need:
        label_file = folder / files.get("train_labels", "train_label.npy")
        raise UserError(f"class id {need - 1} has no text: {text_source} lists only {texts.num_classes} "
                        f"classes", label_file,
                        "give labels / class names for every class id of the dataset, in id order")
    return seen, unseen, max(num, need)


def _val_classes(seen: Sequence[int], unseen: Sequence[int], split: Split | None, config: HeadTrainConfig,
                 counts: dict[int, int]) -> tuple[list[int], str]:
    if config.val_classes is not None:
        val = sorted({int(c) for c in config.val_classes})
        bad = sorted(set(val) - set(seen))
        if bad:
            raise UserError(f"validation classes {bad} are not seen classes",
                            fix="hold out seen classes only (the unseen ones are the test)")
        return val, "given"
    if (split is not None and split.val_unseen and config.val_count is None
            and all(counts.get(c, 0) for c in split.val_unseen)):
        return list(split.val_unseen), f"published with split {split.name}"
    n = config.val_count if config.val_count is not None else min(len(unseen), len(seen) // 2)
    n = max(1, min(n, len(seen) - 1))
    rng = np.random.default_rng(config.seed)
    drawn = sorted(int(c) for c in rng.choice(np.asarray(seen), size=n, replace=False))
    return drawn, f"drawn with seed {config.seed}"


def select_from_of(config: HeadTrainConfig) -> int:
    """First epoch (1-based) that may be chosen: the one where the warm-up reaches the peak rate."""
    return config.warmup() + 1 if config.select_after_warmup else 1


def _holdout(y: np.ndarray, classes: Sequence[int], fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of held-out samples: ``fraction`` of each class (at least one when it has two or more)."""
    rng = np.random.default_rng(seed + 1)
    mask = np.zeros(len(y), dtype=bool)
    if fraction <= 0:
        return mask
    for c in classes:
        idx = np.flatnonzero(y == c)
        if len(idx) < 2:
            continue
        k = min(len(idx) - 1, max(1, round(fraction * len(idx))))
        mask[rng.choice(idx, size=k, replace=False)] = True
    return mask


# -------------------------------------------------------------------------------------------- train


def train_head(features: FeatureSet, texts: ClassTexts, split: Split | None = None,
               config: HeadTrainConfig | None = None, *, dataset: str | None = None,
               on_epoch: Callable[[EpochLog], None] | None = None,
               on_stage: Callable[[str], None] | None = None) -> HeadTrainResult:
    """Validation run, calibration, final run; returns the head and its metadata (see the module doc)."""
    config = config or HeadTrainConfig()
    if config.epochs < 1 or config.batch_size < 1:
        raise UserError("epochs and batch size must be at least 1")
    if not 0.0 <= config.val_seen_fraction < 1.0:
        raise UserError("the held-out fraction of seen samples must be in [0, 1)")
    device = pick_device(config.device)
    dataset = dataset or (split.dataset if split is not None else None) or features.metadata.get("dataset")
    if config.lr is not None:
        lr, lr_source = float(config.lr), "given"
    else:
        lr, lr_source = released_lr(dataset)
    seen, unseen, num_classes = resolve_classes(features, texts, split)
    text = np.asarray(texts.embeddings, dtype=np.float32)
    x, y = features.train, features.train_labels
    counts = {int(c): int((y == c).sum()) for c in seen}
    if len(seen) < 2:
        raise UserError("validation needs at least two seen classes with training samples",
                        features.folder / features.files.get("train_labels", "train_label.npy"))
    val, val_source = _val_classes(seen, unseen, split, config, counts)
    if not all(counts.get(c, 0) for c in val):
        missing = [c for c in val if not counts.get(c, 0)]
        raise UserError(f"validation classes {missing} have no training samples",
                        features.folder / features.files.get("train_labels", "train_label.npy"),
                        "choose validation classes among those with training samples")
    rest = [c for c in seen if c not in set(val)]
    is_val = np.isin(y, val)
    held = _holdout(y, rest, config.val_seen_fraction, config.seed) & ~is_val
    fit = ~is_val & ~held
    if not fit.any():
        raise UserError("no training samples left after holding out the validation classes",
                        features.folder / features.files.get("train_labels", "train_label.npy"),
                        "hold out fewer classes (--val-count) or a smaller fraction (--val-fraction)")

    # 1. validation run: best epoch on the pseudo-unseen classes
    if on_stage:
        on_stage(f"validation run: {len(rest)} seen classes, {len(val)} held out as pseudo-unseen")
    head = new_head(texts.dim, config).to(device)
    val_eval = _zsl_eval(x[is_val], y[is_val], val, text, "val", config.eval_batch_size)
    evaluators = [val_eval]
    if not config.retrain and unseen:
        evaluators.append(_zsl_eval(features.ztest, features.z_labels, unseen, text, "test",
                                    config.eval_batch_size))
    select_from = select_from_of(config)
    history, out = train_run(head, x[fit], y[fit], text, config, lr, run="validation",
                             evaluate=_both(*evaluators), select="val_balanced", select_from=select_from,
                             on_epoch=on_epoch)
    best_epoch = int(out["best_epoch"])
    head.load_state_dict(out["best_state"])
    # calibration factor on the validation split: pseudo-unseen + held-out seen samples, all seen candidates
    val_gzsl = None
    gamma, gamma_source = 0.0, "not calibrated (no held-out seen samples)"
    if held.any():
        vmask = is_val | held
        scores = class_scores(head, x[vmask], text, seen)
        val_gzsl = choose_calibration(scores, y[vmask], seen, rest)
        gamma, gamma_source = val_gzsl.calibration, "validation, max harmonic mean"

    # 2. final run on all seen classes, stopped (snapshot) at the chosen epoch
    if config.retrain:
        if on_stage:
            on_stage(f"final run: all {len(seen)} seen classes, keeping epoch {best_epoch}")
        final = new_head(texts.dim, config).to(device)
        test_eval = (_zsl_eval(features.ztest, features.z_labels, unseen, text, "test", config.eval_batch_size)
                     if unseen else None)  # no unseen class: nothing to report on
        more, fin = train_run(final, x, y, text, config, lr, run="final", evaluate=test_eval,
                              snapshot_epoch=best_epoch, on_epoch=on_epoch)
        history += more
        final.load_state_dict(fin["snapshot_state"])
        head = final
    head.eval()

    # reported figures
    final_runs = [h for h in history if h.run == ("final" if config.retrain else "validation")]
    test_selected = max(final_runs, key=lambda h: (h.test_top1_batch_mean or 0.0, -h.epoch))
    report = evaluate_head(head, texts, features, seen, unseen, gamma, gamma_source, config.eval_batch_size)
    val_best = next(h for h in history if h.run == "validation" and h.epoch == best_epoch)
    info = _head_info(
        head, texts, features, split, dataset, config, lr, lr_source, seen, unseen, num_classes, val,
        val_source, int(held.sum()), best_epoch, val_best, val_gzsl, gamma, gamma_source, report,
        test_selected, history)
    return HeadTrainResult(head, info, history)


def _head_info(head: DVTAHead, texts: ClassTexts, features: FeatureSet, split: Split | None,
              dataset: str | None, config: HeadTrainConfig, lr: float, lr_source: str, seen: list[int],
              unseen: list[int], num_classes: int, val: list[int], val_source: str, held: int,
              best_epoch: int, val_best: EpochLog, val_gzsl: Any, gamma: float, gamma_source: str,
              report: dict[str, Any], test_selected: EpochLog, history: list[EpochLog]) -> HeadInfo:
    def pct(v: float | None) -> float | None:
        return None if v is None else round(100.0 * v, 4)

    return HeadInfo(
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        head=HeadShape(text_dim=head.text_dim, skeleton_dim=head.skeleton_dim, metric_hidden=head.metric_hidden,
                       temperature_init=config.temperature, leaky_gamma=config.leaky_gamma,
                       temperatures=tuple(float(v) for v in head.scaling_factors.detach().cpu()),
                       parameters=parameter_count(head)),
        text=TextInfo.from_dict(texts.to_dict()),
        classes=HeadClasses(num_classes=int(num_classes), seen=tuple(int(c) for c in seen),
                            unseen=tuple(int(c) for c in unseen), split=None if split is None else split.name,
                            dataset=dataset, validation_unseen=tuple(int(c) for c in val),
                            validation_source=val_source),
        # "training", not "recipe": a recipe is the skeleton preprocessing (skeleton/recipe.py)
        training={**config.to_dict(), "lr": lr, "lr_source": lr_source, "optimizer": "Adam",
                  "schedule": "linear warm-up from 0, then cosine to lr_min, set per epoch (released)",
                  "loss": "multi-positive KL on DA + AA logits (released)"},
        features={**features.summary(), "metadata": features.metadata},
        selection={
            "protocol": ("checkpoint chosen on held-out seen classes (pseudo-unseen), never on the test set"
                         + ("; final head retrained on all seen classes and taken at that epoch"
                            if config.retrain else "; head from the validation run")),
            "rule": SELECTION_RULE if config.select_after_warmup else SELECTION_RULE_ANY_EPOCH,
            "candidate_epochs": [select_from_of(config), config.epochs],  # 1-based, inclusive
            "best_epoch": best_epoch,
            "validation_top1": pct(val_best.val_top1),
            "validation_balanced_top1": pct(val_best.val_balanced),
            "validation_classes": len(val), "validation_held_out_seen_samples": held,
            "calibration": gamma, "calibration_source": gamma_source,
            "validation_gzsl": None if val_gzsl is None else {
                k: (pct(v) if k in ("seen", "unseen", "harmonic") else v)
                for k, v in val_gzsl.to_dict().items() if k in ("seen", "unseen", "harmonic", "calibration")},
        },
        metrics={
            **report,
            "test_selected_as_released": {
                "note": ("best per-batch-mean zero-shot top-1 over all epochs on the TEST set, as the "
                         "released train.py reports it; the checkpoint is chosen on the test set, so this "
                         "figure is optimistic and is not the head saved here"),
                "top1_batch_mean": pct(test_selected.test_top1_batch_mean),
                "top1": pct(test_selected.test_top1), "epoch": test_selected.epoch},
        },
        history=tuple({k: v for k, v in asdict(h).items() if v is not None} for h in history),
    )


# ----------------------------------------------------------------------------------------- legacy load


__all__ = [
    "FALLBACK_LR", "RELEASED_LR", "EpochLog", "HeadTrainConfig", "HeadTrainResult", "lr_at",
    "new_head", "released_lr", "resolve_classes", "train_head", "train_run",
]
