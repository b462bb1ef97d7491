"""``export_onnx``: a model folder -> ONNX graphs of the recogniser with their metadata.

The graphs start at the recipe's output (``info.recipe.apply``), exactly where ``ModelNet`` starts, so
each one computes what PyTorch does on the same input; B (windows) and C (classes) are dynamic axes, so
editing the labels file never needs a re-export.
"""

from __future__ import annotations

import atexit
import io
import json
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from dvta_live.dvta.head import DVTAHead, TextSideScorer
from dvta_live.errors import UserError
from dvta_live.exporters.common import (
    EXPORT_FORMAT_VERSION,
    METADATA_KEY,
    OPSET,
    TEXT_SIDE_NAMES,
    WINDOW_INPUTS,
    ExportPaths,
    default_export_paths,
    export_metadata,
    onnx_cache_dir,
)
from dvta_live.model import ModelInfo, ModelNet, load_model_net, model_sha256
from dvta_live.outputs import atomic_path, check_folder_writable, write_text_atomic

# Each graph: (input names, output names, dynamic axes). The side tensors' C axis is 1 for keys [3, C, D].
_SIDE_AXES: dict[str, dict[int, str]] = {"keys": {1: "C"}, **{n: {0: "C"} for n in TEXT_SIDE_NAMES[1:]}}
_EXAMPLE_AXES: dict[str, dict[int, str]] = {"example_keys": {0: "K"}, "example_values": {0: "K", 1: "C"}}
_SKELETON_AXES = {"skeleton": {0: "B"}}
_SCORES_AXES = {"scores": {0: "B", 1: "C"}}
GRAPHS: dict[str, tuple[tuple[str, ...], tuple[str, ...], dict[str, dict[int, str]]]] = {
    "recognizer": (("skeleton", "text"), ("scores",), {**_SKELETON_AXES, "text": {0: "C"}, **_SCORES_AXES}),
    "text": (("text",), TEXT_SIDE_NAMES, {"text": {0: "C"}, **_SIDE_AXES}),
    # the window graph also gives the window's backbone feature: what a recorded example is matched by
    "window": (WINDOW_INPUTS, ("scores", "feature"),
               {**_SKELETON_AXES, **_SIDE_AXES, **_EXAMPLE_AXES, **_SCORES_AXES, "feature": {0: "B"}}),
    "backbone": (("skeleton",), ("feature",), {**_SKELETON_AXES, "feature": {0: "B"}}),
    "head": (("feature", "text"), ("scores",), {"feature": {0: "B"}, "text": {0: "C"}, **_SCORES_AXES}),
}
# Shapes used to trace: 2 windows and 3 classes, so neither axis is 1 (a traced size-1 axis can be baked
# into a Reshape by the exporter and would then not be dynamic).
_TRACE_B, _TRACE_C = 2, 3


class _TextGraph(nn.Module):
    """text [C, 2, D] -> the six TextSide tensors (the class side, once per labels file)."""

    def __init__(self, head: DVTAHead) -> None:
        super().__init__()
        self.head = head

    def forward(self, text: Tensor) -> tuple[Tensor, ...]:
        return tuple(self.head.encode_text(text))


class _WindowGraph(nn.Module):
    """skeleton + TextSide + example side -> scores and the feature: the backbone and the per-window half
    of the head (inputs in WINDOW_INPUTS order)."""

    def __init__(self, model: ModelNet) -> None:
        super().__init__()
        self.model = model
        self.scorer = TextSideScorer(model.head)

    def forward(self, skeleton: Tensor, keys: Tensor, sq_ctx: Tensor, dot_ctx_delta: Tensor, sq_delta: Tensor,
                metric_base: Tensor, metric_delta: Tensor, example_keys: Tensor, example_values: Tensor,
                context: Tensor) -> tuple[Tensor, Tensor]:
        feature = self.model.features(skeleton)
        scores = self.scorer(feature, keys, sq_ctx, dot_ctx_delta, sq_delta, metric_base, metric_delta, context,
                             example_keys, example_values)
        return scores, feature


class _BackboneGraph(nn.Module):
    def __init__(self, model: ModelNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, skeleton: Tensor) -> Tensor:
        return self.model.features(skeleton)


@dataclass
class OnnxExport:
    """What ``export_onnx`` wrote: graph name -> file, and the metadata (also in ``paths.metadata``)."""

    paths: ExportPaths
    files: dict[str, Path]
    metadata: dict[str, Any] = field(default_factory=dict)


