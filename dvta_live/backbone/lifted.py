"""A lifted backbone: image-plane skeleton -> 3-D skeleton in the backbone's own input frame -> Shift-GCN.

A live camera gives MediaPipe's 2-D image landmarks, which agree with Kinect's colour-space joints within
0.02-0.15 torso lengths, and a guessed depth, which is what breaks a backbone trained on Kinect skeletons
(measured on NTU A001: Kinect x, y + MediaPipe z moves the official model from "drink water" 1.00 to
0.23). So the live input is the 2-D skeleton (recipe ``lift64``, image branch) and a small temporal network, the
lifter, predicts the window as the backbone's recipe would have prepared the 3-D skeleton (``shiftgcn64``:
centred, first-frame view normalised). It is trained on the 3-D skeletons here seen through random
virtual cameras (``dvta_live.backbone.lift``); the backbone's weights are frozen copies of the teacher's,
so its features keep their meaning as far as the lifter is right (on the paired NTU A001 clip the
official classifier goes from "toss a coin" on MediaPipe's 3-D landmarks to drink water on the lifted
2-D ones). A head for camera input is still best trained on lifted features: see
bench/results/real_video_ablation.md.
"""

from __future__ import annotations

import torch
from torch import nn

from dvta_live.backbone.shiftgcn import NUM_POINT, ShiftGCN


class _Block(nn.Module):
    """Dilated temporal convolution with a residual, plus the window's mean (the view is set by the first
    frame and holds for the whole window, so every frame needs the whole window's context)."""

    def __init__(self, width: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.temporal = nn.Sequential(
            nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation), nn.BatchNorm1d(width), nn.ReLU(),
            nn.Dropout(dropout), nn.Conv1d(width, width, 1), nn.BatchNorm1d(width))
        self.context = nn.Conv1d(width, width, 1)
        self.relu = nn.ReLU()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.relu(h + self.temporal(h) + self.context(h.mean(dim=2, keepdim=True)))


class Lifter(nn.Module):
    """[N, 3, T, V, M] image-plane window (z ignored) -> [N, 3, T, V, M] 3-D window, per body.

    Frames where a body is absent (all zeros) stay zeros, as the recipes leave them.
    """

    def __init__(self, num_point: int = NUM_POINT, width: int = 192, blocks: int = 4, dropout: float = 0.1) -> None:
        super().__init__()
        self.num_point = num_point
        self.inp = nn.Sequential(nn.Conv1d(4 * num_point, width, 1), nn.BatchNorm1d(width), nn.ReLU())
        self.blocks = nn.Sequential(*[_Block(width, 2 ** i, dropout) for i in range(blocks)])
        self.out = nn.Conv1d(width, 3 * num_point, 1)

    def lift_bodies(self, xy: torch.Tensor) -> torch.Tensor:
        """[B, V*2, T] one body's image-plane joints per row -> [B, V*3, T] its 3-D joints."""
        t = xy.shape[2]
        present = (xy.abs().sum(dim=1, keepdim=True) > 0).to(xy.dtype)
        first = xy[:, :, :1].expand(-1, -1, t)  # the frame the target's view is taken from
        return self.out(self.blocks(self.inp(torch.cat([xy, first], dim=1)))) * present

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, v, m = x.shape
        out = self.lift_bodies(bodies_xy(x))
        return out.reshape(n, m, v, 3, t).permute(0, 3, 4, 2, 1)


def bodies_xy(x: torch.Tensor) -> torch.Tensor:
    """[N, C, T, V, M] -> [N*M, V*2, T]: each body's x, y channels as one sequence."""
    n, _, t, v, m = x.shape
    return x[:, :2].permute(0, 4, 3, 1, 2).reshape(n * m, v * 2, t)


def bodies_xyz(x: torch.Tensor) -> torch.Tensor:
    """[N, 3, T, V, M] -> [N*M, V*3, T], the layout ``Lifter.lift_bodies`` returns."""
    n, c, t, v, m = x.shape
    return x.permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t)


class LiftedShiftGCN(nn.Module):
    """Lifter + Shift-GCN; ``forward`` returns Shift-GCN's (feature [N, 256], logits [N, num_class]).

    Windows without depth (z all zero: image landmarks, recipe lift64's image branch) are lifted; windows
    with depth (a Kinect or mocap replay, a depth camera) already are the backbone's input and go straight
    to it. Both kinds may share a batch."""

    arch = "lifted-shiftgcn"
    feature_dim = ShiftGCN.feature_dim

    def __init__(self, num_class: int = 120, num_point: int = NUM_POINT, num_person: int = 2,
                 width: int = 192, blocks: int = 4) -> None:
        super().__init__()
        self.width, self.blocks = width, blocks
        self.lifter = Lifter(num_point, width, blocks)
        self.gcn = ShiftGCN(num_class=num_class, num_point=num_point, num_person=num_person)

    @property
    def num_class(self) -> int:
        return self.gcn.num_class

    def hparams(self) -> dict:
        return {"num_class": self.gcn.num_class, "num_point": self.gcn.num_point,
                "num_person": self.gcn.num_person, "width": self.width, "blocks": self.blocks}

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = x[:, 2].abs().amax(dim=(1, 2, 3)) == 0  # [N] no depth anywhere in the window
        return self.gcn(torch.where(flat[:, None, None, None, None], self.lifter(x), x))


__all__ = ["LiftedShiftGCN", "Lifter"]
