"""What the exporters and runtimes share: the default model, the model hash, file names, the cache folder
and the metadata every exported file carries.

Exported files of one model sit side by side, named from one stem (``recognizer`` by default)::

    recognizer.onnx           whole recogniser: skeleton [B, 3, T, 25, 2] + text [C, 2, D] -> scores [B, C]
    recognizer.text.onnx      class side: text [C, 2, D] -> the six TextSide tensors (once per labels file)
    recognizer.window.onnx    per window: skeleton + TextSide tensors -> scores [B, C] (what runtimes use)
    recognizer.backbone.onnx  --split: skeleton -> feature [B, 256]
    recognizer.head.onnx      --split: feature [B, 256] + text [C, 2, D] -> scores [B, C]
    recognizer.json           the metadata (also in each ONNX file's metadata_props)
    recognizer.engine         TensorRT: a dvta header (model hash, GPU, profiles) + the serialized engine
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dvta_live import __version__
from dvta_live.cache import cache_folder
from dvta_live.errors import UserError
from dvta_live.exporters.profile import EXAMPLE_SIDE_NAMES, TEXT_SIDE_NAMES, WINDOW_INPUTS
from dvta_live.model import ModelInfo

DEFAULT_STEM = "recognizer"
METADATA_KEY = "dvta_live"  # the ONNX metadata_props key holding the JSON
EXPORT_FORMAT = "dvta-live-export"
EXPORT_FORMAT_VERSION = 3  # 2: the text graph also gives "context" (the bridge's side); 3: the window
# graph takes the example side (example_keys, example_values) and also gives the window's "feature"
OPSET = 17


def onnx_cache_dir(model_hash: str) -> Path:
    return cache_folder("onnx", model_hash[:16])


@dataclass(frozen=True)
class ExportPaths:
    """The files of one export, all named from ``folder / stem``."""

    folder: Path
    stem: str = DEFAULT_STEM

    @classmethod
    def from_out(cls, out: str | Path) -> ExportPaths:
        """``--out`` names a folder, or one of the files (``X.onnx``, ``X.engine``, ``X.json``): stem ``X``."""
        out = Path(out)
        if out.suffix in (".onnx", ".engine", ".json"):
            stem = out.name[: -len(out.suffix)]
            for part in (".window", ".text", ".backbone", ".head"):
                stem = stem.removesuffix(part)
            return cls(out.parent, stem)
        return cls(out)

    def _file(self, suffix: str) -> Path:
        return self.folder / f"{self.stem}{suffix}"

    @property
    def recognizer(self) -> Path:
        return self._file(".onnx")

    @property
    def text(self) -> Path:
        return self._file(".text.onnx")

    @property
    def window(self) -> Path:
        return self._file(".window.onnx")

    @property
    def backbone(self) -> Path:
        return self._file(".backbone.onnx")

    @property
    def head(self) -> Path:
        return self._file(".head.onnx")

    @property
    def metadata(self) -> Path:
        return self._file(".json")

    @property
    def engine(self) -> Path:
        return self._file(".engine")

    @property
    def timing_cache(self) -> Path:
        return self._file(".timing.cache")


def default_export_paths(info: ModelInfo) -> ExportPaths:
    """Where ``dvta export`` writes without ``--out``: the model folder, or beside a lone head file."""
    folder = info.path if info.path.is_dir() else info.head_path.parent
    return ExportPaths(folder)


def versions() -> dict[str, str]:
    """Library versions recorded in exported metadata (what produced the graph)."""
    import torch


    out = {"dvta_live": __version__, "torch": torch.__version__, "python": platform.python_version()}
    for name in ("onnx", "onnxruntime"):
        try:
            out[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001 - a missing optional package is recorded as absent
            out[name] = "not installed"
    return out


def export_metadata(info: ModelInfo, model_hash: str, **extra: Any) -> dict[str, Any]:
    """The JSON every exported file carries: the model's info, its hash, the graphs' I/O and versions."""
    return {"format": EXPORT_FORMAT, "version": EXPORT_FORMAT_VERSION, "model_sha256": model_hash,
            "model": str(info.path), **info.to_dict(), "versions": versions(), **extra}


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read the export metadata ({e})", path, "export the model again") from None
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise UserError("is not dvta-live export metadata", path, "export the model again with dvta export")
    return data


__all__ = ["DEFAULT_STEM", "EXAMPLE_SIDE_NAMES", "EXPORT_FORMAT_VERSION", "METADATA_KEY", "OPSET", "TEXT_SIDE_NAMES",
           "WINDOW_INPUTS", "ExportPaths",
           "default_export_paths", "export_metadata", "onnx_cache_dir",
           "read_json", "versions"]