def _graph_module(name: str, model: ModelNet) -> nn.Module:
    return {"recognizer": lambda: model, "text": lambda: _TextGraph(model.head),
            "window": lambda: _WindowGraph(model), "backbone": lambda: _BackboneGraph(model),
            "head": lambda: model.head}[name]()


def _trace_inputs(name: str, model: ModelNet, info: ModelInfo) -> tuple[Tensor, ...]:
    gen = torch.Generator().manual_seed(0)
    skeleton = torch.from_numpy(info.recipe.random_input(_TRACE_B))  # values do not shape the graph
    text = torch.randn(_TRACE_C, 2, info.text_dim, generator=gen)
    if name == "recognizer":
        return skeleton, text
    if name == "text":
        return (text,)
    if name == "window":  # K = 2 example rows (a traced size-1 axis could be baked in)
        with torch.no_grad():
            *side, context = model.head.encode_text(text)
        example_keys = torch.randn(2, info.feature_dim + 1, generator=gen)
        example_values = torch.rand(2, _TRACE_C, generator=gen)
        return (skeleton, *side, example_keys, example_values, context)
    if name == "backbone":
        return (skeleton,)
    return torch.randn(_TRACE_B, info.feature_dim, generator=gen), text


def _export_graph(name: str, model: ModelNet, info: ModelInfo, path: Path, metadata: dict[str, Any],
                  opset: int) -> dict[str, Any]:
    import onnx

    inputs, outputs, axes = GRAPHS[name]
    args = _trace_inputs(name, model, info)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice and tracer warnings
        # dynamo=False: the TorchScript exporter; the dynamo one needs onnxscript, which is not a dependency
        torch.onnx.export(_graph_module(name, model), args, buffer, dynamo=False, opset_version=opset,
                          input_names=list(inputs), output_names=list(outputs), dynamic_axes=axes,
                          do_constant_folding=True)
    proto = onnx.load_from_string(buffer.getvalue())
    for output in proto.graph.output:  # the exporter leaves the feature width symbolic; it is fixed
        if output.name in ("feature",):
            output.type.tensor_type.shape.dim[1].dim_value = info.feature_dim
    graph_info = {"graph": name, "inputs": {n: _shape(proto, n) for n in inputs},
                  "outputs": {n: _shape(proto, n) for n in outputs}}
    props = {METADATA_KEY: json.dumps({**metadata, **graph_info}), "model_sha256": metadata["model_sha256"],
             "graph": name, "architecture": info.architecture, "recipe": info.recipe.name,
             "text_model": info.text_model}
    onnx.helper.set_model_props(proto, props)
    proto.producer_name, proto.doc_string = "dvta-live", f"dvta-live {name} graph of {info.path}"
    onnx.checker.check_model(proto)
    with atomic_path(path) as tmp:  # a killed export never leaves a truncated graph in the cache
        onnx.save(proto, str(tmp))
    return {"file": path.name, **{k: v for k, v in graph_info.items() if k != "graph"}}


def _shape(proto: Any, name: str) -> list[int | str]:
    for value in (*proto.graph.input, *proto.graph.output):
        if value.name == name:
            return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
    return []


def export_onnx(model: str | Path | tuple[ModelNet, ModelInfo], out: str | Path | None = None, *,
                split: bool = False, whole: bool = True, opset: int = OPSET) -> OnnxExport:
    """Write the ONNX graphs of a model and their metadata; returns where they went.

    Always the class-side (``text``) and per-window (``window``) graphs, which runtimes use; ``whole``
    adds the whole recogniser (skeleton + text -> scores) and ``split`` the backbone and head alone.
    ``out``: a folder or an ``X.onnx`` path (default: the model folder, see ``default_export_paths``).
    """
    if opset < 17:
        raise UserError(f"opset {opset} is too old", fix="use opset 17 or newer (LayerNorm-era ops)")
    if isinstance(model, tuple):
        recognizer, info = model
    else:
        recognizer, info = load_model_net(model)
    recognizer = recognizer.cpu().eval()
    paths = ExportPaths.from_out(out) if out is not None else default_export_paths(info)
    metadata = export_metadata(info, model_sha256(info), opset=opset)
    names = ["text", "window"] + (["recognizer"] if whole else []) + (["backbone", "head"] if split else [])
    files = {name: getattr(paths, name) for name in names}
    graphs = {name: _export_graph(name, recognizer, info, files[name], metadata, opset) for name in names}
    metadata = {**metadata, "graphs": graphs}
    write_text_atomic(paths.metadata, json.dumps(metadata, indent=1))
    return OnnxExport(paths, files, metadata)


