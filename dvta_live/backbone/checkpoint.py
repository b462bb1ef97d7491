"""Backbone checkpoints: the official Shift-GCN releases, plain ST-GCN state dicts, and the project format.

Project format: one ``.safetensors`` file. The tensors are the model's ``state_dict``; the header's
metadata holds one JSON document under the key ``"dvta_live"`` (see :class:`BackboneInfo`): format and
version, architecture and its constructor arguments, joint layout, the preprocessing recipe (the full
``Recipe.to_dict()``, so a window override such as ``window=52`` travels with the weights), class
names, feature size and where the weights came from. ``read_backbone_info`` reads only the header.

Legacy imports (``torch.load(..., weights_only=True)``, so nothing in the file is executed):

- the official Shift-GCN joint-stream checkpoints (kchengiva/Shift-GCN ``save_models/*.pt``: plain
  ``OrderedDict`` of 302 tensors, ``data_bn`` of 150 = 2 persons x 3 x 25, ``fc`` 60 or 120 x 256);
- ST-GCN state dicts in the SMIE / AimCLR naming (``st_gcn_networks.*``), optionally inside a
  ``{"state_dict": ...}`` / ``{"model": ...}`` wrapper or behind a prefix such as ``module.`` or
  ``encoder_q.``.

Every failure (missing file, corrupt file, another model's weights, wrong shapes, NaN weights) is a
:class:`~dvta_live.errors.UserError` naming the file and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dvta_live.backbone.keypoint_gcn import KeypointGCN
from dvta_live.backbone.lifted import LiftedShiftGCN
from dvta_live.backbone.shiftgcn import ShiftGCN, spatial_shift_index
from dvta_live.backbone.stgcn import STGCN
from dvta_live.backbone.x3d import X3D, convert_pyskl_state_dict
from dvta_live.errors import UserError
from dvta_live.outputs import atomic_path, file_sha256
from dvta_live.skeleton.recipe import Recipe, get_recipe

FORMAT = "dvta_live.backbone"
FORMAT_VERSION = 1
METADATA_KEY = "dvta_live"
ARCHITECTURES: dict[str, type[nn.Module]] = {"shiftgcn": ShiftGCN, "stgcn": STGCN,
                                             "lifted-shiftgcn": LiftedShiftGCN, "x3d": X3D,
                                             "keypoint-gcn": KeypointGCN}
# the joint layout each architecture consumes: NTU-25 skeletons, or COCO-17 image keypoints with scores
LAYOUTS = {"shiftgcn": "ntu25", "stgcn": "ntu25", "lifted-shiftgcn": "ntu25", "x3d": "coco17",
           "keypoint-gcn": "coco17"}
LAYOUT = "ntu25"
DEFAULT_RECIPES = {"shiftgcn": "shiftgcn300", "stgcn": "smie50", "x3d": "posec3d48", "keypoint-gcn": "posec3d48"}

_IMPORT_FIX = ("pass an official Shift-GCN joint checkpoint (e.g. ntu120_ShiftGCN_joint_xsub.pt), an ST-GCN "
               "state dict, a pyskl PoseC3D X3D-shallow checkpoint, or a .safetensors backbone written by dvta-live")


def ntu_class_names(num_class: int) -> list[str] | None:
    """NTU-60 / NTU-120 names for a 60- or 120-way head, else None."""
    try:
        from dvta_live.skeleton.classnames import NTU60_CLASSES, NTU120_CLASSES
    except ImportError:  # pragma: no cover - names are optional metadata
        return None
    return {60: list(NTU60_CLASSES), 120: list(NTU120_CLASSES)}.get(num_class)


@dataclass
class BackboneInfo:
    """The JSON metadata stored with a backbone's weights."""

    architecture: str  # a key of ARCHITECTURES
    hparams: dict[str, Any]  # constructor arguments (model.hparams())
    recipe: dict[str, Any]  # Recipe.to_dict() of the preprocessing the weights expect
    feature_dim: int = 256
    layout: str = LAYOUT
    class_names: list[str] | None = None  # names of the logits, when the model has a head
    source: str = ""  # where the weights came from, for humans
    extra: dict[str, Any] = field(default_factory=dict)  # free-form (e.g. source sha256, training info)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def recipe_name(self) -> str:
        return str(self.recipe.get("name", ""))

    @property
    def num_class(self) -> int:
        return int(self.hparams.get("num_class", 0))

    def make_recipe(self) -> Recipe:
        return Recipe.from_dict(self.recipe)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, path: str | Path | None = None) -> BackboneInfo:
        """Parse and validate; problems raise UserError naming ``path``."""
        fix = "re-export the backbone with this version of dvta-live"
        try:
            data = json.loads(text)
        except ValueError as e:
            raise UserError(f"backbone metadata is not valid JSON ({e})", path, fix) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise UserError("backbone metadata is not in the dvta-live backbone format", path, fix)
        if data.get("format_version") != FORMAT_VERSION:
            raise UserError(f"backbone format version {data.get('format_version')!r} is not supported "
                            f"(this dvta-live reads version {FORMAT_VERSION})", path,
                            "upgrade dvta-live or " + fix)
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserError(f"unknown backbone metadata key(s): {', '.join(unknown)}", path, fix)
        try:
            info = cls(**data)
        except TypeError as e:
            raise UserError(f"incomplete backbone metadata ({e})", path, fix) from None
        info.validate(path)
        return info

    def validate(self, path: str | Path | None = None) -> None:
        fix = "re-export the backbone with this version of dvta-live"
        if self.architecture not in ARCHITECTURES:
            raise UserError(f"unknown backbone architecture {self.architecture!r}", path,
                            f"known: {', '.join(ARCHITECTURES)}")
        if self.layout != LAYOUTS[self.architecture]:
            raise UserError(f"backbone layout {self.layout!r} does not suit {self.architecture} (it takes "
                            f"{LAYOUTS[self.architecture]!r})", path, fix)
        if not isinstance(self.hparams, dict):
            raise UserError("backbone hparams must be a mapping", path, fix)
        if not isinstance(self.recipe, dict):
            raise UserError("backbone recipe must be a mapping (Recipe.to_dict())", path, fix)
        try:
            window = self.make_recipe().window
        except UserError as e:
            raise UserError(f"backbone recipe: {e}", path) from None
        if self.architecture in ("shiftgcn", "lifted-shiftgcn") and window % 4:
            raise UserError(f"recipe window {window} does not suit Shift-GCN (needs a multiple of 4)", path,
                            f"use window {window - window % 4 or 4} or {window - window % 4 + 4}")
        if self.class_names is not None:
            if (not isinstance(self.class_names, list)
                    or not all(isinstance(n, str) for n in self.class_names)):
                raise UserError("backbone class_names must be a list of strings", path, fix)
            if len(self.class_names) != self.num_class:
                raise UserError(f"backbone has {len(self.class_names)} class names for a "
                                f"{self.num_class}-way head", path, fix)


