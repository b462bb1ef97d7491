"""DVTA head files: the weights and a typed, validated ``HeadInfo`` (save, load, read the metadata alone).

One ``.safetensors`` file. The tensors are the head's own state dict (released parameter names), so
``head.load_state_dict(safetensors.torch.load_file(path))`` works without this module; the header's
metadata holds one JSON document under the key ``"dvta_head"``, and a human-readable copy is written
beside it (``head.json``). The JSON's sections:

- ``head``: what builds the module (text and skeleton sizes, metric width, temperatures, the bridge);
- ``text``: the text model and the class names and contexts the head was trained with;
- ``classes``: seen, unseen and validation class ids, split and dataset;
- ``training`` (``recipe`` in heads written before 0.2), ``features``, ``selection``, ``metrics``,
  ``history``: how it was trained and what it scored, kept as written (reports, not settings).

Every problem with a file (missing, corrupt, metadata of the wrong shape, NaN weights, weights that do
not match the metadata) is one :class:`~dvta_live.errors.UserError` naming the file and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dvta_live.errors import UserError
from dvta_live.outputs import atomic_path, write_text_atomic

if TYPE_CHECKING:  # torch loads with the weights, not with the metadata
    import torch

    from dvta_live.dvta.head import DVTAHead

HEAD_FORMAT = "dvta-head"
HEAD_FORMAT_VERSION = 1
META_KEY = "dvta_head"  # the safetensors metadata entry holding the JSON metadata
_FIX = "retrain it with dvta train-head, or repair its metadata"
# the top-level keys in the order train-head writes them (the order of the JSON on disk)
_ORDER = ("format", "version", "created", "head", "text", "classes", "training", "features", "selection",
          "metrics", "history", "storage_dtype")
_REQUIRED = object()
_KIND_NAMES = {int: "a whole number", float: "a number", str: "text", list: "a list", tuple: "a list",
               dict: "a JSON object"}


def sidecar_path(path: str | Path) -> Path:
    """``head.safetensors`` -> ``head.json`` (the human-readable copy of the metadata)."""
    p = Path(path)
    return p.with_suffix(".json") if p.suffix == ".safetensors" else p.with_name(p.name + ".json")


# --------------------------------------------------------------------------------------- validation


class _Fields:
    """Typed reads from one metadata section; each problem is a UserError naming the file and the key."""

    def __init__(self, data: Any, where: str, path: str | Path | None) -> None:
        self.where, self.path = where, path
        if not isinstance(data, Mapping):
            raise self.bad(f"{where} must be a JSON object, got {type(data).__name__}")
        self.data = data

    def bad(self, what: str) -> UserError:
        return UserError(f"head metadata: {what}", self.path, _FIX)

    def get(self, key: str, kinds: tuple[type, ...], default: Any = _REQUIRED) -> Any:
        value = self.data.get(key)
        if value is None:
            if default is _REQUIRED:
                raise self.bad(f"{self.where}.{key} is missing")
            return default
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(dict.fromkeys(_KIND_NAMES.get(k, k.__name__) for k in kinds))
            raise self.bad(f"{self.where}.{key} must be {names}, got {value!r:.40}")
        return value

    def whole(self, key: str, default: Any = _REQUIRED, minimum: int = 1) -> Any:
        value = self.get(key, (int,), default)
        if value is not None and value is not default and value < minimum:
            raise self.bad(f"{self.where}.{key} must be at least {minimum}, got {value}")
        return value

    def number(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self.get(key, (int, float), default)
        return value if value is None or value is default else float(value)

    def text(self, key: str, default: Any = _REQUIRED) -> Any:
        return self.get(key, (str,), default)

    def ids(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self.get(key, (list, tuple), default)
        if value is None or value is default:
            return value
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
            raise self.bad(f"{self.where}.{key} must list class ids (whole numbers from 0)")
        return tuple(value)

    def section(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self.get(key, (dict,), default)
        return value if value is default else dict(value)


# ------------------------------------------------------------------------------------------ sections


@dataclass(frozen=True)
class BridgeInfo:
    """The backbone's classifier attached to the head as a second opinion (``dvta.bridge``)."""

    classes: int
    weight: float
    temperature: float
    class_names: tuple[str, ...] = ()
    backbone: str = ""
    method: str = ""

    @classmethod
    def from_dict(cls, data: Any, path: str | Path | None = None) -> BridgeInfo:
        f = _Fields(data, "head.bridge", path)
        names = f.get("class_names", (list, tuple), ())
        if not all(isinstance(n, str) for n in names):
            raise f.bad("head.bridge.class_names must be a list of strings")
        info = cls(f.whole("classes"), f.number("weight"), f.number("temperature"), tuple(names),
                   f.text("backbone", ""), f.text("method", ""))
        if not info.temperature > 0:
            raise f.bad(f"head.bridge.temperature must be positive, got {info.temperature}")
        if info.class_names and len(info.class_names) != info.classes:
            raise f.bad(f"head.bridge has {len(info.class_names)} class names for {info.classes} classes")
        return info

    def to_dict(self) -> dict[str, Any]:
        return {"classes": self.classes, "weight": self.weight, "temperature": self.temperature,
                "class_names": list(self.class_names), "backbone": self.backbone, "method": self.method}


