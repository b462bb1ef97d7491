"""Backbone features as a library: skeleton sequences -> (features, logits), and the SynSE feature folder
(train / ztest / gtest) that ``dvta train-head`` reads. ``dvta extract-features`` and ``dvta backbone
predict`` only parse options and print around these functions."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dvta_live.conventions import DEFAULT_FPS
from dvta_live.dvta.features import check_features_out, save_features
from dvta_live.dvta.splits import get_split
from dvta_live.errors import UserError
from dvta_live.skeleton.readers import read_path, read_paths
from dvta_live.skeleton.splits import parse_classes, parse_ids
from dvta_live.skeleton.views import live_window, virtual_view

if TYPE_CHECKING:
    import torch

    from dvta_live.backbone.checkpoint import BackboneInfo
    from dvta_live.skeleton.recipe import Recipe
    from dvta_live.skeleton.sequence import SkeletonDataset, SkeletonSequence

PARTS = ("train", "ztest", "gtest")


def run_backbone(model: torch.nn.Module, recipe: Recipe, sequences: Sequence[SkeletonSequence],
                 batch_size: int = 32, on_batch: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(features [N, 256], logits [N, K]) of ``sequences`` through ``recipe`` and ``model`` (eval mode);
    ``on_batch(n)`` after each batch of n sequences (progress)."""
    import torch

    features, logits = [], []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(sequences), batch_size):
            chunk = sequences[start: start + batch_size]
            feature, logit = model(torch.from_numpy(np.stack([recipe.apply(s.data) for s in chunk])))
            features.append(feature.numpy())
            logits.append(logit.numpy())
            if on_batch is not None:
                on_batch(len(chunk))
    if not features:
        return np.zeros((0, 256), np.float32), np.zeros((0, 0), np.float32)
    return np.concatenate(features), np.concatenate(logits)


def other_views(sequences: Sequence[SkeletonSequence], count: int, seed: int,
                window_s: float | None = None) -> list[SkeletonSequence]:
    """``count`` random virtual-camera views (image plane, MediaPipe-like errors) of each clip, seeded;
    ``count`` 0 keeps the recorded view (one copy). With ``window_s``, each copy is a live window of the
    clip (``skeleton.views.live_window``) instead of the whole clip."""

    def one(s: SkeletonSequence, v: int, i: int) -> SkeletonSequence:
        rng = np.random.default_rng((seed, v, i))
        data = s.data if window_s is None else live_window(s.data, s.fps or DEFAULT_FPS, window_s, rng)
        return dataclasses.replace(s, data=virtual_view(data, rng) if count > 0 else data)

    return [one(s, v, i) for v in range(max(count, 1)) for i, s in enumerate(sequences)]


def split_unseen(name: str, num_classes: int) -> list[int]:
    """The unseen class ids of a named zero-shot split, checked against the data's number of classes."""

    chosen = get_split(name)
    if chosen.num_classes != num_classes:
        raise UserError(f"split {name} is for {chosen.dataset} ({chosen.num_classes} classes), the data has "
                        f"{num_classes} classes", fix="pick a split of this dataset")
    return sorted(chosen.unseen)


def refuse_leaky_backbone(info: BackboneInfo, path: Path, unseen_ids: Sequence[int]) -> None:
    """A backbone that trained on an 'unseen' class would make zero-shot figures meaningless."""
    trained_on = info.extra.get("seen_class_ids")
    if trained_on is None:
        return
    leaked = sorted(set(trained_on) & set(unseen_ids))
    if leaked:
        raise UserError(f"this backbone was trained on classes {leaked}, which this split calls unseen", path,
                        "train the backbone with the same --unseen classes")


def read_data(paths: Sequence[Path]) -> SkeletonDataset:
    """One dataset of one or several files/folders (several must share their class names)."""

    return read_path(paths[0]) if len(paths) == 1 else read_paths(paths)


