"""PoseC3D X3D-shallow (pyskl) in plain PyTorch, fed 2-D keypoints: it draws its own pseudo-heatmaps in-graph.

pyskl (kennymckormick/pyskl) classifies a pseudo-heatmap volume ``[N, 17, T, H, W]`` drawn from COCO-17
keypoints in its data pipeline. Here the drawing is part of the model (:class:`PseudoHeatmap`), so the
input is keypoints ``[N, 3, T, 17, M]`` like the GCN backbones', and the whole thing, heatmaps included,
exports to ONNX (opset 17) as plain ops: Exp, Floor/Ceil, Where, Max, Gather, Conv (BN folded), Relu,
ReduceMean, Gemm.

Pipeline (pyskl test config of ``configs/posec3d/x3d_shallow_ntu60_xsub/joint.py``):

1. :func:`keypoints_to_model_input` (numpy, before the graph): ``UniformSampleFrames(clip_len=48,
   num_clips=1, test_mode=True)``, ``PoseCompact(hw_ratio=1, allow_imgpad=True)`` (padding 0.25,
   threshold 10) and ``Resize((64, 64), keep_ratio=False)``.
2. :class:`PseudoHeatmap` (in the graph): ``GeneratePoseTarget(sigma=0.6, use_score=True, with_kp=True,
   with_limb=False)``, optionally ``double=True`` (the left-right flipped volume as a second pass).
3. :class:`X3D`: pyskl ``X3D(gamma_d=1, in_channels=17, base_channels=24, num_stages=3,
   stage_blocks=(2, 5, 3), spatial_strides=(2, 2, 2), se_ratio=None, use_swish=False)`` + ``I3DHead``
   (global average pool, dropout 0.5, ``fc`` 216 -> classes); 254,508 parameters for 60 classes.

Deviations from pyskl, with their size:

- Heatmaps: none in value. pyskl evaluates each Gaussian only for pixels ``int(mu - 3 sigma) .. int(mu
  + 3 sigma)`` (``int`` truncates toward zero); the same box is applied here as a mask, so the volume
  matches pyskl's to float32 rounding (max abs difference 1.2e-7 in the test, against numpy written
  from the pyskl definition). The box is lopsided (it reaches 1.8 - 2.8 px below the centre but only
  0.8 - 1.8 px above), so drawing the full Gaussian instead would differ by up to exp(-4.5) = 0.011 of
  the peak: that is why it is reproduced.
- ``double``: pyskl flips the drawn volume (``heatmap[..., ::-1]``, i.e. pixel u -> W - 1 - u, not the
  x -> W - x of its training-time keypoint ``Flip``; then swaps the left/right keypoint maps) and averages the softmax probabilities of both passes
  (``average_clips='prob'``). Here the flip is the same, but the two passes' features are averaged
  (and so their logits, ``fc`` being linear), so ``forward`` still returns logits. Top-1 can differ
  from pyskl's only where the two passes disagree strongly; on the six NTU samples it did not.
- Pre-graph, a keypoint counts as present when its score is > 0 (pyskl: when its coordinate is non-zero;
  the same on pyskl's data, where missing keypoints and absent persons are zeros with score 0), and a
  clip whose keypoints span under 10 pixels is boxed by a square of 12.5 pixels around them unless
  ``img_shape`` is given (pyskl then resizes the whole image, whose size it knows).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from dvta_live.skeleton.posec3d import keypoints_to_model_input, uniform_sample_test  # noqa: F401 (re-exported)

NUM_KEYPOINTS = 17
# COCO-17 left / right keypoints (eyes, ears, shoulders, elbows, wrists, hips, knees, ankles): the
# pyskl config's left_kp / right_kp, swapped by the flip.
LEFT_KP = (1, 3, 5, 7, 9, 11, 13, 15)
RIGHT_KP = (2, 4, 6, 8, 10, 12, 14, 16)
# pyskl GeneratePoseTarget skips keypoints scored below this (heatmap_related.EPS).
SCORE_EPS = 1e-3

SUPPORTED = ("pyskl PoseC3D X3D-shallow: Recognizer3D with X3D(gamma_d=1, in_channels=17, base_channels=24, "
             "num_stages=3, stage_blocks=(2, 5, 3), spatial_strides=(2, 2, 2), se_ratio=None, "
             "use_swish=False) and I3DHead(in_channels=216), e.g. x3d_shallow_ntu60_xsub")


def flip_order(num_keypoints: int = NUM_KEYPOINTS) -> list[int]:
    """Keypoint map order of the flipped volume: each left keypoint takes its right twin's map."""
    order = list(range(num_keypoints))
    for left, right in zip(LEFT_KP, RIGHT_KP, strict=True):
        order[left], order[right] = right, left
    return order