@dataclass(frozen=True)
class HeadShape:
    """What builds the module: ``DVTAHead(text_dim, skeleton_dim, temperature_init, leaky_gamma,
    metric_hidden)``, plus the bridge when one is attached."""

    text_dim: int
    metric_hidden: int
    skeleton_dim: int = 256
    temperature_init: float = 0.1
    leaky_gamma: float = 0.01
    temperatures: tuple[float, ...] | None = None  # the learnt ones, for humans (the weights hold them)
    parameters: int | None = None
    bridge: BridgeInfo | None = None

    @classmethod
    def from_dict(cls, data: Any, path: str | Path | None = None) -> HeadShape:
        f = _Fields(data, "head", path)
        temps = f.get("temperatures", (list, tuple), None)
        if temps is not None and not all(isinstance(t, (int, float)) for t in temps):
            raise f.bad("head.temperatures must be a list of numbers")
        bridge = f.get("bridge", (dict,), None)
        shape = cls(text_dim=f.whole("text_dim"), metric_hidden=f.whole("metric_hidden"),
                    skeleton_dim=f.whole("skeleton_dim", 256), temperature_init=f.number("temperature_init", 0.1),
                    leaky_gamma=f.number("leaky_gamma", 0.01),
                    temperatures=None if temps is None else tuple(float(t) for t in temps),
                    parameters=f.whole("parameters", None, minimum=0),
                    bridge=None if not bridge else BridgeInfo.from_dict(bridge, path))
        if shape.skeleton_dim != 256:  # DVTAHead's projector has a 256-wide residual layer
            raise f.bad(f"head.skeleton_dim must be 256, got {shape.skeleton_dim}")
        return shape

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text_dim": self.text_dim, "skeleton_dim": self.skeleton_dim,
                               "metric_hidden": self.metric_hidden, "temperature_init": self.temperature_init,
                               "leaky_gamma": self.leaky_gamma}
        if self.temperatures is not None:
            out["temperatures"] = list(self.temperatures)
        if self.parameters is not None:
            out["parameters"] = self.parameters
        if self.bridge is not None:
            out["bridge"] = self.bridge.to_dict()
        return out


@dataclass(frozen=True)
class ClassText:
    """One class as the head was trained on it: id, name and context sentences."""

    id: int
    name: str
    context: tuple[str, ...]