def build_backbone(architecture: str, hparams: Mapping[str, Any]) -> nn.Module:
    """A fresh model from an architecture name and its constructor arguments."""
    if architecture not in ARCHITECTURES:
        raise UserError(f"unknown backbone architecture {architecture!r}",
                        fix=f"known: {', '.join(ARCHITECTURES)}")
    try:
        return ARCHITECTURES[architecture](**dict(hparams))
    except TypeError as e:
        raise UserError(f"bad {architecture} hyper-parameters {dict(hparams)} ({e})") from None


def _recipe_dict(recipe: str | Recipe | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(recipe, Recipe):
        return recipe.to_dict()
    if isinstance(recipe, str):
        return get_recipe(recipe).to_dict()
    return Recipe.from_dict(dict(recipe)).to_dict()


def _check_finite(state: Mapping[str, torch.Tensor], path: Path) -> None:
    for k, v in state.items():
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise UserError(f"tensor {k!r} holds NaN or infinite values (a diverged or corrupt checkpoint)",
                            path, "use another checkpoint, e.g. an earlier epoch")


def _load_into(model: nn.Module, state: Mapping[str, torch.Tensor], path: Path, what: str) -> None:
    """Strict load with messages that say which tensors are missing, extra or mis-shaped."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"{len(missing)} of {len(own)} tensors missing (e.g. {', '.join(missing[:3])})")
        if extra:
            parts.append(f"{len(extra)} unexpected (e.g. {', '.join(extra[:3])})")
        raise UserError(f"not a {what} checkpoint: " + "; ".join(parts), path, _IMPORT_FIX)
    for k, v in own.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise UserError(f"tensor {k!r} has shape {list(state[k].shape)}, the {what} model needs "
                            f"{list(v.shape)}", path, _IMPORT_FIX)
    _check_finite(state, path)
    model.load_state_dict({k: state[k].to(own[k].dtype) for k in own}, strict=True)


# --- legacy PyTorch checkpoints -------------------------------------------------------------------------

def _numpy_data_globals() -> list:
    import numpy as np
    from numpy._core.multiarray import scalar

    dtypes = [type(np.dtype(c)) for c in "?bBhHiIlLqQefdgFDG"]
    return [(scalar, "numpy.core.multiarray.scalar"), np.dtype, *dtypes]


_NUMPY_DATA = _numpy_data_globals()


def _torch_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A flat {name: tensor} from a torch.save file, unwrapped and without DataParallel prefixes."""
    if not path.is_file():
        raise UserError("checkpoint not found", path, "check the path")
    try:
        # numpy scalars and dtypes are data (pyskl/mmcv checkpoints keep them in "meta"); nothing else runs
        with torch.serialization.safe_globals(_NUMPY_DATA):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for foreign or truncated files
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"cannot be read as a PyTorch state dict ({reason[:200]})", path,
                        _IMPORT_FIX) from None
    for key in ("state_dict", "model_state_dict", "model", "net", "weights"):
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UserError("holds no state dict of tensors", path, _IMPORT_FIX)
    state = {str(k): v for k, v in obj.items()}
    while state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def _strip_to(state: dict[str, torch.Tensor], anchor: str) -> dict[str, torch.Tensor] | None:
    """Keys under the prefix that precedes ``anchor`` (e.g. ``encoder_q.``), prefix removed."""
    for k in state:
        if k.endswith(anchor):
            prefix = k[: -len(anchor)]
            return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    return None


