"""Examples beside text: a training-free cache model over recorded clips of the labels' actions.

An action in a labels file may carry examples (``examples:``, recorded clips). Each example is cut into
live windows and passed through the backbone once; those features are the cache's keys. A live window's
feature is compared with every key, and the affinities of each action's keys are added to the head's
scores, as Tip-Adapter does for CLIP (Zhang et al., ECCV 2022):

    affinity_k = exp(-sharpness * (1 - cos(feature, key_k)))             in (0, 1]
    scores_c  += weight * mean over the keys k of action c of affinity_k

Actions without examples get nothing added, so they stay purely zero-shot; an action with examples gains
up to ``weight`` where a window looks like one of them. Both sides are folded into two tensors, computed
once per labels file like the text side, that every runtime and exported graph takes as inputs:

    keys   [K, F + 1] = [sharpness * unit key, -sharpness]     (the feature gets a constant 1 appended)
    values [K, C]     = weight / (number of keys of c) where key k is an example of c, else 0
    scores += exp([unit feature, 1] . keys^T) @ values

With no examples, one all-zero row (exp(0) = 1 times values 0) adds exactly nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dvta_live.conventions import EXAMPLE_WEIGHT

# EXAMPLE_WEIGHT (256, kept in dvta_live.conventions for the command line's help) and DEFAULT_SHARPNESS:
# chosen on skeleton data (bench/bench_examples.py, bench/results/examples.md): NW-UCLA's and UTD-MHAD's
# unseen classes with 1-5 examples from other views / subjects, every action taught or one at a time; not
# on the real-video clips, which only measure. A sharp kernel and a large weight: a window close to an
# example becomes its action whatever the text says, one merely similar is left to the text (a broad
# kernel made every window of a taught action's neighbours that action: 38.9 -> 19 % on UTD-MHAD).
DEFAULT_SHARPNESS = 20.0


class ExampleSide(NamedTuple):
    """The example half of the class side (see the module note); traces and exports as two inputs."""

    keys: Tensor  # [K, F + 1]
    values: Tensor  # [K, C]


def example_side(features: np.ndarray, classes: Sequence[int], num_classes: int, *,
                 weight: float = EXAMPLE_WEIGHT, sharpness: float = DEFAULT_SHARPNESS,
                 feature_dim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Backbone features [K, F] of example windows and the class index of each -> (keys, values) float32.

    K = 0 (or weight 0) gives the single all-zero row, which adds nothing; ``feature_dim`` is needed then."""
    features = np.asarray(features, dtype=np.float32)
    classes = np.asarray(classes, dtype=np.int64)
    dim = features.shape[1] if features.ndim == 2 and features.shape[1] else feature_dim
    if dim is None:
        raise ValueError("feature_dim is needed when there are no example features")
    if features.shape[0] != classes.shape[0]:
        raise ValueError(f"{features.shape[0]} example features but {classes.shape[0]} class indices")
    if not features.shape[0] or weight == 0:
        return np.zeros((1, dim + 1), np.float32), np.zeros((1, num_classes), np.float32)
    if classes.min() < 0 or classes.max() >= num_classes:
        raise ValueError(f"example class indices must be in 0..{num_classes - 1}")
    unit = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    keys = np.concatenate([sharpness * unit, np.full((len(unit), 1), -sharpness, np.float32)], axis=1)
    counts = np.bincount(classes, minlength=num_classes)
    values = np.zeros((len(unit), num_classes), np.float32)
    values[np.arange(len(unit)), classes] = weight / counts[classes]
    return keys.astype(np.float32), values


def example_scores(features: Tensor, side: ExampleSide) -> Tensor:
    """What the examples add to the scores [B, C] of backbone features [B, F]."""
    unit = F.normalize(features, dim=-1)
    ones = torch.ones_like(unit[:, :1])
    return torch.exp(torch.cat([unit, ones], dim=1) @ side.keys.t()) @ side.values


__all__ = ["DEFAULT_SHARPNESS", "EXAMPLE_WEIGHT", "ExampleSide", "example_scores", "example_side"]
