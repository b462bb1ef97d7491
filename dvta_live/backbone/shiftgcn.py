"""Shift-GCN (Cheng et al., CVPR 2020) in plain PyTorch, numerically faithful to kchengiva/Shift-GCN.

The official model (``model/shift_gcn.py``) needs a CUDA extension for its temporal shift
(``model/Temporal_shift/cuda``). :class:`TemporalShift` re-implements that kernel's forward with
``floor``/``index_select``/multiply-add, so the model runs on CPU, exports to ONNX (Gather, and
GatherElements only where the joint-axis shift is active) and builds in TensorRT. Module and parameter names are the official ones, so the released checkpoints load with
``load_state_dict`` (see :mod:`dvta_live.backbone.checkpoint`).

Kernel semantics (``shift_cuda_kernel.cu``, input [N, C, H=T, W=V]): for each channel ``c``, with
``x = xpos[c]`` and ``y = ypos[c]`` (+0.5 when stride is 2, added in ``ShiftFunction``), output
``[n, c, h, w]`` for ``h < H // stride`` is the bilinear interpolation of the input at
``(h * stride + y, w + x)`` from the four neighbours ``floor(.)`` and ``floor(.) + 1``, each taken as 0
outside the input. The official training never moves ``xpos`` (its gradient is multiplied by 0; the
released values are ~1e-11), but the joint axis is interpolated here too, exactly as the kernel does,
whenever some |xpos| is large enough to matter in float32 (``XPOS_IDENTITY_EPS``); below that the
interpolation is the identity to within one ulp and is skipped. The check runs in Python, so an ONNX
export bakes in the branch of the weights it was traced with.

Training: the official backward replaces the position gradients (``applyShiftConstraint``): ``xpos``
gets 0 and ``ypos`` gets ``0.01 * sign(grad)`` (``0.0001`` where the gradient is exactly 0).
:class:`TemporalShift` applies the same rule in training mode, so fine-tuning behaves like the original.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from dvta_live.errors import UserError

NUM_POINT = 25


class _ShiftPositionGrad(torch.autograd.Function):
    """Identity on (xpos, ypos) whose backward applies the official ``applyShiftConstraint``."""

    @staticmethod
    def forward(ctx, xpos: torch.Tensor, ypos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return xpos.clone(), ypos.clone()

    @staticmethod
    def backward(ctx, gx: torch.Tensor, gy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gy = torch.where(gy != 0, torch.sign(gy) * 0.01, torch.full_like(gy, 1e-4))
        return torch.zeros_like(gx), gy


# Below this |xpos| the kernel's joint-axis interpolation is the identity to float32 precision:
# x in (-eps, 0) gives dx = 1.0f exactly (the tap at w alone), x in [0, eps) adds x * input[w + 1],
# under one float32 ulp of a same-sized value. The released checkpoints have |xpos| ~ 2e-11.
XPOS_IDENTITY_EPS = 2.0 ** -24


def _time_taps(ypos: torch.Tensor, t_in: int, stride: int) -> tuple[torch.Tensor, ...]:
    """Flat ``index_select`` indices into [C * T_in] and zero-masked weights [C, T_out] of both taps."""
    t_out = t_in // stride
    y1 = torch.floor(ypos)
    dy = (ypos - y1)[:, None]
    h = torch.arange(t_out, device=ypos.device) * stride
    i1 = h[None, :] + y1.long()[:, None]  # [C, T_out]: frame of the tap at floor(y)
    i2 = i1 + 1
    base = torch.arange(ypos.shape[0], device=ypos.device)[:, None] * t_in
    # Taps outside [0, T_in) read 0 in the kernel: clamp the index, zero the weight.
    w1 = (1 - dy) * ((i1 >= 0) & (i1 < t_in)).to(ypos.dtype)
    w2 = dy * ((i2 >= 0) & (i2 < t_in)).to(ypos.dtype)
    f1 = (base + i1.clamp(0, t_in - 1)).reshape(-1)
    f2 = (base + i2.clamp(0, t_in - 1)).reshape(-1)
    return f1, f2, w1, w2


def _joint_interp(x: torch.Tensor, xpos: torch.Tensor) -> torch.Tensor:
    """Per-channel fractional shift along the joint axis (dim 3), zero outside, as the kernel."""
    n, c, t, v = x.shape
    x1 = torch.floor(xpos)
    dx = (xpos - x1)[None, :, None, None]
    j1 = torch.arange(v, device=x.device)[None, :] + x1.long()[:, None]  # [C, V]

    def take(index: torch.Tensor) -> torch.Tensor:
        valid = ((index >= 0) & (index < v)).to(x.dtype)[None, :, None, :]
        index = index.clamp(0, v - 1)[None, :, None, :].expand(n, c, t, v)
        return torch.gather(x, 3, index) * valid

    return take(j1) * (1 - dx) + take(j1 + 1) * dx


class TemporalShift(nn.Module):
    """Learnable per-channel fractional shift (the official ``Shift`` module), plain PyTorch ops.

    Input [N, C, T, V] -> [N, C, T // stride, V].
    """

    def __init__(self, channel: int, stride: int = 1, init_scale: float = 1.0) -> None:
        super().__init__()
        self.channel = channel
        self.stride = stride
        self.xpos = nn.Parameter(torch.empty(channel).uniform_(-1e-8, 1e-8))
        self.ypos = nn.Parameter(torch.empty(channel).uniform_(-init_scale, init_scale))
        self._joint_cache: tuple[tuple, bool] | None = None

    def joint_shift_needed(self) -> bool:
        """Whether any |xpos| is large enough for the joint-axis interpolation to change the output.

        Cached against the parameter's storage and version counter: re-checking every call would cost a
        device sync per layer on GPU, and the answer only changes when xpos is written.
        """
        key = (self.xpos.data_ptr(), self.xpos._version, self.xpos.device)
        if self._joint_cache is None or self._joint_cache[0] != key:
            self._joint_cache = (key, bool((self.xpos.detach().abs() >= XPOS_IDENTITY_EPS).any()))
        return self._joint_cache[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xpos, ypos = self.xpos, self.ypos
        if self.training and torch.is_grad_enabled():
            xpos, ypos = _ShiftPositionGrad.apply(xpos, ypos)
        if self.stride != 1:
            ypos = ypos + 0.5  # as ShiftFunction.forward: sample between the two input frames
        n, c, t, v = x.shape
        t_out = t // self.stride
        # Time axis: taps at h * stride + floor(y) and one frame later, weights (1 - dy) and dy.
        # Selecting whole [V] rows of the (channel, frame)-flattened input is much cheaper than an
        # element-wise gather, and exports as a plain ONNX Gather.
        f1, f2, w1, w2 = _time_taps(ypos, t, self.stride)
        flat = x.reshape(n, c * t, v)
        g1 = flat.index_select(1, f1).view(n, c, t_out, v)
        g2 = flat.index_select(1, f2).view(n, c, t_out, v)
        w1, w2 = w1[None, :, :, None], w2[None, :, :, None]
        if torch.is_grad_enabled():
            x = g1 * w1 + g2 * w2
        else:  # inference: in place, since allocating large temporaries costs more than the arithmetic
            x = g1.mul_(w1).addcmul_(g2, w2)
        # Joint axis with xpos (bilinear = the two 1-D interpolations); skipped where it is the identity.
        if self.joint_shift_needed():
            x = _joint_interp(x, xpos)
        return x


def _tcn_init(conv: nn.Conv2d) -> None:
    nn.init.kaiming_normal_(conv.weight, mode="fan_out")
    if conv.bias is not None:
        nn.init.constant_(conv.bias, 0)


class ResidualTCN(nn.Module):
    """The official ``tcn`` used as the strided residual: 1 x 1 conv (stride on time) + BN."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=(1, 1), stride=(stride, 1))
        self.bn = nn.BatchNorm2d(out_channels)
        _tcn_init(self.conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class ShiftTCN(nn.Module):
    """BN -> shift -> 1 x 1 conv -> ReLU -> shift (strided) -> BN (the official ``Shift_tcn``)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(in_channels)
        self.bn2 = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shift_in = TemporalShift(in_channels, stride=1)
        self.shift_out = TemporalShift(out_channels, stride=stride)
        self.temporal_linear = nn.Conv2d(in_channels, out_channels, 1)
        _tcn_init(self.temporal_linear)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.shift_in(self.bn(x))
        x = self.relu(self.temporal_linear(x))
        return self.bn2(self.shift_out(x))


def spatial_shift_index(channels: int, num_point: int = NUM_POINT, direction: int = 1) -> torch.Tensor:
    """Flat [V * C] gather index of the official non-local spatial shift.

    Output (joint i, channel j) reads input (joint (i + direction * j) mod V, channel j): channel j is
    shifted by j joints, +1 for ``shift_in`` and -1 for ``shift_out``.
    """
    i = np.arange(num_point)[:, None]
    j = np.arange(channels)[None, :]
    index = (i * channels + j + direction * j * channels) % (channels * num_point)
    return torch.from_numpy(index.reshape(-1).astype(np.int64))


class ShiftGCNLayer(nn.Module):
    """The official ``Shift_gcn``: shift in -> feature mask -> linear -> shift out -> BN, + down, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, num_point: int = NUM_POINT) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_point = num_point
        if in_channels != out_channels:
            self.down: nn.Module | None = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
            _tcn_init(self.down[0])
        else:
            self.down = None
        self.Linear_weight = nn.Parameter(torch.empty(in_channels, out_channels).normal_(
            0, float(np.sqrt(1.0 / out_channels))))
        self.Linear_bias = nn.Parameter(torch.zeros(1, 1, out_channels))
        self.Feature_Mask = nn.Parameter(torch.zeros(1, num_point, in_channels))
        self.bn = nn.BatchNorm1d(num_point * out_channels)
        self.relu = nn.ReLU()
        # Fixed permutations; buffers under the official names (they are in the released checkpoints).
        self.register_buffer("shift_in", spatial_shift_index(in_channels, num_point, +1))
        self.register_buffer("shift_out", spatial_shift_index(out_channels, num_point, -1))

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        n, c, t, v = x0.shape
        x = x0.permute(0, 2, 3, 1).reshape(n * t, v * c)
        x = torch.index_select(x, 1, self.shift_in).view(n * t, v, c)
        x = x * (torch.tanh(self.Feature_Mask) + 1)
        x = torch.matmul(x, self.Linear_weight) + self.Linear_bias  # einsum('nwc,cd->nwd')
        x = torch.index_select(x.reshape(n * t, v * self.out_channels), 1, self.shift_out)
        x = self.bn(x)
        x = x.view(n, t, v, self.out_channels).permute(0, 3, 1, 2)
        x = x + (x0 if self.down is None else self.down(x0))
        return self.relu(x)


class TCNGCNUnit(nn.Module):
    """One Shift-GCN block: spatial shift GCN, temporal shift TCN, residual, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, residual: bool = True,
                 num_point: int = NUM_POINT) -> None:
        super().__init__()
        self.gcn1 = ShiftGCNLayer(in_channels, out_channels, num_point)
        self.tcn1 = ShiftTCN(out_channels, out_channels, stride=stride)
        self.relu = nn.ReLU()
        self.use_residual = residual
        self.identity = residual and in_channels == out_channels and stride == 1
        self.residual = ResidualTCN(in_channels, out_channels, stride) if residual and not self.identity \
            else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn1(self.gcn1(x))
        if self.residual is not None:
            y = y + self.residual(x)
        elif self.identity:
            y = y + x
        return self.relu(y)


class ShiftGCN(nn.Module):
    """Shift-GCN backbone. Input [N, 3, T, 25, 2] with T divisible by 4 (300 for the released weights).

    ``forward`` returns (feature [N, 256], logits [N, num_class]); the feature is the official
    pre-``fc`` pooling: mean over time and joints, then over persons. ``num_class=0`` drops the head
    (logits are [N, 0]).
    """

    arch = "shiftgcn"
    feature_dim = 256

    def __init__(self, num_class: int = 60, num_point: int = NUM_POINT, num_person: int = 2,
                 in_channels: int = 3) -> None:
        super().__init__()
        self.num_class = num_class
        self.num_point = num_point
        self.num_person = num_person
        self.in_channels = in_channels
        self.data_bn = nn.BatchNorm1d(num_person * in_channels * num_point)
        v = num_point
        self.l1 = TCNGCNUnit(in_channels, 64, residual=False, num_point=v)
        self.l2 = TCNGCNUnit(64, 64, num_point=v)
        self.l3 = TCNGCNUnit(64, 64, num_point=v)
        self.l4 = TCNGCNUnit(64, 64, num_point=v)
        self.l5 = TCNGCNUnit(64, 128, stride=2, num_point=v)
        self.l6 = TCNGCNUnit(128, 128, num_point=v)
        self.l7 = TCNGCNUnit(128, 128, num_point=v)
        self.l8 = TCNGCNUnit(128, 256, stride=2, num_point=v)
        self.l9 = TCNGCNUnit(256, 256, num_point=v)
        self.l10 = TCNGCNUnit(256, 256, num_point=v)
        self.fc: nn.Linear | None = None
        if num_class > 0:
            self.fc = nn.Linear(256, num_class)
            nn.init.normal_(self.fc.weight, 0, float(np.sqrt(2.0 / num_class)))

    def hparams(self) -> dict:
        """Constructor arguments, for checkpoint metadata."""
        return {"num_class": self.num_class, "num_point": self.num_point, "num_person": self.num_person,
                "in_channels": self.in_channels}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v, m = x.shape
        if c != self.in_channels or v != self.num_point or m != self.num_person:
            raise ValueError(f"Shift-GCN expects input [N, {self.in_channels}, T, {self.num_point}, "
                             f"{self.num_person}], got {list(x.shape)}")
        if t % 4 != 0:
            # Each stride-2 stage halves T in the shift (T // 2) and in the residual conv (ceil(T / 2));
            # they disagree for odd lengths, so both halvings need an even length.
            raise UserError(f"Shift-GCN needs a window length divisible by 4, got T={t}",
                            fix=f"use {t - t % 4} or {t - t % 4 + 4} frames (the released weights use 300)")
        # data_bn normalises each (person, joint, coordinate) channel: 150 = 2 x 25 x 3.
        x = x.permute(0, 4, 3, 1, 2).reshape(n, m * v * c, t)
        x = self.data_bn(x)
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        for layer in (self.l1, self.l2, self.l3, self.l4, self.l5, self.l6, self.l7, self.l8, self.l9,
                      self.l10):
            x = layer(x)
        c_new = x.shape[1]
        return x.reshape(n, m, c_new, -1).mean(3).mean(1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat = self.features(x)
        logits = self.fc(feat) if self.fc is not None else feat[:, :0]
        return feat, logits
