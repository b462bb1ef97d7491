"""Supervised backbone training on the seen classes only.

The model input is always `recipe.apply(sequence)`, the same function the live loop and evaluation call,
so training sees exactly what inference sees. Augmentation happens after the recipe, on the model input,
because the recipes normalise the view and would undo a rotation applied before them:

- a random rotation about the vertical axis (up to 30 degrees): the datasets here are filmed from a few
  fixed views (NW-UCLA has three); a live camera can stand anywhere in front of the person;
- AimCLR's shear (each off-diagonal coefficient uniform in +-0.3): body proportions and slant;
- a scale in [0.9, 1.1]: people differ in size;
- a random temporal crop of 80-100 % of the recorded frames before the recipe resizes: actions start and
  end at different points of a live window.

Runs on CPU or GPU; launched with `torchrun --nproc_per_node N` it trains with DistributedDataParallel
(rank 0 alone writes checkpoints and prints).
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from dvta_live.backbone.checkpoint import DEFAULT_RECIPES, build_backbone, save_backbone
from dvta_live.backbone.config import RUN_FILES, BackboneTrainConfig, ClassChoice
from dvta_live.backbone.extract import read_data, split_unseen
from dvta_live.errors import UserError
from dvta_live.outputs import check_output, write_text_atomic
from dvta_live.skeleton.recipe import Recipe, get_recipe
from dvta_live.skeleton.sequence import SkeletonSequence
from dvta_live.skeleton.splits import parse_ids, seen_classes
from dvta_live.training import lr_at, pick_device


@dataclass
class BackboneTrainResult:
    best_val_accuracy: float
    best_epoch: int
    history: list[dict] = field(default_factory=list)
    rank: int = 0  # under torchrun only rank 0 holds the history and writes or prints anything


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def temporal_crop(data: np.ndarray, rng: np.random.Generator, min_fraction: float = 0.8) -> np.ndarray:
    """Keep a random contiguous 80-100 % of the recorded (non-zero) frames."""
    valid = np.flatnonzero(np.abs(data).sum(axis=(0, 2, 3)) > 0)
    if valid.size < 4:
        return data
    data = data[:, valid[0]: valid[-1] + 1]
    length = data.shape[1]
    keep = max(2, round(length * rng.uniform(min_fraction, 1.0)))
    start = int(rng.integers(0, length - keep + 1))
    return data[:, start: start + keep]


def random_rigid(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotation about y, shear and scale applied to a recipe output [3, T, V, M]; zeros stay zero."""
    angle = math.radians(rng.uniform(-30.0, 30.0))
    c, s = math.cos(angle), math.sin(angle)
    rotation = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    shear = np.eye(3) + rng.uniform(-0.3, 0.3, size=(3, 3)) * (1 - np.eye(3))
    matrix = rng.uniform(0.9, 1.1) * rotation @ shear
    return np.einsum("ij,jtvm->itvm", matrix, x).astype(np.float32)


class RecipeDataset(Dataset):
    """Sequences -> (recipe output, remapped label). The recipe runs per item (it costs well under 1 ms)."""

    def __init__(self, sequences: Sequence[SkeletonSequence], labels: Sequence[int], recipe: Recipe,
                 augment: bool, seed: int = 0) -> None:
        self.sequences = sequences
        self.labels = list(labels)
        self.recipe = recipe
        self.augment = augment
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        data = self.sequences[i].data
        if self.augment:
            # Seeded by (seed, epoch, item): reproducible with any number of workers or ranks.
            rng = np.random.default_rng((self.seed, self.epoch, i))
            x = random_rigid(self.recipe.apply(temporal_crop(data, rng)), rng)
        else:
            x = self.recipe.apply(data)
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), self.labels[i]


def _lr_at(epoch_progress: float, config: BackboneTrainConfig) -> float:
    """The shared warm-up + cosine schedule per step; the warm-up starts a hair above 0 so the first
    step is not wasted."""
    nudge = 1e-3 if epoch_progress < config.warmup_epochs else 0.0
    return lr_at(epoch_progress + nudge, config.epochs, config.lr, config.warmup_epochs)


def _comparable(config: dict) -> dict:
    """Settings that must match to resume; epochs may grow, and the device and workers may change."""
    return {k: v for k, v in config.items() if k not in ("epochs", "device", "num_workers")}