def _shiftgcn_from_state(state: dict[str, torch.Tensor], path: Path) -> ShiftGCN:
    try:
        in_channels, _ = state["l1.gcn1.Linear_weight"].shape
        num_point = state["l1.gcn1.Feature_Mask"].shape[1]
        bn = state["data_bn.weight"].shape[0]
        num_class = state["fc.weight"].shape[0] if "fc.weight" in state else 0
    except (KeyError, ValueError, IndexError) as e:
        raise UserError(f"not a Shift-GCN checkpoint (tensor {e} missing or malformed)", path,
                        _IMPORT_FIX) from None
    num_person = bn // (in_channels * num_point)
    if num_person * in_channels * num_point != bn or num_person < 1:
        raise UserError(f"data_bn has {bn} channels, not persons x {in_channels} x {num_point}", path,
                        _IMPORT_FIX)
    model = ShiftGCN(num_class=int(num_class), num_point=int(num_point), num_person=int(num_person),
                     in_channels=int(in_channels))
    _load_into(model, state, path, "Shift-GCN")
    # The spatial shifts are fixed permutations; other values mean another model's tensors.
    for name, mod in model.named_modules():
        if hasattr(mod, "shift_in") and isinstance(mod.shift_in, torch.Tensor):
            want_in = spatial_shift_index(mod.in_channels, mod.num_point, +1)
            want_out = spatial_shift_index(mod.out_channels, mod.num_point, -1)
            if not (torch.equal(mod.shift_in, want_in) and torch.equal(mod.shift_out, want_out)):
                raise UserError(f"{name}: spatial shift indices differ from Shift-GCN's", path, _IMPORT_FIX)
    return model


