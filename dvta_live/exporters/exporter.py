"""``export(model, format=...)``: a model folder -> ONNX graphs (and a TensorRT engine), one function per
format (``runtimes.check.check_export`` compares an export with eager PyTorch on real skeletons). ``dvta export`` parses
options and prints around these."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dvta_live.dvta.headfile import sidecar_path
from dvta_live.errors import UserError
from dvta_live.exporters.engine import export_engine
from dvta_live.exporters.profile import ProfileBounds
from dvta_live.outputs import check_output

if TYPE_CHECKING:
    from dvta_live.exporters.common import ExportPaths
    from dvta_live.model import ModelInfo

FORMATS = ("onnx", "engine")
GRAPHS = ("window", "recognizer")


@dataclass(frozen=True)
class EngineOptions:
    """How ``format="engine"`` builds: which graph, the optimisation profile, precision, builder limits."""

    graph: str = "window"  # the class side precomputed once per labels file (faster), or "recognizer"
    profile: ProfileBounds = field(default_factory=ProfileBounds)
    fp16: bool | None = None  # None: where the GPU's compute capability is fast at it
    timing_cache: Path | None = None  # None: X.timing.cache beside the engine
    workspace_gib: float = 4.0


@dataclass(frozen=True)
class Exported:
    """What ``export`` wrote: graph name -> file, and the notes a user should read."""

    model: Path
    info: ModelInfo
    paths: ExportPaths
    files: dict[str, Path]
    notes: tuple[str, ...] = ()


def export(model: str | Path | None = None, format: str = "onnx", *, out: Path | None = None,
           split: bool = False, opset: int = 17, engine: EngineOptions | None = None) -> Exported:
    """Export ``model`` (None: the bundled one) as ``format`` (onnx | engine; an engine writes the ONNX
    graphs too) into ``out`` (a folder or X.onnx / X.engine; None: the model folder)."""
    from dvta_live.exporters.common import ExportPaths, default_export_paths
    from dvta_live.model import default_model, load_model_net

    engine = engine or EngineOptions()
    if format not in FORMATS:
        raise UserError(f"unknown --format {format!r}", fix="use --format onnx or --format engine")
    if engine.graph not in GRAPHS:
        raise UserError(f"unknown --graph {engine.graph!r}", fix="use --graph window or --graph recognizer")
    if format == "engine":
        from dvta_live.exporters.engine import tensorrt_missing

        missing = tensorrt_missing()  # before minutes of ONNX export
        if missing:
            raise UserError(missing)
        engine.profile.validate()
    model_path = default_model(model)
    recognizer, info = load_model_net(model_path)
    paths = ExportPaths.from_out(out) if out is not None else default_export_paths(info)
    check_export_out(paths, info, split, format == "engine", engine.timing_cache)
    files = export_onnx_files(recognizer, info, paths, split=split, opset=opset)
    notes: list[str] = []
    if format == "engine":
        files["engine"] = export_engine_file(paths, engine, notes)
    return Exported(model_path, info, paths, files, tuple(notes))


def export_onnx_files(recognizer: Any, info: ModelInfo, paths: ExportPaths, *, split: bool = False,
                      opset: int = 17) -> dict[str, Path]:
    """The ONNX graphs (whole recogniser, text side, window side; with ``split`` backbone and head too)
    and the metadata file."""
    from dvta_live.exporters.onnx_export import export_onnx

    result = export_onnx((recognizer, info), paths.folder / f"{paths.stem}.onnx", split=split, opset=opset)
    return {**dict(result.files), "metadata": paths.metadata}


def export_engine_file(paths: ExportPaths, options: EngineOptions, notes: list[str]) -> Path:
    """A TensorRT engine of the exported window (or whole-recogniser) graph; notes say what was replaced."""
    from dvta_live.exporters.onnx_export import onnx_metadata

    source = paths.window if options.graph == "window" else paths.recognizer
    export_engine(source, paths.engine, metadata=onnx_metadata(source), profile=options.profile, fp16=options.fp16,
                  timing_cache=options.timing_cache or paths.timing_cache, workspace_gib=options.workspace_gib,
                  notes=notes)
    return paths.engine


def check_export_out(paths: ExportPaths, info: ModelInfo, split: bool, engine: bool,
                     timing_cache: Path | None) -> None:
    """Every file the export writes: not one of the model's files, writable; before minutes of export."""

    names = [paths.recognizer, paths.text, paths.window, paths.metadata]
    names += [paths.backbone, paths.head] if split else []
    names += [paths.engine, timing_cache or paths.timing_cache] if engine else []
    check_output(paths.folder, folder=True, files=[p.name for p in names],
                 inputs=[info.backbone_path, info.head_path, sidecar_path(info.head_path)])
    for extra in names:
        if extra.parent != paths.folder:
            check_output(extra, inputs=[info.backbone_path, info.head_path])


__all__ = ["FORMATS", "EngineOptions", "Exported", "check_export_out", "export",
           "export_engine_file", "export_onnx_files"]