def flush_subnormal(t: torch.Tensor) -> torch.Tensor:
    """``t`` with subnormal float values (|v| < 1.2e-38) set to 0.

    The released X3D-shallow weights are mostly subnormal (220,206 of 254,508 parameters; weight decay
    on unused channels), and x86 CPUs compute with subnormals at a fraction of the speed: one forward
    took 730 ms instead of about 60 ms on one thread. Zeroing them changes each weight by under 1.2e-38
    (the NTU samples' logits did not change at all).
    """
    if not t.is_floating_point():
        return t
    return torch.where(t.abs() < torch.finfo(t.dtype).tiny, torch.zeros_like(t), t)


def _flush_after_load(module: nn.Module, incompatible_keys) -> None:
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            t.copy_(flush_subnormal(t))


def _trunc(a: torch.Tensor) -> torch.Tensor:
    """C ``int()`` of pyskl's box bounds (toward zero), from Floor/Ceil/Where: ONNX opset 17 has no Trunc."""
    return torch.where(a < 0, torch.ceil(a), torch.floor(a))


class PseudoHeatmap(nn.Module):
    """Keypoints ``[N, 3, T, V, M]`` (x, y in pixels of a ``size`` grid; score) -> ``[N, V, T, size, size]``.

    pyskl ``GeneratePoseTarget(with_kp=True, use_score=True)``: per keypoint and person
    ``score * exp(-((u - x)^2 + (v - y)^2) / (2 sigma^2))`` inside pyskl's 3-sigma box, persons combined
    with an element-wise max (over 0), scores below 1e-3 skipped. The 2-D Gaussian is the product of
    two 1-D ones, so only ``V * T * M * 2 * size`` exponentials are evaluated. No parameters or buffers:
    the state dict is the network's alone.
    """

    def __init__(self, size: int = 64, sigma: float = 0.6) -> None:
        super().__init__()
        self.size = size
        self.sigma = sigma

    def _axis(self, mu: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        """1-D Gaussian along one axis [..., size], zero outside pyskl's box around ``mu`` [...]."""
        mu = mu[..., None]
        reach = 3 * self.sigma
        inside = (grid >= torch.floor(mu - reach)) & (grid <= _trunc(mu + reach))
        d = grid - mu
        return torch.exp(d * d * (-0.5 / self.sigma ** 2)) * inside.to(mu.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The lower bound can use floor: below 0 both floor and trunc admit every pixel u >= 0.
        grid = torch.arange(self.size, dtype=x.dtype, device=x.device)
        kp = x.permute(0, 3, 2, 4, 1)  # [N, V, T, M, 3]: the heatmap volume comes out in NCTHW order
        score = kp[..., 2]
        score = score * (score >= SCORE_EPS).to(x.dtype)
        gx = self._axis(kp[..., 0], grid)  # [N, V, T, M, W]
        gy = self._axis(kp[..., 1], grid) * score[..., None]  # [N, V, T, M, H]
        heat = gy[..., 0, :, None] * gx[..., 0, None, :]
        for m in range(1, x.shape[-1]):
            heat = torch.maximum(heat, gy[..., m, :, None] * gx[..., m, None, :])
        return heat


class ConvBN(nn.Module):
    """mmcv ``ConvModule`` as pyskl's X3D builds it: bias-free Conv3d, optional BN3d, optional ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int | tuple[int, int, int], stride=1, padding=0,
                 groups: int = 1, bn: bool = True, relu: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, kernel, stride=stride, padding=padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm3d(cout) if bn else None
        self.relu = nn.ReLU(inplace=True) if relu else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.relu is not None:
            x = self.relu(x)
        return x


class BlockX3D(nn.Module):
    """pyskl ``BlockX3D`` without SE and swish: 1x1x1 -> depthwise 3x3x3 (spatial stride) -> 1x1x1, residual."""

    def __init__(self, cin: int, planes: int, cout: int, spatial_stride: int = 1) -> None:
        super().__init__()
        self.conv1 = ConvBN(cin, planes, 1)
        self.conv2 = ConvBN(planes, planes, 3, stride=(1, spatial_stride, spatial_stride), padding=1,
                            groups=planes, relu=False)
        self.conv3 = ConvBN(planes, cout, 1, relu=False)
        self.downsample = None
        if spatial_stride != 1 or cin != cout:
            self.downsample = ConvBN(cin, cout, 1, stride=(1, spatial_stride, spatial_stride), relu=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv3(self.conv2(self.conv1(x))) + identity)


class X3D(nn.Module):
    """PoseC3D X3D-shallow on keypoints ``[N, 3, T, 17, M]`` (x, y in heatmap pixels, score in [0, 1]).

    ``forward`` returns ``(feature [N, 216], logits [N, num_class])``, the order of
    :class:`~dvta_live.backbone.shiftgcn.ShiftGCN`; the feature is the global average pool before the
    head's dropout and ``fc``. ``num_class=0`` drops the head (logits [N, 0]). ``double=True`` adds
    pyskl's flipped second pass and averages the two features (see the module docstring). T is free
    (48 in training); M is any number of persons.
    """

    arch = "x3d"
    pooled_dim = 216  # conv5's channels, pooled: the classifier's input
    # the feature the DVTA head takes: the pooled 216 and 40 zeros, since the released head's visual
    # projector has a 256-wide residual layer (the head stays exactly as released)
    feature_dim = 256
    # pyskl X3D-shallow with gamma_w=1, gamma_b=2.25, gamma_d=1: (stage width, bottleneck, blocks).
    STAGES = ((24, 54, 2), (48, 108, 5), (96, 216, 3))

    def __init__(self, num_class: int = 60, heatmap_size: int = 64, double: bool = False,
                 sigma: float = 0.6, dropout: float = 0.5) -> None:
        super().__init__()
        self.num_class = num_class
        self.heatmap_size = heatmap_size
        self.double = double
        self.sigma = sigma
        self.dropout_ratio = dropout
        self.heatmap = PseudoHeatmap(heatmap_size, sigma)
        self.register_buffer("_flip", torch.tensor(flip_order(), dtype=torch.long), persistent=False)
        base = self.STAGES[0][0]
        self.conv1_s = ConvBN(NUM_KEYPOINTS, base, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bn=False,
                              relu=False)
        self.conv1_t = ConvBN(base, base, (5, 1, 1), padding=(2, 0, 0), groups=base)
        cin = base
        for i, (width, planes, blocks) in enumerate(self.STAGES):
            layer = [BlockX3D(cin if b == 0 else width, planes, width, 2 if b == 0 else 1) for b in range(blocks)]
            self.add_module(f"layer{i + 1}", nn.Sequential(*layer))
            cin = width
        self.conv5 = ConvBN(cin, self.pooled_dim, 1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc: nn.Linear | None = nn.Linear(self.pooled_dim, num_class) if num_class > 0 else None
        self._init_weights()
        # Any load (pyskl import, project checkpoint) leaves no subnormal weights: see flush_subnormal.
        self.register_load_state_dict_post_hook(_flush_after_load)

    def _init_weights(self) -> None:
        """pyskl's from-scratch init: Kaiming convs, unit BN, zero last BN of each block, fc std 0.01."""
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, BlockX3D):
                nn.init.zeros_(m.conv3.bn.weight)
        if self.fc is not None:
            nn.init.normal_(self.fc.weight, 0, 0.01)
            nn.init.zeros_(self.fc.bias)

    def hparams(self) -> dict:
        """Constructor arguments, for checkpoint metadata."""
        return {"num_class": self.num_class, "heatmap_size": self.heatmap_size, "double": self.double,
                "sigma": self.sigma, "dropout": self.dropout_ratio}

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 5 or x.shape[1] != 3 or x.shape[3] != NUM_KEYPOINTS:
            raise ValueError(f"X3D expects keypoints [N, 3, T, {NUM_KEYPOINTS}, M] (x, y, score; COCO-17), "
                             f"got {list(x.shape)}")

    def volume_features(self, heat: torch.Tensor) -> torch.Tensor:
        """Pooled feature [N, 216] of a heatmap volume [N, 17, T, H, W] (pyskl's backbone + pool)."""
        x = self.conv1_t(self.conv1_s(heat))
        x = self.conv5(self.layer3(self.layer2(self.layer1(x))))
        return x.mean(dim=(2, 3, 4))

    def pooled_features(self, x: torch.Tensor) -> torch.Tensor:
        """[N, 216] pooled feature (pyskl's, before the classifier's dropout)."""
        self._check(x)
        heat = self.heatmap(x)
        if not self.double:
            return self.volume_features(heat)
        n = heat.shape[0]
        flipped = torch.index_select(heat, 4, torch.arange(heat.shape[4] - 1, -1, -1, device=heat.device))
        flipped = torch.index_select(flipped, 1, self._flip)
        feat = self.volume_features(torch.cat([heat, flipped], dim=0))
        return (feat[:n] + feat[n:]) * 0.5

    def _head_width(self, pooled: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.pad(pooled, (0, self.feature_dim - self.pooled_dim))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """[N, 256]: the pooled 216-d feature, zero-padded to the DVTA head's width."""
        return self._head_width(self.pooled_features(x))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = self.pooled_features(x)  # once: the classifier reads it unpadded
        feat = self._head_width(pooled)
        logits = self.fc(self.dropout(pooled)) if self.fc is not None else pooled[:, :0]
        return feat, logits


# --- pyskl checkpoints ------------------------------------------------------------------------------------

def convert_pyskl_state_dict(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """pyskl X3D-shallow state dict (or the whole ``torch.load`` dict) -> :class:`X3D` keys.

    ``backbone.X`` -> ``X``, ``cls_head.fc_cls.X`` -> ``fc.X`` (``module.`` prefixes dropped), subnormal
    values zeroed (:func:`flush_subnormal`). Every key
    and shape is checked against ``X3D(num_class=<fc_cls rows>)``; anything else is a ``ValueError``
    naming the supported model, so a ResNet3dSlowOnly or GCN checkpoint is refused, not half-loaded.
    """
    if isinstance(sd, Mapping) and isinstance(sd.get("state_dict"), Mapping):
        sd = sd["state_dict"]
    if not isinstance(sd, Mapping) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise ValueError(f"not a state dict of tensors; supported: {SUPPORTED}")
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        k = str(key)
        while k.startswith("module."):
            k = k[len("module."):]
        if k.startswith("backbone."):
            k = k[len("backbone."):]
        elif k.startswith("cls_head.fc_cls."):
            k = "fc." + k[len("cls_head.fc_cls."):]
        out[k] = flush_subnormal(value)
    fc = out.get("fc.weight")
    num_class = int(fc.shape[0]) if fc is not None and fc.dim() == 2 else 0
    want = {k: tuple(v.shape) for k, v in X3D(num_class=num_class).state_dict().items()}
    missing = sorted(set(want) - set(out))
    unexpected = sorted(set(out) - set(want))
    wrong = sorted(k for k in set(want) & set(out) if tuple(out[k].shape) != want[k])
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
        if wrong:
            k = wrong[0]
            parts.append(f"{len(wrong)} of another shape (e.g. {k}: {list(out[k].shape)}, "
                         f"X3D-shallow needs {list(want[k])})")
        raise ValueError(f"not a pyskl X3D-shallow checkpoint: tensors {'; '.join(parts)}. "
                         f"Supported: {SUPPORTED}")
    return out


def x3d_from_pyskl(sd: Mapping[str, torch.Tensor], **kwargs) -> X3D:
    """An eval-mode :class:`X3D` with a pyskl checkpoint's weights (``kwargs``: heatmap_size, double...)."""
    state = convert_pyskl_state_dict(sd)
    model = X3D(num_class=int(state["fc.weight"].shape[0]) if "fc.weight" in state else 0, **kwargs)
    model.load_state_dict(state, strict=True)
    return model.eval()


# --- pre-graph steps (numpy) ------------------------------------------------------------------------------
