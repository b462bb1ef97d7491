"""The whole recogniser: skeleton windows [B, 3, T, 25, 2] + text [C, 2, D] -> scores [B, C].

A model is a folder holding the two parts as their own commands write them::

    model/
      backbone.safetensors   dvta backbone import / dvta train-backbone (weights, recipe, layout)
      head.safetensors       dvta train-head (weights; text model, classes, metrics in the metadata)
      head.json              the head's metadata, human-readable (optional)

``load_model_net`` also takes a head file alone when its metadata names the backbone its features came
from (``dvta extract-features`` records it), so a trained head can be run without packing a folder.

The backbone's recipe is *the* preprocessing: the live loop, evaluation and export all call
``info.recipe.apply`` on raw NTU-25 skeletons before ``ModelNet``; the module itself starts at the
recipe's output, so an exported graph computes exactly what PyTorch does on the same input.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from dvta_live.backbone.checkpoint import DEFAULT_RECIPES, build_backbone, load_backbone, save_backbone
from dvta_live.dvta.bridge import BRIDGE_WEIGHT, DEFAULT_TEMPERATURE, class_texts, classifier_of, make_bridge
from dvta_live.dvta.head import DVTAHead
from dvta_live.dvta.headfile import (
    BridgeInfo,
    ClassText,
    HeadClasses,
    HeadInfo,
    HeadShape,
    TextInfo,
    load_head,
    read_head_info,
    save_head,
    sidecar_path,
)
from dvta_live.errors import UserError
from dvta_live.labels.encoder import get_encoder
from dvta_live.outputs import atomic_path, check_output, file_sha256
from dvta_live.skeleton.recipe import Recipe

BACKBONE_FILE = "backbone.safetensors"
HEAD_FILE = "head.safetensors"
_MODEL_FIX = ("give a model folder with backbone.safetensors and head.safetensors, or a head trained with "
              "dvta train-head on features from dvta extract-features")


@dataclass(frozen=True)
class ModelInfo:
    """What a runtime, the live loop and export need to know about a model (immutable)."""

    path: Path  # the folder or head file it was loaded from
    backbone_path: Path
    head_path: Path
    architecture: str  # "shiftgcn" | "stgcn"
    recipe: Recipe
    feature_dim: int
    text_model: str  # the sentence-transformers model the head was trained with
    text_dim: int
    training_classes: tuple[str, ...]  # the class names the head saw in training (seen classes)
    head_info: HeadInfo
    backbone_metadata: dict[str, Any]

    @property
    def window(self) -> int:
        return self.recipe.window

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: what exported models carry beside their graph."""
        return {"architecture": self.architecture, "recipe": self.recipe.to_dict(),
                "feature_dim": self.feature_dim, "text_model": self.text_model, "text_dim": self.text_dim,
                "training_classes": list(self.training_classes), "layout": self.recipe.layout,
                "input": {"skeleton": ["B", *self.recipe.input_shape], "text": ["C", 2, self.text_dim]}}


