"""KeypointGCN: the project's own camera backbone, an ST-GCN on COCO-17 image keypoints with scores.

It takes what the X3D takes (recipe ``posec3d48``: keypoints ``[N, 3, T, 17, M]``, x and y in the
compact box's ``size`` pixels, the score in [0, 1], a missing keypoint (0, 0, 0)), so the live loop, the
examples, ONNX and TensorRT feed it unchanged. It is trained here (``scripts/build_bundled_camera_model.py``)
with the X3D as a teacher; no third-party weights are in it.

In the graph, before ST-GCN's data_bn: x and y are moved to the box's centre and divided by its half size
(so about [-1, 1]), and set to 0 where the score is 0, so a missing keypoint reads as the box centre with
no confidence rather than as the top-left corner. The pooled feature averages the persons that are
present (any keypoint scored), not the empty body slots, so one person scores the same alone in a
two-slot window as in a one-slot one; a window with nobody gives the empty slot's feature.
"""

from __future__ import annotations

import torch
from torch import nn

from dvta_live.backbone.graph import stgcn_spatial_graph
from dvta_live.backbone.stgcn import STGCNBlock
from dvta_live.skeleton.coco17 import COCO17, NUM_KEYPOINTS


class KeypointGCN(nn.Module):
    """ST-GCN on COCO-17 keypoints with scores. ``forward`` returns (feature [N, 256], logits)."""

    arch = "keypoint-gcn"
    feature_dim = 256

    def __init__(self, num_class: int = 60, hidden_channels: int = 32, size: int = 64, dropout: float = 0.1,
                 temporal_kernel: int = 9) -> None:
        super().__init__()
        self.num_class = num_class
        self.hidden_channels = hidden_channels
        self.size = size
        self.dropout = dropout
        self.temporal_kernel = temporal_kernel
        # ST-GCN's spatial partitioning around the nose (pyskl's COCO centre)
        self.register_buffer("A", torch.tensor(stgcn_spatial_graph(COCO17, center=0), dtype=torch.float32))
        k = self.A.shape[0]
        self.data_bn = nn.BatchNorm1d(3 * NUM_KEYPOINTS)
        ks, h = (temporal_kernel, k), hidden_channels
        widths = (h, h, h, h, 2 * h, 2 * h, 2 * h, 4 * h, 4 * h, 4 * h)
        strides = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)
        blocks, cin = [], 3
        for i, (cout, stride) in enumerate(zip(widths, strides)):
            blocks.append(STGCNBlock(cin, cout, ks, stride, dropout if i else 0.0, residual=i > 0))
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.edge_importance = nn.ParameterList([nn.Parameter(torch.ones(self.A.shape)) for _ in blocks])
        # the last block stays 4h wide (a 256-wide block at T/4 would cost as much as all the others); the
        # pooled 4h values are projected to the head's width
        self.project = nn.Linear(cin, self.feature_dim)
        self.fc: nn.Linear | None = nn.Linear(self.feature_dim, num_class) if num_class > 0 else None

    def hparams(self) -> dict:
        """Constructor arguments, for checkpoint metadata."""
        return {"num_class": self.num_class, "hidden_channels": self.hidden_channels, "size": self.size,
                "dropout": self.dropout, "temporal_kernel": self.temporal_kernel}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or x.shape[1] != 3 or x.shape[3] != NUM_KEYPOINTS:
            raise ValueError(f"KeypointGCN expects keypoints [N, 3, T, {NUM_KEYPOINTS}, M] (x, y, score; "
                             f"COCO-17), got {list(x.shape)}")
        n, _, t, v, m = x.shape
        score = x[:, 2:3]
        half = self.size / 2.0
        xy = torch.where(score > 0, (x[:, :2] - half) / half, torch.zeros_like(x[:, :2]))
        x = torch.cat([xy, score], dim=1)
        # data_bn over (joint, channel), shared by the persons, as ST-GCN's
        x = x.permute(0, 4, 3, 1, 2).reshape(n * m, v * 3, t)
        x = self.data_bn(x)
        x = x.view(n, m, v, 3, t).permute(0, 1, 3, 4, 2).reshape(n * m, 3, t, v)
        for block, importance in zip(self.blocks, self.edge_importance):
            x = block(x, self.A * importance)
        feat = self.project(x.mean(dim=(2, 3))).view(n, m, -1)
        present = (score > 0).flatten(1, 3).any(dim=1).to(feat.dtype)  # [N, M]
        # nobody in the window: the first slot's feature, as if present
        present = torch.where(present.sum(1, keepdim=True) > 0, present, torch.ones_like(present))
        return (feat * present[..., None]).sum(1) / present.sum(1, keepdim=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat = self.features(x)
        logits = self.fc(feat) if self.fc is not None else feat[:, :0]
        return feat, logits


__all__ = ["KeypointGCN"]