@dataclass(frozen=True)
class TextInfo:
    """The text side the head was trained with (``ClassTexts.to_dict`` without the embeddings)."""

    model: str
    classes: tuple[ClassText, ...]
    dim: int | None = None
    source: str = ""
    kind: str = ""

    @classmethod
    def from_dict(cls, data: Any, path: str | Path | None = None) -> TextInfo:
        f = _Fields(data, "text", path)
        rows = f.get("classes", (list, tuple))
        classes = []
        for i, row in enumerate(rows):
            r = _Fields(row, f"text.classes[{i}]", path)
            context = r.get("context", (list, tuple))
            if not all(isinstance(s, str) for s in context):
                raise r.bad(f"text.classes[{i}].context must be a list of sentences")
            classes.append(ClassText(r.whole("id", minimum=0), r.text("name"), tuple(context)))
        if len({c.id for c in classes}) != len(classes):
            raise f.bad("text.classes repeats a class id")
        return cls(f.text("model"), tuple(classes), f.whole("dim", None), f.text("source", ""), f.text("kind", ""))

    def to_dict(self) -> dict[str, Any]:
        """The mapping ``ClassTexts.to_dict`` writes (what ``class_texts_from_dict`` reads)."""
        out: dict[str, Any] = {"model": self.model}
        if self.dim is not None:
            out["dim"] = self.dim
        return {**out, "source": self.source, "kind": self.kind,
                "classes": [{"id": c.id, "name": c.name, "context": list(c.context)} for c in self.classes]}

    def name_of(self, class_id: int) -> str | None:
        return next((c.name for c in self.classes if c.id == class_id), None)


@dataclass(frozen=True)
class HeadClasses:
    """Which class ids the head saw in training (seen) and which were held out (unseen, the test)."""

    num_classes: int
    seen: tuple[int, ...]
    unseen: tuple[int, ...] = ()
    split: str | None = None
    dataset: str | None = None
    validation_unseen: tuple[int, ...] | None = None
    validation_source: str | None = None

    @classmethod
    def from_dict(cls, data: Any, path: str | Path | None = None) -> HeadClasses:
        f = _Fields(data, "classes", path)
        out = cls(f.whole("num_classes"), f.ids("seen"), f.ids("unseen", ()), f.text("split", None),
                  f.text("dataset", None), f.ids("validation_unseen", None), f.text("validation_source", None))
        if set(out.seen) & set(out.unseen):
            raise f.bad(f"classes {sorted(set(out.seen) & set(out.unseen))[:5]} are both seen and unseen")
        if max((*out.seen, *out.unseen), default=-1) >= out.num_classes:
            raise f.bad(f"a class id is not below classes.num_classes ({out.num_classes})")
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"num_classes": self.num_classes, "seen": list(self.seen), "unseen": list(self.unseen)}
        if self.split is not None or self.dataset is not None or self.validation_unseen is not None:
            out.update(split=self.split, dataset=self.dataset,
                       validation_unseen=None if self.validation_unseen is None else list(self.validation_unseen),
                       validation_source=self.validation_source)
        return out


# -------------------------------------------------------------------------------------------- HeadInfo