def _distributed() -> tuple[int, int]:
    """(rank, world size), initialising the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (torch.distributed.get_rank() if world > 1 else 0), world


@torch.no_grad()
def evaluate_accuracy(model: nn.Module, loader: DataLoader, device: torch.device) -> float:
    model.eval()
    correct = total = 0
    for x, y in loader:
        _, logits = model(x.to(device))
        correct += int((logits.argmax(1).cpu() == y).sum())
        total += len(y)
    return correct / max(1, total)


def train_classifier(
    model: nn.Module,
    train_set: RecipeDataset,
    val_set: RecipeDataset | None,
    config: BackboneTrainConfig,
    checkpoint_dir: Path,
    save_best: Callable[[nn.Module, dict], None],
    resume: bool = False,
    on_epoch: Callable[[dict], None] | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> BackboneTrainResult:
    """Train ``model`` (forward -> (features, logits)) with SGD + warm-up/cosine; resumable.

    ``checkpoint_dir/last.pt`` holds everything needed to resume (weights, optimiser, epoch, history,
    RNG state); ``save_best(model, info)`` writes the shareable best model whenever validation improves.
    """
    rank, world = _distributed()
    device = pick_device(config.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    seed_everything(config.seed)
    model = model.to(device)
    net: nn.Module = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    sampler = torch.utils.data.DistributedSampler(train_set, seed=config.seed) if world > 1 else None
    generator = torch.Generator().manual_seed(config.seed)
    loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=sampler is None, sampler=sampler,
                        num_workers=config.num_workers, drop_last=len(train_set) > config.batch_size,
                        generator=generator)
    val_loader = (DataLoader(val_set, batch_size=64, num_workers=config.num_workers)
                  if val_set is not None and len(val_set) else None)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9, nesterov=True,
                                weight_decay=config.weight_decay)
    result = BackboneTrainResult(best_val_accuracy=-1.0, best_epoch=-1)
    start_epoch = 0
    last_path = checkpoint_dir / "last.pt"
    if resume and last_path.exists():
        try:
            state = torch.load(last_path, map_location=device, weights_only=False)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
        except Exception as exc:  # noqa: BLE001 -- any unreadable checkpoint gets the same one-line answer
            raise UserError(f"cannot resume from this checkpoint: {exc}".splitlines()[0], last_path,
                            "delete it or train without --resume") from None
        if _comparable(state.get("config", {})) != _comparable(asdict(config)):
            raise UserError("the checkpoint was trained with other settings", last_path,
                            "resume with the same options, or start a new --out folder")
        start_epoch = state["epoch"] + 1
        result = BackboneTrainResult(state["best_val_accuracy"], state["best_epoch"], state["history"])
        torch.set_rng_state(state["torch_rng"])
    steps_per_epoch = max(1, len(loader))
    for epoch in range(start_epoch, config.epochs):
        train_set.epoch = epoch
        if sampler is not None:
            sampler.set_epoch(epoch)
        net.train()
        loss_sum = correct = seen = 0.0
        for step, (x, y) in enumerate(loader):
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(epoch + step / steps_per_epoch, config)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            _, logits = net(x)
            loss = F.cross_entropy(logits, y, label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += float(loss.detach()) * len(y)
            correct += float((logits.argmax(1) == y).sum())
            seen += len(y)
            if on_step is not None and rank == 0:
                on_step(step + 1, steps_per_epoch)
        row = {"epoch": epoch, "loss": loss_sum / max(1, seen), "train_accuracy": correct / max(1, seen),
               "lr": optimizer.param_groups[0]["lr"]}
        if rank == 0:
            if val_loader is not None:
                row["val_accuracy"] = evaluate_accuracy(model, val_loader, device)
            result.history.append(row)
            # Without a validation split, the last epoch is the one kept.
            score = row.get("val_accuracy", epoch / max(1, config.epochs))
            if score > result.best_val_accuracy:
                result.best_val_accuracy, result.best_epoch = score, epoch
                save_best(model, row)
            checkpoint_dir.mkdir(parents=True, exist_ok=True)
            tmp = last_path.with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                        "config": asdict(config), "history": result.history,
                        "best_val_accuracy": result.best_val_accuracy, "best_epoch": result.best_epoch,
                        "torch_rng": torch.get_rng_state()}, tmp)
            os.replace(tmp, last_path)  # a crash mid-write never leaves a broken last.pt
            if on_epoch is not None:
                on_epoch(row)
    if world > 1:
        torch.distributed.barrier()
    result.rank = rank
    return result


@dataclass(frozen=True)
class BackboneRun:
    """What ``train_backbone`` left in its run folder (``path``: the best backbone)."""

    path: Path
    best_val_accuracy: float
    best_epoch: int
    validated: bool  # False: no validation subjects, the last epoch was kept
    rank: int  # under torchrun only rank 0 writes and reports


def _rank() -> int:
    """This process's rank under torchrun (0 when launched alone)."""
    return int(os.environ.get("RANK", "0"))


