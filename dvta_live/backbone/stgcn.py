"""ST-GCN in the SMIE / DVTA zero-shot configuration.

Matches ``module/gcn/st_gcn.py`` of SMIE (YujieOuO/SMIE, itself the AimCLR / CrosSCLR encoder): ten
ST-GCN blocks with 16-16-16-16-32-32-32-64-64-256 channels, temporal kernel 9, stride 2 in blocks 5 and
8, dropout 0.5 in blocks 2-10, learnable edge importance, ST-GCN spatial partitioning on the NTU-25
graph, ``data_bn`` over 75 = 3 x 25 channels shared by the persons. The 256-d feature is the mean over
time and joints, then over persons. Module and parameter names are the official ones, so SMIE/AimCLR
state dicts load with ``load_state_dict`` (after stripping a wrapper prefix such as ``encoder_q.``).

Differences from the official code, none of which change the numbers: the graph convolution is a
single matmul instead of an ``einsum`` (TensorRT-friendlier), SMIE's ``ignore_joint`` masking (a
training-time trick) is left out, and an optional linear head gives logits for supervised training.
"""

from __future__ import annotations

import torch
from torch import nn

from dvta_live.backbone.graph import stgcn_spatial_graph
from dvta_live.skeleton.layouts import NTU25, Layout


class ConvTemporalGraphical(nn.Module):
    """1x1 conv to K x C_out channels, then a sum over the K partitions of ``x @ A[k]``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.conv = nn.Conv2d(in_channels, out_channels * kernel_size, kernel_size=(1, 1))

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        n, kc, t, v = x.shape
        k = self.kernel_size
        # einsum('nkctv,kvw->nctw') written as one matmul over the fused (k, v) axis.
        x = x.view(n, k, kc // k, t, v).permute(0, 2, 3, 1, 4).reshape(n, kc // k, t, k * v)
        return torch.matmul(x, a.reshape(k * v, a.shape[-1]))


class STGCNBlock(nn.Module):
    """Spatial graph conv -> BN-ReLU-temporal conv (9 x 1)-BN-dropout, plus residual, then ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple[int, int], stride: int = 1,
                 dropout: float = 0.0, residual: bool = True) -> None:
        super().__init__()
        t_kernel, k = kernel_size
        self.gcn = ConvTemporalGraphical(in_channels, out_channels, k)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, (t_kernel, 1), (stride, 1), ((t_kernel - 1) // 2, 0)),
            nn.BatchNorm2d(out_channels),
            nn.Dropout(dropout),
        )
        self.residual: nn.Module | None
        self.identity = residual and in_channels == out_channels and stride == 1
        if residual and not self.identity:
            self.residual = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=(stride, 1)),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.residual = None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        if self.residual is not None:
            res = self.residual(x)
        elif self.identity:
            res = x
        else:
            res = None
        x = self.tcn(self.gcn(x, a))
        return self.relu(x if res is None else x + res)


class STGCN(nn.Module):
    """ST-GCN backbone. Input [N, 3, T, 25, M]; ``forward`` returns (feature [N, hidden_dim], logits).

    ``logits`` is [N, num_class], or [N, 0] when the model has no head (``num_class=0``). Any T works.
    """

    arch = "stgcn"

    def __init__(self, in_channels: int = 3, hidden_channels: int = 16, hidden_dim: int = 256,
                 num_class: int = 0, dropout: float = 0.5, edge_importance_weighting: bool = True,
                 num_person: int = 2, layout: Layout = NTU25) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.hidden_dim = hidden_dim
        self.num_class = num_class
        self.dropout = dropout
        self.edge_importance_weighting = edge_importance_weighting
        self.num_person = num_person
        self.layout = layout

        self.register_buffer("A", torch.tensor(stgcn_spatial_graph(layout), dtype=torch.float32))
        k, v = self.A.shape[0], self.A.shape[1]
        self.data_bn = nn.BatchNorm1d(in_channels * v)
        ks = (9, k)
        h = hidden_channels
        self.st_gcn_networks = nn.ModuleList([
            STGCNBlock(in_channels, h, ks, 1, residual=False),  # SMIE drops `dropout` for block 1
            STGCNBlock(h, h, ks, 1, dropout),
            STGCNBlock(h, h, ks, 1, dropout),
            STGCNBlock(h, h, ks, 1, dropout),
            STGCNBlock(h, h * 2, ks, 2, dropout),
            STGCNBlock(h * 2, h * 2, ks, 1, dropout),
            STGCNBlock(h * 2, h * 2, ks, 1, dropout),
            STGCNBlock(h * 2, h * 4, ks, 2, dropout),
            STGCNBlock(h * 4, h * 4, ks, 1, dropout),
            STGCNBlock(h * 4, hidden_dim, ks, 1, dropout),
        ])
        if edge_importance_weighting:
            self.edge_importance = nn.ParameterList(
                [nn.Parameter(torch.ones(self.A.shape)) for _ in self.st_gcn_networks])
        else:
            self.edge_importance = None
        self.fc = nn.Linear(hidden_dim, num_class) if num_class > 0 else None

    @property
    def feature_dim(self) -> int:
        return self.hidden_dim

    def hparams(self) -> dict:
        """Constructor arguments, for checkpoint metadata (the layout is stored by name)."""
        return {
            "in_channels": self.in_channels, "hidden_channels": self.hidden_channels,
            "hidden_dim": self.hidden_dim, "num_class": self.num_class, "dropout": self.dropout,
            "edge_importance_weighting": self.edge_importance_weighting, "num_person": self.num_person,
        }

    def features(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v, m = x.shape
        if c != self.in_channels or v != self.A.shape[1] or m != self.num_person:
            raise ValueError(f"ST-GCN expects input [N, {self.in_channels}, T, {self.A.shape[1]}, "
                             f"{self.num_person}], got {list(x.shape)}")
        # data_bn normalises each (joint, coordinate) channel, shared by the persons (75 channels).
        x = x.permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t)
        x = self.data_bn(x)
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        for i, block in enumerate(self.st_gcn_networks):
            a = self.A if self.edge_importance is None else self.A * self.edge_importance[i]
            x = block(x, a)
        x = x.mean(dim=(2, 3))  # = F.avg_pool2d over (T, V)
        return x.view(n, m, -1).mean(dim=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat = self.features(x)
        logits = self.fc(feat) if self.fc is not None else feat[:, :0]
        return feat, logits


__all__ = ["STGCN", "ConvTemporalGraphical", "STGCNBlock"]