@dataclass(frozen=True)
class HeadInfo:
    """The JSON metadata stored with a head's weights, parsed and validated (``from_dict``).

    ``head``, ``text`` and ``classes`` are what loading, the live loop and evaluation use; ``training``,
    ``features``, ``selection``, ``metrics`` and ``history`` are train-head's record, kept as written
    (printed and compared, never used to build the head). Keys this version does not know are kept in
    ``extra`` and written back, so a head re-saved by a newer tool loses nothing."""

    head: HeadShape
    text: TextInfo
    classes: HeadClasses
    training: dict[str, Any] = field(default_factory=dict)  # optimiser settings (old name: "recipe")
    features: dict[str, Any] = field(default_factory=dict)  # the features folder's summary and metadata
    selection: dict[str, Any] = field(default_factory=dict)  # checkpoint and calibration choice
    metrics: dict[str, Any] = field(default_factory=dict)  # test figures at training
    history: tuple[dict[str, Any], ...] = ()  # one record per epoch
    created: str | None = None
    storage_dtype: str = "float32"  # of the tensors in the file: "float16" halves a bundled head
    extra: dict[str, Any] = field(default_factory=dict)
    format: str = HEAD_FORMAT
    version: int = HEAD_FORMAT_VERSION

    # ---------------------------------------------------------------------------- what the code uses

    @property
    def training_classes(self) -> tuple[str, ...]:
        """Names of the seen classes, in id order (all the text's classes when none is marked seen)."""
        seen = set(self.classes.seen)
        return tuple(c.name for c in self.text.classes if not seen or c.id in seen)

    @property
    def calibration(self) -> float:
        """The GZSL calibration factor chosen on validation (0 when none was chosen)."""
        return float(self.selection.get("calibration") or 0.0)

    @property
    def calibration_source(self) -> str:
        return str(self.selection.get("calibration_source") or "not calibrated")

    @property
    def feature_record(self) -> dict[str, Any]:
        """What ``dvta extract-features`` recorded about the features (backbone file, architecture, recipe)."""
        record = self.features.get("metadata")
        return dict(record) if isinstance(record, Mapping) else {}

    @property
    def feature_backbone(self) -> str | None:
        """The backbone file the training features came from, if recorded."""
        return str(self.feature_record["backbone"]) if self.feature_record.get("backbone") else None

    @property
    def feature_architecture(self) -> str | None:
        arch = self.feature_record.get("backbone_architecture")
        return str(arch) if arch else None

    @property
    def feature_recipe(self) -> str | None:
        """The preprocessing recipe's name of the training features, if recorded."""
        recipe = self.feature_record.get("recipe")
        return str(recipe["name"]) if isinstance(recipe, Mapping) and recipe.get("name") else None

    # --------------------------------------------------------------------------------- (de)serialise

    @classmethod
    def from_dict(cls, data: Any, path: str | Path | None = None) -> HeadInfo:
        """Parse and validate; each problem raises one UserError naming ``path`` and the fix."""
        if not isinstance(data, Mapping) or data.get("format") != HEAD_FORMAT:
            raise UserError("is not a DVTA head file", path, "give a head written by dvta train-head")
        f = _Fields(data, "metadata", path)
        version = f.whole("version", HEAD_FORMAT_VERSION)
        if version != HEAD_FORMAT_VERSION:
            raise UserError(f"head format version {version} is not supported (this dvta-live reads version "
                            f"{HEAD_FORMAT_VERSION})", path, "upgrade dvta-live, or retrain it with dvta train-head")
        training = data.get("training") or data.get("recipe")  # heads written before 0.2 say "recipe"
        history = f.get("history", (list, tuple), ())
        if not all(isinstance(h, Mapping) for h in history):
            raise f.bad("history must be a list of JSON objects")
        dtype = f.text("storage_dtype", "float32")
        if dtype not in ("float32", "float16"):
            raise f.bad(f"storage_dtype must be float32 or float16, got {dtype!r}")
        known = {*_ORDER, "recipe"}
        return cls(
            head=HeadShape.from_dict(data.get("head"), path), text=TextInfo.from_dict(data.get("text"), path),
            classes=HeadClasses.from_dict(data.get("classes"), path),
            training=_Fields({"training": training}, "metadata", path).section("training", {}),
            features=f.section("features", {}), selection=f.section("selection", {}),
            metrics=f.section("metrics", {}), history=tuple(dict(h) for h in history),
            created=f.text("created", None), storage_dtype=dtype,
            extra={k: v for k, v in data.items() if k not in known}, version=version)

    @classmethod
    def from_json(cls, text: str, path: str | Path | None = None) -> HeadInfo:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"head metadata is not valid JSON ({exc})", path, _FIX) from None
        return cls.from_dict(data, path)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document as train-head writes it (same keys, same order; empty records left out)."""
        values: dict[str, Any] = {
            "format": self.format, "version": self.version, "created": self.created, "head": self.head.to_dict(),
            "text": self.text.to_dict(), "classes": self.classes.to_dict(), "training": self.training,
            "features": self.features, "selection": self.selection, "metrics": self.metrics,
            "history": list(self.history), "storage_dtype": self.storage_dtype}
        out = {k: values[k] for k in _ORDER if values[k] not in (None, {}, [])}
        return {**out, **self.extra}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, default=_json_default)


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


# ----------------------------------------------------------------------------------------- save / load


def save_head(path: str | Path, head: DVTAHead, info: HeadInfo, half: bool = False) -> tuple[Path, Path]:
    """Write the head's state dict to ``path`` (.safetensors, metadata embedded) and the JSON beside it.

    ``half`` stores the floating-point tensors as float16 (half the file, e.g. for a model bundled in
    the package); ``load_head`` (``load_state_dict``) casts them back into the float32 head."""
    from dataclasses import replace

    from safetensors.torch import save_file


    p = Path(path)
    if p.suffix != ".safetensors":
        raise UserError("the head file must end in .safetensors", p, "e.g. --out my-head.safetensors")
    state = {k: v.detach().cpu().contiguous() for k, v in head.state_dict().items()}
    if half:
        # the bridge stays float32: a copy of the backbone's classifier, exact, and only 0.1 MB
        state = {k: v.half() if v.is_floating_point() and not k.startswith("bridge.") else v
                 for k, v in state.items()}
    text = replace(info, storage_dtype="float16" if half else "float32").to_json()
    with atomic_path(p) as tmp:
        save_file(state, str(tmp), metadata={META_KEY: text})
    side = sidecar_path(p)
    write_text_atomic(side, text + "\n")
    return p, side


def _read(path: str | Path, tensors: bool) -> tuple[HeadInfo, dict[str, Any]]:
    from safetensors import SafetensorError, safe_open

    p = Path(path)
    if not p.is_file():
        raise UserError("no such head file", p, "train one with: dvta train-head FEATURES --out HEAD.safetensors")
    try:
        with safe_open(str(p), framework="pt", device="cpu") as fh:
            raw = (fh.metadata() or {}).get(META_KEY)
            state = {k: fh.get_tensor(k) for k in fh.keys()} if tensors else {}  # noqa: SIM118 - no iteration
    except (SafetensorError, OSError, ValueError) as exc:
        raise UserError(f"not a safetensors file ({exc})", p, "give the .safetensors written by train-head") from None
    if raw is None:
        side = sidecar_path(p)
        if not side.is_file():
            raise UserError("holds no DVTA head metadata and has no .json beside it", p,
                            "give a head written by dvta train-head")
        raw = side.read_text(encoding="utf-8")
    return HeadInfo.from_json(raw, p), state


def read_head_info(path: str | Path) -> HeadInfo:
    """The metadata of a head file alone (no weights read, no torch module built)."""
    return _read(path, tensors=False)[0]


def load_head(path: str | Path, device: str | torch.device = "cpu") -> tuple[DVTAHead, HeadInfo]:
    """A head written by ``save_head``, in eval mode, and its metadata."""
    import torch

    from dvta_live.dvta.head import DVTAHead

    p = Path(path)
    info, state = _read(p, tensors=True)
    bad = sorted(k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all()))
    if bad:  # a NaN weight would score every window NaN (and print invalid JSON), silently
        raise UserError(f"weights {', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''} hold NaN or infinite "
                        "values", p, "retrain the head (a lower --lr usually avoids a diverging run)")
    shape = info.head
    head = DVTAHead(text_dim=shape.text_dim, skeleton_dim=shape.skeleton_dim, temperature=shape.temperature_init,
                    gamma=shape.leaky_gamma, metric_hidden=shape.metric_hidden)
    if shape.bridge is not None:  # the backbone's classifier as a second opinion (dvta.bridge)
        from dvta_live.dvta.bridge import ClassifierBridge

        b = shape.bridge
        head.bridge = ClassifierBridge(b.classes, head.skeleton_dim, head.text_dim, b.weight, b.temperature)
    try:
        head.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise UserError(f"weights do not match the head its metadata describes ({first[:160]})", p) from None
    return head.to(device).eval(), info


__all__ = ["HEAD_FORMAT", "HEAD_FORMAT_VERSION", "META_KEY", "BridgeInfo", "ClassText", "HeadClasses", "HeadInfo",
           "HeadShape", "TextInfo", "load_head", "read_head_info", "save_head", "sidecar_path"]