def train_backbone(data: Sequence[Path], out: Path, classes: ClassChoice | None = None, *, arch: str = "stgcn",
                   recipe: str | None = None, window: int | None = None, config: BackboneTrainConfig | None = None,
                   resume: bool = False, on_start: Callable[[str], None] | None = None,
                   on_epoch: Callable[[dict], None] | None = None,
                   on_step: Callable[[int, int], None] | None = None) -> BackboneRun:
    """Train a backbone classifier on the seen classes of ``data`` (unseen sequences are dropped before
    anything sees them) into the run folder ``out``: the best epoch on the validation subjects as
    backbone.safetensors, last.pt to resume, history.json. ``on_start`` gets one line describing the run."""

    classes, config = classes or ClassChoice(), config or BackboneTrainConfig()
    if arch not in DEFAULT_RECIPES:
        raise UserError(f"unknown --arch {arch!r}", fix=f"choose one of {', '.join(DEFAULT_RECIPES)}")
    check_output(out, inputs=data, folder=True, files=RUN_FILES)  # before reading data and training
    dataset = read_data(data)
    unseen = classes.unseen
    if classes.split is not None:
        if classes.seen or classes.unseen:
            raise UserError("give --split, or --seen/--unseen, not both")
        unseen = ",".join(str(i) for i in split_unseen(classes.split, dataset.num_classes))
    present = {s.label for s in dataset}
    # A class with no sequence here gets no logit: it could never be learned.
    seen_ids = [c for c in seen_classes(dataset.class_names, classes.seen, unseen) if c in present]
    if not seen_ids:
        raise UserError("none of the seen classes has a sequence in the data",
                        fix="check --seen/--unseen against `dvta data inspect`")
    remap = {c: i for i, c in enumerate(seen_ids)}
    # Unseen sequences are dropped right here, before anything (normalisation statistics included) sees them.
    sequences = [s for s in dataset if s.label in remap and np.abs(s.data).sum() > 0]
    held_out = parse_ids(classes.val_subjects)
    missing_subjects = held_out - {s.subject for s in sequences}
    if missing_subjects:
        raise UserError(f"--val-subjects {sorted(missing_subjects)} are not in the data",
                        fix="see the subjects listed by `dvta data inspect`")
    train = [s for s in sequences if s.subject not in held_out]
    val = [s for s in sequences if s.subject in held_out]
    if not train:
        raise UserError("no training sequences left after choosing classes and subjects")
    recipe_obj = get_recipe(recipe or DEFAULT_RECIPES[arch], **({"window": window} if window else {}))
    seed_everything(config.seed)  # the initial weights too: a run is reproduced by its seed
    model = build_backbone(arch, {"num_class": len(seen_ids)})
    names = [dataset.class_names[c] for c in seen_ids]
    train_set = RecipeDataset(train, [remap[s.label] for s in train], recipe_obj, config.augment, config.seed)
    val_set = RecipeDataset(val, [remap[s.label] for s in val], recipe_obj, augment=False)
    if _rank() == 0 and on_start is not None:
        on_start(f"{dataset.name}: {len(seen_ids)} seen classes, {len(train)} training and {len(val)} "
                 f"validation sequences; {arch}, recipe {recipe_obj.name} (window {recipe_obj.window})")
    best_path = out / RUN_FILES[0]
    extra = {"dataset": dataset.name, "seen_class_ids": seen_ids, "val_subjects": sorted(held_out),
             "train_config": asdict(config)}

    def save_best(trained: nn.Module, row: dict) -> None:
        save_backbone(best_path, trained, recipe_obj, names, source=f"dvta train-backbone on {dataset.name}",
                      extra=extra | {"epoch": row["epoch"], "val_accuracy": row.get("val_accuracy")})

    result = train_classifier(model, train_set, val_set, config, out, save_best, resume=resume,
                              on_epoch=on_epoch, on_step=on_step)
    if result.rank == 0:  # rank 0 writes the record; another rank's history is empty and would replace it
        write_text_atomic(out / RUN_FILES[2], json.dumps(result.history, indent=1))
    return BackboneRun(best_path, result.best_val_accuracy, result.best_epoch, bool(val), result.rank)
