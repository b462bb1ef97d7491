"""Train a lifted backbone (``LiftedShiftGCN``) from a 3-D Shift-GCN teacher and 3-D skeletons.

Each step takes a random crop of a 3-D skeleton clip and makes one training pair from it:

- target: the crop through the teacher's recipe (``shiftgcn64``), i.e. exactly the 3-D input the teacher
  and every head trained on its features expect;
- input: the same crop seen by a random virtual camera (yaw anywhere around the person, pitch from slightly
  below to well above, a little roll, 2-6 m away, perspective projection), with errors like MediaPipe's
  (joint jitter, hands placed loosely, a forearm pulled toward the body as when it is in front of the
  torso, body proportions), through lift64's image-plane branch (``image64``), which is what the live path
  feeds from MediaPipe's image landmarks.

Only the lifter learns (a masked L1 on the 3-D joints); the Shift-GCN weights are the teacher's, frozen,
so the backbone's features keep their meaning. Labels are not used: any motion helps, including long
unlabelled mocap takes, which are cropped to live-window lengths (2-4 s).

Validation, on clips held out of training and seen from fixed random views: mean joint error, and how
often the teacher's top-1 class on the lifted window equals its top-1 on the true 3-D window (the same
figure for the window with its depth simply dropped is the floor).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from dvta_live.backbone.checkpoint import load_backbone, save_backbone
from dvta_live.backbone.config import LiftConfig
from dvta_live.backbone.lifted import LiftedShiftGCN, bodies_xy, bodies_xyz
from dvta_live.backbone.shiftgcn import ShiftGCN
from dvta_live.backbone.train import BackboneTrainConfig, _lr_at, seed_everything
from dvta_live.conventions import DEFAULT_FPS
from dvta_live.errors import UserError
from dvta_live.outputs import atomic_path
from dvta_live.skeleton.readers import read_path
from dvta_live.skeleton.recipe import Recipe, get_recipe
from dvta_live.skeleton.resample import resample_sequence
from dvta_live.skeleton.retarget import to_ntu_proportions
from dvta_live.skeleton.sequence import SkeletonSequence
from dvta_live.skeleton.views import random_crop, virtual_view
from dvta_live.training import pick_device

INPUT_RECIPE = "lift64"  # its image branch for the 2-D views trained on; 3-D windows skip the lifter
class LiftPairs(torch.utils.data.Dataset):
    """(image-plane input, teacher-recipe 3-D target) pairs; ``views`` random views per clip and epoch.
    With ``fixed`` each item's view and crop depend only on the seed (validation)."""

    def __init__(self, sequences: Sequence[SkeletonSequence], target: Recipe, views: int, seed: int,
                 fixed: bool = False) -> None:
        self.sequences = sequences
        self.target = target
        self.input = get_recipe(INPUT_RECIPE, window=target.window)
        self.views = views
        self.seed = seed
        self.fixed = fixed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.sequences) * self.views

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        seq = self.sequences[i // self.views]
        rng = np.random.default_rng((self.seed, 0 if self.fixed else self.epoch, i))
        crop = random_crop(seq.data, seq.fps or DEFAULT_FPS, rng)
        target = self.target.apply(to_ntu_proportions(crop))  # the proportions virtual_view gives the input
        lifted_from = self.input.apply(virtual_view(crop, rng))
        return torch.from_numpy(lifted_from), torch.from_numpy(target)


def masked_l1(pred: torch.Tensor, target: torch.Tensor, coord_dim: int = 1) -> torch.Tensor:
    """Mean absolute error over the joints the target has (absent bodies and frames are zeros);
    ``coord_dim`` of size 3 holds the coordinates."""
    mask = (target != 0).any(dim=coord_dim, keepdim=True).to(pred.dtype)
    return ((pred - target).abs() * mask).sum() / (3 * mask.sum()).clamp_min(1.0)


@torch.no_grad()
def validate(model: LiftedShiftGCN, loader: torch.utils.data.DataLoader, device: torch.device,
             baseline: bool = False) -> dict:
    """Joint error (m) and the teacher's top-1 agreement on lifted vs true 3-D windows; with ``baseline``
    also the agreement when the true window's depth is simply dropped."""
    model.eval()
    err = agree = agree_flat = cos = n = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        lifted = model.lifter(x)
        err += float(masked_l1(lifted, y)) * len(x)
        f_true, l_true = model.gcn(y)
        f_lift, l_lift = model.gcn(lifted)
        top = l_true.argmax(1)
        agree += float((l_lift.argmax(1) == top).sum())
        if baseline:
            flat = y.clone()
            flat[:, 1] = 0  # the canonical frame's depth axis (y, once the spine is on z) dropped
            agree_flat += float((model.gcn(flat)[1].argmax(1) == top).sum())
        cos += float(nn.functional.cosine_similarity(f_lift, f_true).sum())
        n += len(x)
    row = {"joint_error_m": err / n, "teacher_top1_agreement": agree / n, "feature_cosine": cos / n}
    return row | ({"depth_dropped_top1_agreement": agree_flat / n} if baseline else {})


def read_clips(paths: Sequence[str | Path]) -> list[SkeletonSequence]:
    """Every non-empty clip of ``paths`` (each read as `dvta data inspect` would), at about 30 fps (mocap
    at 120 fps is resampled: the live window is sampled at 30 Hz)."""

    clips = []
    for path in paths:
        for seq in read_path(path).sequences:
            if np.abs(seq.data).sum() > 0:
                clips.append(resample_sequence(seq, DEFAULT_FPS) if (seq.fps or 0) > 40 else seq)
    return clips


def split_clips(clips: Sequence[SkeletonSequence], seed: int, fraction: float = 0.03
                ) -> tuple[list[SkeletonSequence], list[SkeletonSequence]]:
    """(train, validation): a seeded ``fraction`` of the clips (at least 20, at most 150) held out."""
    order = np.random.default_rng(seed).permutation(len(clips))
    count = min(150, max(20, round(fraction * len(clips)))) if len(clips) > 40 else max(1, len(clips) // 5)
    return [clips[i] for i in order[count:]], [clips[i] for i in order[:count]]


def train_lifted(teacher: str | Path, train: Sequence[SkeletonSequence], val: Sequence[SkeletonSequence],
                 out: str | Path, config: LiftConfig | None = None, resume: bool = False,
                 on_epoch: Callable[[dict], None] | None = None) -> dict:
    """Train the lifter of a ``LiftedShiftGCN`` on ``teacher`` (a Shift-GCN backbone with the shiftgcn64
    recipe); writes ``out`` (the lifted backbone, recipe lift64) and ``out``'s ``.last.pt`` (resume state).
    Returns the last epoch's row (loss and validation figures)."""
    out = Path(out)
    config = config or LiftConfig()
    gcn, info = load_backbone(teacher)
    if not isinstance(gcn, ShiftGCN):
        raise UserError(f"the teacher must be a Shift-GCN backbone, this one is {info.architecture}", teacher,
                        "import the official Shift-GCN checkpoint with `dvta backbone import`")
    target = info.make_recipe()
    if target.plane != "xyz" or target.temporal != "resize_linear":
        raise UserError(f"the teacher's recipe {target.name} is not a 3-D resize recipe (e.g. shiftgcn64)",
                        teacher, "import the teacher with --recipe shiftgcn64")
    if not train:
        raise UserError("no 3-D skeleton clips to train the lifter on", fix="pass skeleton data folders")
    seed_everything(config.seed)
    device = pick_device(config.device)
    model = LiftedShiftGCN(num_class=gcn.num_class, num_point=gcn.num_point, num_person=gcn.num_person,
                           width=config.width, blocks=config.blocks)
    model.gcn.load_state_dict(gcn.state_dict())
    model.gcn.requires_grad_(False)
    model.to(device)
    train_set = LiftPairs(train, target, config.views, config.seed)
    val_set = LiftPairs(val, target, 1, config.seed + 1, fixed=True)
    loader = torch.utils.data.DataLoader(train_set, batch_size=config.batch_size, shuffle=True,
                                         drop_last=len(train_set) > config.batch_size,
                                         generator=torch.Generator().manual_seed(config.seed))
    val_loader = torch.utils.data.DataLoader(val_set, batch_size=128)
    optimizer = torch.optim.AdamW(model.lifter.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    last = out.with_name(out.name + ".last.pt")
    history: list[dict] = []
    start = 0
    if resume and last.is_file():
        try:
            state = torch.load(last, map_location=device, weights_only=False)
        except Exception as exc:  # noqa: BLE001 -- any unreadable state gets the same one-line answer
            raise UserError(f"cannot resume from this state: {exc}".splitlines()[0], last,
                            "delete it or train without --resume") from None
        if {k: v for k, v in state["config"].items() if k not in ("epochs", "device")} != {
                k: v for k, v in asdict(config).items() if k not in ("epochs", "device")}:
            raise UserError("the resume state was trained with other settings", last,
                            "resume with the same options, or delete it")
        model.lifter.load_state_dict(state["lifter"])
        optimizer.load_state_dict(state["optimizer"])
        history, start = state["history"], state["epoch"] + 1
        torch.set_rng_state(state["torch_rng"])
    schedule = BackboneTrainConfig(epochs=config.epochs, lr=config.lr, warmup_epochs=1)  # the project's one schedule
    steps = max(1, len(loader))
    for epoch in range(start, config.epochs):
        train_set.epoch = epoch
        model.lifter.train()
        model.gcn.eval()
        total = seen = 0.0
        for step, (x, y) in enumerate(loader):
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(epoch + step / steps, schedule)
            # bodies one by one, the absent ones (most clips hold one person) skipped
            xy, xyz = bodies_xy(x.to(device)), bodies_xyz(y.to(device))
            keep = xyz.abs().sum(dim=(1, 2)) > 0
            b = int(keep.sum())
            loss = masked_l1(model.lifter.lift_bodies(xy[keep]).view(b, -1, 3, xy.shape[2]),
                             xyz[keep].view(b, -1, 3, xy.shape[2]), coord_dim=2)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(x)
            seen += len(x)
        row = {"epoch": epoch, "loss": total / max(seen, 1), **validate(model, val_loader, device, baseline=epoch == 0)}
        history.append(row)
        save_backbone(out, model.cpu(), INPUT_RECIPE, info.class_names,
                      source=f"lifter trained on {len(train)} 3-D clips, teacher {info.source or teacher}",
                      extra={"teacher_recipe": info.recipe, "lift": {"config": asdict(config), **row}})
        model.to(device)
        with atomic_path(last) as tmp:  # a crash mid-write never leaves a broken resume state
            torch.save({"lifter": model.lifter.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                        "config": asdict(config), "history": history, "torch_rng": torch.get_rng_state()}, tmp)
        if on_epoch is not None:
            on_epoch(row)
    return history[-1] if history else {}


__all__ = ["LiftConfig", "LiftPairs", "masked_l1", "read_clips", "split_clips", "train_lifted", "validate"]