def zero_shot_parts(dataset: SkeletonDataset, unseen_ids: Sequence[int],
                    test_subjects: frozenset[int] | set[int]) -> dict[str, list[SkeletonSequence]]:
    """train (seen classes), ztest (unseen classes of the test sequences), gtest (every class of the test
    subjects; only with test subjects). Without test subjects every unseen sequence is a test one."""
    unseen = set(unseen_ids)
    usable = [s for s in dataset if 0 <= s.label < dataset.num_classes and np.abs(s.data).sum() > 0]

    def is_test(s: SkeletonSequence) -> bool:
        return s.subject in test_subjects if test_subjects else s.label in unseen

    return {"train": [s for s in usable if s.label not in unseen and not (test_subjects and is_test(s))],
            "ztest": [s for s in usable if s.label in unseen and is_test(s)],
            "gtest": [s for s in usable if is_test(s)] if test_subjects else []}


@dataclass(frozen=True)
class ExtractedFeatures:
    """What ``extract_features`` wrote: sequences per part and the unseen class names."""

    out: Path
    counts: dict[str, int]
    unseen_names: tuple[str, ...]


@dataclass(frozen=True)
class TrainingViews:
    """How the head's training clips are presented: ``views`` virtual cameras (0: as recorded), and
    ``window_s``-long live windows instead of whole clips (None)."""

    views: int = 0
    seed: int = 0
    window_s: float | None = None


def extract_features(backbone: Path, data: Sequence[Path], out: Path, *, unseen: str | None = None,
                     split: str | None = None, test_subjects: str | None = None, batch_size: int = 64,
                     training: TrainingViews = TrainingViews(),
                     on_part: Callable[[str, int], Callable[[int], None] | None] | None = None) -> ExtractedFeatures:
    """Backbone features of ``data`` in the SynSE layout at ``out``: exactly one of ``unseen`` (ids/names)
    or ``split`` (a named split) chooses the zero-shot classes; neither: every class is seen.
    ``on_part(name, total)`` may return a per-batch progress callback."""
    from dvta_live.backbone.checkpoint import load_backbone

    check_features_out(out, [backbone, *data])
    model, info = load_backbone(backbone)
    dataset = read_data(data)
    if split is not None:
        unseen_ids = split_unseen(split, dataset.num_classes)
    else:
        unseen_ids = parse_classes(unseen, dataset.class_names) if unseen is not None else []
    refuse_leaky_backbone(info, backbone, unseen_ids)
    test_ids = parse_ids(test_subjects)
    parts = zero_shot_parts(dataset, unseen_ids, test_ids)
    recipe = info.make_recipe()
    if training.views > 0 and recipe.plane == "xyz":
        raise UserError(f"--views needs an image-plane backbone; {backbone.name} uses recipe {recipe.name}",
                        backbone, "leave --views out (3-D backbones normalise the view themselves)")
    if training.views > 0 or training.window_s is not None:
        parts["train"] = other_views(parts["train"], training.views, training.seed, training.window_s)
    features = {name: run_backbone(model, recipe, seqs, batch_size,
                                   on_part(name, len(seqs)) if on_part else None)[0]
                for name, seqs in parts.items()}
    labels = {name: np.array([s.label for s in seqs], dtype=np.int64) for name, seqs in parts.items()}
    meta = {"dataset": dataset.name, "class_names": list(dataset.class_names), "unseen": unseen_ids,
            "split": split, "test_subjects": sorted(test_ids), "backbone": str(backbone),
            "backbone_architecture": info.architecture, "recipe": info.recipe, "views": training.views,
            "seed": training.seed, "live_window_s": training.window_s}
    gtest = bool(parts["gtest"])
    save_features(out, features["train"], labels["train"], features["ztest"], labels["ztest"],
                  features["gtest"] if gtest else None, labels["gtest"] if gtest else None, metadata=meta)
    return ExtractedFeatures(out, {name: len(seqs) for name, seqs in parts.items()},
                             tuple(dataset.class_names[i] for i in unseen_ids))


__all__ = ["PARTS", "ExtractedFeatures", "TrainingViews", "extract_features", "other_views", "read_data",
           "refuse_leaky_backbone", "run_backbone", "split_unseen", "zero_shot_parts"]