def _stgcn_from_state(state: dict[str, torch.Tensor], path: Path) -> STGCN:
    try:
        hidden_channels = state["st_gcn_networks.0.tcn.0.weight"].shape[0]
        in_channels = state["st_gcn_networks.0.gcn.conv.weight"].shape[1]
        hidden_dim = state["st_gcn_networks.9.tcn.0.weight"].shape[0]
    except KeyError as e:
        raise UserError(f"not an ST-GCN checkpoint (tensor {e} missing)", path, _IMPORT_FIX) from None
    num_class = state["fc.weight"].shape[0] if "fc.weight" in state else 0
    model = STGCN(in_channels=int(in_channels), hidden_channels=int(hidden_channels),
                  hidden_dim=int(hidden_dim),
                  num_class=int(num_class), edge_importance_weighting="edge_importance.0" in state)
    state = dict(state)
    if "A" not in state:  # some trainers drop the fixed graph buffer
        state["A"] = model.A.clone()
    elif state["A"].shape != model.A.shape or not torch.allclose(state["A"].float(), model.A, atol=1e-6):
        raise UserError("its graph 'A' is not ST-GCN's NTU-25 spatial partitioning", path, _IMPORT_FIX)
    _load_into(model, state, path, "ST-GCN")
    return model


def _x3d_from_state(state: dict[str, torch.Tensor], path: Path) -> X3D:
    """A pyskl Recognizer3D checkpoint: only the PoseC3D X3D-shallow on COCO-17 heatmaps is supported."""
    try:
        converted = convert_pyskl_state_dict(state)
    except ValueError as e:
        backbone = sorted({k.split(".")[1] for k in state if k.startswith("backbone.") and "." in k[9:]})[:3]
        raise UserError(f"a pyskl/mmaction2 checkpoint of another architecture (backbone layers "
                        f"{', '.join(backbone) or '?'}); supported: PoseC3D X3D-shallow (X3D gamma_d=1, "
                        "base_channels=24, stage_blocks=(2, 5, 3), in_channels=17) with an I3DHead", path,
                        "import x3d_shallow_ntu60_xsub_hrnet (pyskl posec3d x3d_shallow) or a Shift-GCN / ST-GCN "
                        "checkpoint") from e
    model = X3D(num_class=int(converted["fc.weight"].shape[0]) if "fc.weight" in converted else 0)
    _load_into(model, converted, path, "PoseC3D X3D")
    return model


def load_torch_checkpoint(path: str | Path, recipe: str | Recipe | Mapping[str, Any] | None = None
                          ) -> tuple[nn.Module, BackboneInfo]:
    """An official Shift-GCN ``.pt`` or an ST-GCN state dict -> (model in eval mode, metadata).

    ``recipe`` defaults to the architecture's published preprocessing (shiftgcn300 / smie50).
    """
    path = Path(path)
    state = _torch_state_dict(path)
    if (shift := _strip_to(state, "l1.gcn1.Linear_weight")) is not None:
        model: nn.Module = _shiftgcn_from_state(shift, path)
        source = f"Shift-GCN checkpoint {path.name} (kchengiva/Shift-GCN layout)"
    elif (st := _strip_to(state, "st_gcn_networks.0.gcn.conv.weight")) is not None:
        model = _stgcn_from_state(st, path)
        source = f"ST-GCN checkpoint {path.name} (SMIE/AimCLR layout)"
    elif any(k.startswith(("backbone.", "cls_head.")) for k in state):  # pyskl / mmaction2 Recognizer
        model = _x3d_from_state(state, path)
        source = f"PoseC3D X3D checkpoint {path.name} (pyskl layout)"
    else:
        raise UserError(f"not a Shift-GCN, ST-GCN or PoseC3D X3D checkpoint (first keys: "
                        f"{', '.join(list(state)[:3])})", path, _IMPORT_FIX)
    arch = model.arch  # type: ignore[attr-defined]
    info = BackboneInfo(
        architecture=arch, hparams=model.hparams(),  # type: ignore[operator]
        recipe=_recipe_dict(recipe if recipe is not None else DEFAULT_RECIPES[arch]),
        feature_dim=int(model.feature_dim),  # type: ignore[attr-defined]
        class_names=ntu_class_names(model.num_class),  # type: ignore[attr-defined]
        layout=LAYOUTS[arch], source=source, extra={"source_sha256": file_sha256(path)})
    info.validate(path)
    return model.eval(), info


# --- project format ---------------------------------------------------------------------------------------