class ModelNet(nn.Module):
    """Backbone + DVTA head as one torch module: ``forward(windows, text) -> scores [B, C]``. (The
    user-facing recogniser, with a runtime and labels, is ``dvta_live.Recognizer``.)

    ``windows`` is the recipe's output [B, 3, window, 25, 2]. ``features`` and ``head.encode_text`` /
    ``head.score`` expose the two halves, so a live loop encodes the labels once per labels file.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def features(self, windows: Tensor) -> Tensor:
        feature, _ = self.backbone(windows)
        return feature

    def forward(self, windows: Tensor, text: Tensor) -> Tensor:
        return self.head(self.features(windows), text)


# The two bundled models, by the plane of the poses they take: "camera" for 2-D image keypoints (what a
# webcam, a video or a stream gives through MediaPipe), "skeleton" for 3-D joints (skeleton files, Kinect,
# mocap, a depth camera). Folder names under dvta_live/assets.
BUNDLED = {"camera": "camera-model", "skeleton": "model"}
# pose.sources.check_source kinds whose poses are estimated from images alone
IMAGE_SOURCES = ("webcam", "stream", "video")


def bundled_model_path(name: str = "skeleton") -> Path:
    """Where a bundled model ships inside the package: ``camera`` (``dvta_live/assets/camera-model``) or
    ``skeleton`` (``dvta_live/assets/model``)."""
    from importlib.resources import files

    return Path(str(files("dvta_live").joinpath("assets", BUNDLED[name])))


def bundled_model_for(source_kind: str | None) -> tuple[str, Path, str]:
    """(name, folder, why) of the bundled model for a source kind (``check_source``'s; None: the bundled
    demo, a skeleton replay): the camera model for images, the skeleton model for 3-D joints."""
    if source_kind in IMAGE_SOURCES:
        camera = bundled_model_path("camera")
        if (camera / HEAD_FILE).is_file():
            return "camera", camera, f"2-D keypoints: a {source_kind} gives images"
    what = f"a {source_kind}" if source_kind else "the bundled demo"
    return "skeleton", bundled_model_path("skeleton"), f"3-D joints: {what} gives them"


def default_model(path: str | Path | None, source_kind: str | None = None) -> Path:
    """``path`` (a bundled model's name, ``camera`` or ``skeleton``, where no such file exists), or when
    None the bundled model for ``source_kind`` (:func:`bundled_model_for`); a clear error when there is
    none."""
    if path is not None:
        if str(path) in BUNDLED and not Path(path).exists():
            return bundled_model_path(str(path))
        return Path(path)
    _, bundled, _ = bundled_model_for(source_kind)
    if not (bundled / HEAD_FILE).is_file():
        raise UserError("no --model given and this installation has no bundled default model", bundled,
                        "pass --model MODEL_FOLDER (backbone.safetensors + head.safetensors)")
    return bundled


def resolve_model_paths(path: str | Path) -> tuple[Path, Path]:
    """(backbone, head) files of a model folder or of a head file that records its backbone."""
    p = Path(path)
    if p.is_dir():
        backbone, head = p / BACKBONE_FILE, p / HEAD_FILE
        missing = [f.name for f in (backbone, head) if not f.is_file()]
        if missing:
            raise UserError(f"model folder lacks {' and '.join(missing)}", p, _MODEL_FIX)
        return backbone, head
    if not p.is_file():
        raise UserError("no such model", p, _MODEL_FIX)

    recorded = read_head_info(p).feature_backbone
    if not recorded:
        raise UserError("this head does not record which backbone made its features", p, _MODEL_FIX)
    for candidate in (Path(recorded), p.parent / recorded, p.parent / Path(recorded).name):
        if candidate.is_file():
            return candidate, p
    raise UserError(f"the backbone this head was trained on ({recorded}) is not there", p,
                    f"put {Path(recorded).name} beside the head, or pack both into a model folder")


def _load_pair(backbone_path: Path, head_path: Path) -> tuple[nn.Module, Any, Any, HeadInfo]:
    """Backbone and head, refused (naming the head) when the head's features came from another kind of
    backbone: same width is not enough, a Shift-GCN head on ST-GCN features gives wrong scores silently."""

    backbone, binfo = load_backbone(backbone_path)
    head, info = load_head(head_path)
    if int(binfo.feature_dim) != int(head.skeleton_dim):
        raise UserError(f"backbone gives {binfo.feature_dim}-d features, the head takes {head.skeleton_dim}-d",
                        head_path, "train the head on features from this backbone")
    arch = info.feature_architecture
    if arch and arch != binfo.architecture:
        raise UserError(f"this head was trained on {arch} features, the backbone {backbone_path} is "
                        f"{binfo.architecture}", head_path, "pack it with the backbone its features came from")
    recipe, own = info.feature_recipe, binfo.recipe_name
    if recipe and own and recipe != own:
        raise UserError(f"this head was trained on features of recipe {recipe}, the backbone {backbone_path} "
                        f"uses {own}", head_path, "pack it with the backbone its features came from")
    return backbone, binfo, head, info


def load_model_net(path: str | Path, device: str | torch.device = "cpu") -> tuple[ModelNet, ModelInfo]:
    """A model folder (or head file) -> the eval-mode module and its info. Mismatched parts are refused."""

    backbone_path, head_path = resolve_model_paths(path)
    backbone, binfo, head, hinfo = _load_pair(backbone_path, head_path)
    info = ModelInfo(
        path=Path(path), backbone_path=backbone_path, head_path=head_path, architecture=binfo.architecture,
        recipe=binfo.make_recipe(), feature_dim=int(binfo.feature_dim),
        text_model=hinfo.text.model, text_dim=int(head.text_dim), training_classes=hinfo.training_classes,
        head_info=hinfo, backbone_metadata={"architecture": binfo.architecture, "hparams": binfo.hparams,
                                               "recipe": binfo.recipe, "source": binfo.source})
    model = ModelNet(backbone, head).to(device).eval()
    return model, info


def pack_model(backbone: str | Path, head: str | Path, out: str | Path, *, bridge_weight: float | None = None,
               bridge_temperature: float | None = None) -> Path:
    """Copy a backbone and a head into one model folder, after checking that they load together.

    With ``bridge_weight`` > 0 (None: the default weight when the backbone has a classifier), the head
    is written with the backbone's classifier attached as a bridge (``dvta.bridge``); 0 packs the head
    as trained (any bridge it had removed). The pair is checked before anything is written, and each
    file is written atomically, so a refused pair leaves no half model folder and an existing model is
    never left mixed."""
    import shutil


    backbone, head, folder = Path(backbone), Path(head), Path(out)
    side = sidecar_path(head)
    copies = [(backbone, folder / BACKBONE_FILE)]
    check_output(folder, inputs=[backbone, head, side], folder=True,
                 files=[BACKBONE_FILE, HEAD_FILE, sidecar_path(folder / HEAD_FILE).name])
    backbone_model, binfo, head_model, info = _load_pair(backbone, head)  # refuses a pair that does not fit
    classifier = classifier_of(backbone_model)
    if bridge_weight is not None and bridge_weight < 0:
        raise UserError(f"the bridge weight must be 0 or more, got {bridge_weight}", fix="e.g. --bridge-weight 1")
    if bridge_weight is not None and bridge_weight > 0 and (classifier is None or not binfo.class_names):
        raise UserError("this backbone has no classifier with class names to bridge", backbone,
                        "pack without --bridge-weight, or with --bridge-weight 0")
    bridgeable = classifier is not None and bool(binfo.class_names)
    if bridge_weight is None:
        weight = BRIDGE_WEIGHT if bridgeable else 0.0
    else:
        weight = float(bridge_weight)
    rewrite = weight > 0 or head_model.bridge is not None
    if rewrite:  # the head file is rewritten: with this backbone's classifier, or without any bridge
        head_model.bridge, bridge = None, None
        if weight > 0:
            head_model.bridge = _bridge_for(classifier, binfo.class_names, info.text.model, weight,
                                            DEFAULT_TEMPERATURE if bridge_temperature is None else bridge_temperature)
            bridge = BridgeInfo(classes=head_model.bridge.num_classes, weight=weight,
                                temperature=float(head_model.bridge.temperature),
                                class_names=tuple(binfo.class_names), backbone=binfo.source or str(backbone),
                                method="ConSE over the backbone's classifier")
        info = replace(info, head=replace(info.head, bridge=bridge))
        save_head(folder / HEAD_FILE, head_model, info, half=info.storage_dtype == "float16")
    else:
        copies.append((head, folder / HEAD_FILE))
        if side.is_file():
            copies.append((side, sidecar_path(folder / HEAD_FILE)))
    for src, dst in copies:
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
    if not rewrite and not side.is_file():  # a stale sidecar of an earlier head would describe the wrong head
        sidecar_path(folder / HEAD_FILE).unlink(missing_ok=True)
    load_model_net(folder)
    return folder


def _bridge_for(classifier: nn.Linear, class_names: tuple[str, ...], text_model: str, weight: float,
                temperature: float) -> nn.Module:

    return make_bridge(classifier, class_texts(class_names, get_encoder(text_model or None)), weight, temperature)


def save_untrained_model(folder: str | Path, architecture: str = "stgcn", text_dim: int = 384,
                         recipe: str | None = None, seed: int = 0,
                         class_names: tuple[str, ...] = ("a", "b")) -> Path:
    """A freshly initialised model folder (random weights): for plumbing and export-parity tests, and a
    starting point to train from. It recognises nothing."""

    torch.manual_seed(seed)
    folder = Path(folder)
    hparams = {"num_class": 0} if architecture == "stgcn" else {"num_class": len(class_names)}
    backbone = build_backbone(architecture, hparams).eval()
    save_backbone(folder / BACKBONE_FILE, backbone, recipe or DEFAULT_RECIPES[architecture],
                  source="untrained (random initialisation)")
    feature_dim = int(backbone.feature_dim)  # 256 (GCNs) or 216 (X3D)
    head = DVTAHead(text_dim=text_dim, skeleton_dim=feature_dim).eval()
    info = HeadInfo(
        head=HeadShape(text_dim=text_dim, metric_hidden=head.metric_hidden, skeleton_dim=feature_dim),
        text=TextInfo(model="all-MiniLM-L6-v2", dim=text_dim, source="untrained", kind="class-names",
                      classes=tuple(ClassText(i, n, (n,)) for i, n in enumerate(class_names))),
        classes=HeadClasses(num_classes=len(class_names), seen=tuple(range(len(class_names)))))
    save_head(folder / HEAD_FILE, head, info)
    return folder


__all__ = [
    "BACKBONE_FILE",
    "BUNDLED",
    "HEAD_FILE",
    "IMAGE_SOURCES",
    "ModelInfo",
    "ModelNet",
    "bundled_model_for",
    "bundled_model_path",
    "default_model",
    "load_model_net",
    "pack_model",
    "resolve_model_paths",
    "save_untrained_model",
]


def model_sha256(info: ModelInfo) -> str:
    """One hash over the backbone and head files: what ties an exported graph or engine to its model."""

    h = hashlib.sha256()
    for path in (info.backbone_path, info.head_path):
        h.update(bytes.fromhex(file_sha256(path)))
    return h.hexdigest()
