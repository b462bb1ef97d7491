"""DVTA's training loss: a multi-positive KL divergence over the batch (released ``KLLoss.py``, ``train.py``).

A batch usually holds several samples of one class, so skeleton i has several positive texts. The target
row is ``softmax(10 * gt_i)`` with ``gt[i, j] = 1`` when samples i and j share a class: the positives share
almost all the mass equally (e^10 : 1 against each negative). The loss is ``KL(target || softmax(logits))``
averaged over rows (``KLDivLoss(reduction='batchmean')``), for skeleton->text and text->skeleton, then
averaged over the two directions.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

TARGET_SCALE = 10.0  # the released KLLoss multiplies the 0/1 ground truth by 10 before its softmax


def positive_matrix(labels: Tensor) -> Tensor:
    """[B] class ids -> float [B, B], 1 where samples i and j share a class.

    The released ``create_ground_truth_matrix``.
    """
    return (labels.unsqueeze(1) == labels.unsqueeze(0)).float()


def kl_to_soft_targets(logits: Tensor, gt: Tensor, scale: float = TARGET_SCALE) -> Tensor:
    """The released ``KLLoss``: ``KL(softmax(scale * gt) || softmax(logits))`` per row, mean over rows."""
    return F.kl_div(F.log_softmax(logits, dim=1), F.softmax(gt.to(logits.dtype) * scale, dim=1),
                    reduction="batchmean")


def multi_positive_kl_loss(logits: Tensor, labels: Tensor, scale: float = TARGET_SCALE) -> Tensor:
    """Loss of the released step from the summed [B, B] logits (skeleton rows, text columns) and [B] labels.

    The released step builds the text->skeleton logits as the transpose (``sim_t2v = sim_v2t.t()`` for both
    branches), so ``logits.t()`` is that direction here.
    """
    if logits.dim() != 2 or logits.shape[0] != logits.shape[1] or logits.shape[0] != labels.shape[0]:
        raise ValueError(f"logits must be [B, B] for B labels, got {tuple(logits.shape)} "
                         f"and {tuple(labels.shape)}")
    gt = positive_matrix(labels)
    return (kl_to_soft_targets(logits, gt, scale) + kl_to_soft_targets(logits.t(), gt.t(), scale)) / 2


__all__ = ["TARGET_SCALE", "kl_to_soft_targets", "multi_positive_kl_loss", "positive_matrix"]