def onnx_metadata(path: str | Path) -> dict[str, Any]:
    """The dvta-live metadata of an exported ONNX file (refused, naming the file, when there is none)."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise UserError("no such ONNX file", path, "export it with dvta export")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - any parse failure is a bad file to the user
        raise UserError(f"is not a readable ONNX file ({str(e)[:120]})", path, "export it again") from None
    props = {p.key: p.value for p in proto.metadata_props}
    if METADATA_KEY not in props:
        raise UserError("is an ONNX file without dvta-live metadata", path,
                        "export the model with dvta export, which records what the graph is")
    return json.loads(props[METADATA_KEY])


def find_onnx_export(info: ModelInfo, model_hash: str, onnx: str | Path | None = None,
                     notes: list[str] | None = None) -> ExportPaths | None:
    """ExportPaths of this model's text + window graphs: ``onnx`` if given (refused when it is another
    model's), else beside the model, else the cache; None when there is none (``export_to_cache`` writes
    one: ``open_runtime`` does so on first use).

    A cache entry that does not load (a truncated file) is rebuilt; an unwritable cache folder falls back
    to a temporary one. Both are said in ``notes`` (shown by ``describe()``)."""
    notes = notes if notes is not None else []

    def matches(paths: ExportPaths, explicit: bool) -> bool:
        if not (paths.window.is_file() and paths.text.is_file()):
            if explicit:
                raise UserError(f"needs {paths.window.name} and {paths.text.name} there", paths.window,
                                "export them with dvta export --model MODEL --out " + str(paths.folder))
            return False
        for file in (paths.window, paths.text):
            try:
                meta = onnx_metadata(file)
            except UserError as exc:
                if explicit:
                    raise
                notes.append(f"{file} did not load ({exc}); exported again")
                return False
            found = meta.get("model_sha256")
            if meta.get("version") != EXPORT_FORMAT_VERSION:  # graphs of an older dvta-live
                if explicit:
                    raise UserError(f"was exported by another dvta-live version (export format "
                                    f"{meta.get('version')}, this one reads {EXPORT_FORMAT_VERSION})", file,
                                    "export the model again: dvta export --model MODEL")
                notes.append(f"{file} was exported by another dvta-live version; exported again")
                return False
            if found != model_hash:
                if explicit:
                    raise UserError(f"was exported from another model (model hash {str(found)[:12]}, this "
                                    f"model is {model_hash[:12]})", file,
                                    "export this model again: dvta export --model MODEL")
                notes.append(f"{file} is stale (exported from another version of the model); using a "
                             "fresh export in the cache instead")
                return False
        return True

    if onnx is not None:
        paths = ExportPaths.from_out(onnx)
        matches(paths, explicit=True)
        return paths
    beside = default_export_paths(info)
    if matches(beside, explicit=False):
        return beside
    cached = ExportPaths(onnx_cache_dir(model_hash))
    if matches(cached, explicit=False):
        return cached
    return None


def export_to_cache(model: str | Path | tuple[ModelNet, ModelInfo], info: ModelInfo, model_hash: str,
                    notes: list[str] | None = None) -> ExportPaths:
    """Export the text + window graphs into the cache's ``onnx/<model hash>`` folder; an unwritable cache
    falls back to a temporary folder for this run (said in ``notes``)."""
    notes = notes if notes is not None else []
    cached = ExportPaths(onnx_cache_dir(model_hash))
    try:
        check_folder_writable(cached.folder)
    except UserError as exc:
        cached = ExportPaths(Path(tempfile.mkdtemp(prefix="dvta-onnx-")))
        atexit.register(shutil.rmtree, cached.folder, ignore_errors=True)  # a one-run cache
        notes.append(f"the ONNX cache is not writable ({exc}); using {cached.folder} for this run "
                     "(set DVTA_CACHE to a writable folder to keep it)")
    export_onnx(model, cached.folder, whole=False)
    notes.append(f"exported the ONNX graphs of this model to {cached.folder} (its first use with ONNX Runtime)")
    return cached


__all__ = ["GRAPHS", "OnnxExport", "export_onnx", "export_to_cache", "find_onnx_export", "onnx_metadata"]