def save_backbone(path: str | Path, model: nn.Module, recipe: str | Recipe | Mapping[str, Any],
                  class_names: Sequence[str] | None = None, source: str = "",
                  extra: Mapping[str, Any] | None = None) -> BackboneInfo:
    """Write ``model`` (a ShiftGCN or STGCN) as ``.safetensors`` with its metadata; returns the metadata."""
    from safetensors.torch import save_file

    arch = getattr(model, "arch", None)
    if arch not in ARCHITECTURES or not isinstance(model, ARCHITECTURES[arch]):
        raise TypeError(f"save_backbone needs one of {', '.join(ARCHITECTURES)}, got {type(model).__name__}")
    info = BackboneInfo(architecture=arch, hparams=model.hparams(),  # type: ignore[operator]
                        recipe=_recipe_dict(recipe), layout=LAYOUTS[arch],
                        feature_dim=int(model.feature_dim),  # type: ignore[attr-defined]
                        class_names=list(class_names) if class_names is not None else None,
                        source=source, extra=dict(extra or {}))
    info.validate(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}

    with atomic_path(path) as tmp:  # readers never see half a checkpoint
        save_file(tensors, str(tmp), metadata={METADATA_KEY: info.to_json()})
    return info


_SAFETENSORS_FIX = "re-export it with dvta-live, or import the original checkpoint again"


def _safetensors_metadata(path: Path) -> dict[str, str]:
    """The header's metadata, read without loading tensors (the format's 8-byte length + JSON header)."""
    if not path.is_file():
        raise UserError("backbone file not found", path, "check the path")
    with open(path, "rb") as f:
        head = f.read(8)
        size = int.from_bytes(head, "little") if len(head) == 8 else -1
        if size <= 1 or size > 100_000_000 or size + 8 > path.stat().st_size:
            raise UserError("is not a readable .safetensors file (bad header)", path, _SAFETENSORS_FIX)
        try:
            header = json.loads(f.read(size))
        except ValueError:
            raise UserError("is not a readable .safetensors file (corrupt header)", path,
                            _SAFETENSORS_FIX) from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return meta if isinstance(meta, dict) else {}


def read_backbone_info(path: str | Path) -> BackboneInfo:
    """Metadata of a project ``.safetensors`` backbone, without loading its weights."""
    path = Path(path)
    meta = _safetensors_metadata(path)
    if METADATA_KEY not in meta:
        raise UserError("is a .safetensors file but not a dvta-live backbone (no 'dvta_live' metadata)", path,
                        "import the original checkpoint with dvta-live, which writes that metadata")
    return BackboneInfo.from_json(meta[METADATA_KEY], path)


def _is_safetensors(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"


def load_backbone(path: str | Path) -> tuple[nn.Module, BackboneInfo]:
    """Any supported backbone file -> (model in eval mode on CPU, metadata).

    ``.safetensors`` files written by :func:`save_backbone` are read as such; other files go through
    :func:`load_torch_checkpoint` (official Shift-GCN / ST-GCN state dicts). Detection is by content.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError("backbone file not found", path, "check the path")
    if not _is_safetensors(path):
        return load_torch_checkpoint(path)
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    info = read_backbone_info(path)
    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        raise UserError(f"cannot read the weights ({str(e)[:200]})", path, _SAFETENSORS_FIX) from None
    try:
        model = build_backbone(info.architecture, info.hparams)
    except UserError as e:
        raise UserError(str(e), path, _SAFETENSORS_FIX) from None
    if int(model.feature_dim) != info.feature_dim:  # type: ignore[attr-defined]
        raise UserError(f"metadata says feature_dim {info.feature_dim}, the model gives "
                        f"{model.feature_dim}", path, _SAFETENSORS_FIX)  # type: ignore[attr-defined]
    _load_into(model, state, path, info.architecture)
    return model.eval(), info


def import_checkpoint(src: str | Path, dst: str | Path,
                      recipe: str | Recipe | Mapping[str, Any] | None = None) -> BackboneInfo:
    """Convert an official / legacy checkpoint to the project format (``dst``, ``.safetensors``)."""
    model, info = load_torch_checkpoint(src, recipe)
    return save_backbone(dst, model, info.recipe, info.class_names, info.source, info.extra)


__all__ = [
    "ARCHITECTURES",
    "FORMAT",
    "FORMAT_VERSION",
    "METADATA_KEY",
    "BackboneInfo",
    "build_backbone",
    "import_checkpoint",
    "load_backbone",
    "load_torch_checkpoint",
    "ntu_class_names",
    "read_backbone_info",
    "save_backbone",
]
