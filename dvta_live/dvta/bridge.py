"""The backbone's own classifier as a second opinion, matched to any labels file through text.

The official Shift-GCN weights end in a classifier over NTU RGB+D 120's actions, learnt from about 114,000
clips; the DVTA head learns from the few thousand clips here. On MediaPipe skeletons of real people that
classifier still names full-body actions (jump up 0.95 on tuck jumps, kicking something 0.73 on a football
kick), where a head fit to Kinect and mocap features does not (bench/results/real_video_ablation.md). The
bridge turns the classifier's probabilities into scores for the labels, zero-shot, as ConSE does (Norouzi
et al., ICLR 2014): the probability-weighted mean of the classifier's class texts (their contexts, encoded
by the head's text model) is compared with each label's context:

    prior_c = cos(sum_k p_k t_k, ctx_c) / temperature
    scores  = head scores + weight * log_softmax(prior)

so softmax(scores) is the head's distribution times the bridge's to the power ``weight``, renormalised (a
product of experts). It lives in the head (``DVTAHead.bridge``, saved in the head file with a copy of the
classifier), so every runtime and export scores with it; a head without one scores exactly as released.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# BRIDGE_WEIGHT (1.5, kept in dvta_live.conventions for the command line's help): chosen on skeleton data
# (scripts/build_default_model.py's held-out check, bench/results/bridge_weight.md), not on the real-video
# clips, which only measure.
from dvta_live.conventions import BRIDGE_WEIGHT
from dvta_live.labels.bundled import bundled_labels
from dvta_live.labels.loader import load_labels
from dvta_live.labels.schema import Action, Labels, name_key

DEFAULT_TEMPERATURE = 0.1


class ClassifierBridge(nn.Module):
    """``bridge(features [B, F], context [C, D]) -> [B, C]``: weight * log_softmax of the ConSE prior.

    Buffers, not parameters: the bridge is attached to a trained head and never trained itself."""

    def __init__(self, num_classes: int, feature_dim: int, text_dim: int, weight: float = BRIDGE_WEIGHT,
                 temperature: float = DEFAULT_TEMPERATURE) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"bridge temperature must be positive, got {temperature}")
        self.register_buffer("classifier_weight", torch.zeros(num_classes, feature_dim))
        self.register_buffer("classifier_bias", torch.zeros(num_classes))
        self.register_buffer("class_text", torch.zeros(num_classes, text_dim))  # unit rows
        self.register_buffer("weight", torch.tensor(float(weight)))
        self.register_buffer("temperature", torch.tensor(float(temperature)))

    @property
    def num_classes(self) -> int:
        return int(self.class_text.shape[0])

    def forward(self, features: Tensor, context: Tensor) -> Tensor:
        p = torch.softmax(F.linear(features, self.classifier_weight, self.classifier_bias), dim=-1)
        mean_text = F.normalize(p @ self.class_text, dim=-1)  # [B, D]
        prior = mean_text @ context.t() / self.temperature  # context rows are unit: a cosine
        return self.weight * torch.log_softmax(prior, dim=-1)


def make_bridge(classifier: nn.Linear, class_text: Tensor, weight: float = BRIDGE_WEIGHT,
                temperature: float = DEFAULT_TEMPERATURE) -> ClassifierBridge:
    """A bridge holding a copy of ``classifier`` (features -> K logits) and its K class texts [K, D]."""
    k, f = classifier.weight.shape
    if class_text.shape[0] != k:
        raise ValueError(f"{class_text.shape[0]} class texts for a classifier of {k} classes")
    bridge = ClassifierBridge(k, f, int(class_text.shape[1]), weight, temperature)
    with torch.no_grad():
        bridge.classifier_weight.copy_(classifier.weight.detach().float().cpu())
        if classifier.bias is not None:
            bridge.classifier_bias.copy_(classifier.bias.detach().float().cpu())
        bridge.class_text.copy_(F.normalize(class_text.detach().float().cpu(), dim=-1))
    return bridge


def classifier_of(backbone: nn.Module) -> nn.Linear | None:
    """The backbone's final classifier (features -> class logits), if it has one (a lifted backbone's is
    its Shift-GCN's)."""
    fc = getattr(backbone, "fc", None)
    if fc is None and hasattr(backbone, "gcn"):
        fc = getattr(backbone.gcn, "fc", None)
    if not isinstance(fc, nn.Linear):
        return None
    width = int(getattr(backbone, "feature_dim", fc.in_features))
    if fc.in_features < width:  # X3D: 216 pooled values zero-padded to the head's 256; zero columns, same logits
        wide = nn.Linear(width, fc.out_features)
        with torch.no_grad():
            wide.weight.zero_()
            wide.weight[:, : fc.in_features] = fc.weight
            wide.bias.copy_(fc.bias)
        return wide
    return fc


def class_texts(class_names: tuple[str, ...] | list[str], encoder: object) -> Tensor:
    """[K, D] context embeddings of a classifier's classes: the context a bundled labels file gives each
    name (ntu120, everyday: same name, case and quotes ignored), else the name itself."""

    known: dict[str, Action] = {}
    for path in bundled_labels().values():
        for action in load_labels(path).actions:
            for name in (action.name, *action.aliases):
                known.setdefault(_name_key(name), action)
    actions = tuple(Action(name=n, context=known[_name_key(n)].context if _name_key(n) in known else (n,))
                    for n in class_names)
    text = encoder.encode_labels(Labels(actions=actions))  # type: ignore[attr-defined]
    return torch.from_numpy(text.embeddings[:, 1].copy())


def _name_key(name: str) -> str:

    return name_key(name.rstrip("."))


__all__ = [
    "BRIDGE_WEIGHT",
    "DEFAULT_TEMPERATURE",
    "ClassifierBridge",
    "class_texts",
    "classifier_of",
    "make_bridge",
]
