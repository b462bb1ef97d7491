"""``export_engine``: an exported ONNX graph -> a TensorRT engine file with a dvta-live header.

TensorRT is optional (``pip install 'dvta-live[tensorrt]'``) and imported only inside the functions that
need it. An engine only runs with the TensorRT version and the GPU it was built with, and only computes
the model it was built from, so the file starts with a header that says all three::

    b"DVTAENG1"  8 bytes, magic
    uint32 LE    length N of the JSON that follows
    N bytes      JSON: model_sha256, tensorrt version, gpu name, compute capability, dims, profiles...
    ...          the serialized engine (what ``build_serialized_network`` returned)

``read_engine_file`` + ``check_engine_header`` refuse a stale or mismatched engine in one clear line,
without TensorRT (so the check itself is testable on any machine).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dvta_live.errors import UserError
from dvta_live.export.common import TEXT_SIDE_NAMES
from dvta_live.outputs import write_bytes_atomic

ENGINE_MAGIC = b"DVTAENG1"
ENGINE_HEADER_VERSION = 1
_MAX_HEADER = 1 << 20  # a header is a few kB; anything larger is a corrupt length
_REBUILD = "rebuild it on this machine: dvta export --format engine"
_TRT_INSTALL = "on a machine with an NVIDIA GPU and CUDA torch: pip install 'dvta-live[tensorrt]' (TensorRT 10.x)"


@dataclass(frozen=True)
class ProfileBounds:
    """min / opt / max of the two dynamic axes, B (windows per call) and C (classes)."""

    min_batch: int = 1
    opt_batch: int = 16
    max_batch: int = 64
    min_classes: int = 1
    opt_classes: int = 60
    max_classes: int = 256

    def validate(self) -> None:
        for axis, lo, mid, hi in (("batch", self.min_batch, self.opt_batch, self.max_batch),
                                  ("classes", self.min_classes, self.opt_classes, self.max_classes)):
            if not 1 <= lo <= mid <= hi:
                raise UserError(f"profile {axis} needs 1 <= min <= opt <= max, got {lo}, {mid}, {hi}",
                                fix=f"fix --min-{axis} / --opt-{axis} / --max-{axis}")

    def to_dict(self) -> dict[str, list[int]]:
        return {"batch": [self.min_batch, self.opt_batch, self.max_batch],
                "classes": [self.min_classes, self.opt_classes, self.max_classes]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProfileBounds:
        b, c = data["batch"], data["classes"]
        return cls(int(b[0]), int(b[1]), int(b[2]), int(c[0]), int(c[1]), int(c[2]))


# ------------------------------------------------------------------------------------------ header


def pack_engine(header: dict[str, Any], engine: bytes) -> bytes:
    """The engine file's bytes: magic, JSON length, JSON header, serialized engine."""
    blob = json.dumps({"header_version": ENGINE_HEADER_VERSION, **header}, sort_keys=True).encode()
    return ENGINE_MAGIC + struct.pack("<I", len(blob)) + blob + engine


def parse_engine_bytes(data: bytes, path: str | Path | None = None) -> tuple[dict[str, Any], bytes]:
    """(header, serialized engine) of an engine file's bytes; refused when it has no dvta-live header."""
    if data[:len(ENGINE_MAGIC)] != ENGINE_MAGIC:
        raise UserError("is not a dvta-live engine (no DVTAENG1 header: built by another tool or truncated)",
                        path, _REBUILD)
    start = len(ENGINE_MAGIC) + 4
    if len(data) < start:
        raise UserError("is a truncated dvta-live engine", path, _REBUILD)
    (size,) = struct.unpack("<I", data[len(ENGINE_MAGIC):start])
    if size > _MAX_HEADER or start + size > len(data):
        raise UserError("has a corrupt dvta-live engine header (bad length)", path, _REBUILD)
    try:
        header = json.loads(data[start:start + size])
    except ValueError:
        raise UserError("has a corrupt dvta-live engine header (bad JSON)", path, _REBUILD) from None
    if not isinstance(header, dict) or header.get("header_version") != ENGINE_HEADER_VERSION:
        raise UserError("has an engine header of another dvta-live version", path, _REBUILD)
    engine = data[start + size:]
    if not engine:
        raise UserError("holds a header but no engine", path, _REBUILD)
    return header, engine


def read_engine_file(path: str | Path) -> tuple[dict[str, Any], bytes]:
    path = Path(path)
    if not path.is_file():
        raise UserError("no such engine file", path, "build one: dvta export --format engine")
    return parse_engine_bytes(path.read_bytes(), path)


def read_engine_header(path: str | Path) -> dict[str, Any]:
    """The header alone, reading only the first bytes of the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError("no such engine file", path, "build one: dvta export --format engine")
    with open(path, "rb") as f:
        head = f.read(len(ENGINE_MAGIC) + 4)
        if len(head) == len(ENGINE_MAGIC) + 4 and head[:len(ENGINE_MAGIC)] == ENGINE_MAGIC:
            (size,) = struct.unpack("<I", head[len(ENGINE_MAGIC):])
            head += f.read(min(size, _MAX_HEADER)) + f.read(1)
    return parse_engine_bytes(head, path)[0]


def check_engine_header(header: dict[str, Any], *, model_sha256: str, tensorrt_version: str | None = None,
                        gpu_name: str | None = None, compute_capability: tuple[int, int] | None = None,
                        path: str | Path | None = None) -> None:
    """Refuse an engine built from another model, another TensorRT or another GPU (None: not checked)."""
    if header.get("model_sha256") != model_sha256:
        raise UserError(f"this engine was built from another model (model hash "
                        f"{str(header.get('model_sha256'))[:12]}, this model is {model_sha256[:12]})", path,
                        "rebuild it from this model: dvta export --model MODEL --format engine")
    problems = []
    if tensorrt_version is not None and header.get("tensorrt") != tensorrt_version:
        problems.append(f"TensorRT {header.get('tensorrt')} (this machine has {tensorrt_version})")
    if compute_capability is not None and list(header.get("compute_capability") or []) != list(compute_capability):
        built = ".".join(map(str, header.get("compute_capability") or ["?"]))
        problems.append(f"compute capability {built} (this GPU is "
                        f"{'.'.join(map(str, compute_capability))})")
    if gpu_name is not None and header.get("gpu") != gpu_name:
        problems.append(f"GPU {header.get('gpu')} (this one is {gpu_name})")
    if problems:
        raise UserError(f"this engine was built for {'; '.join(problems)}", path, _REBUILD)


# ------------------------------------------------------------------------------------ availability


def tensorrt_missing() -> str | None:
    """What is missing to build or run TensorRT engines here, in one line (None: nothing)."""
    missing = []
    try:
        import tensorrt  # noqa: F401
    except Exception:  # noqa: BLE001 - ImportError, or a broken install failing to load its libraries
        missing.append("the tensorrt Python package is not installed")
    try:
        import torch

        if not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
            missing.append(f"no CUDA GPU is visible to torch {torch.__version__} ({build})")
    except Exception:  # noqa: BLE001
        missing.append("torch is not importable")
    if not missing:
        return None
    return "TensorRT engines need an NVIDIA GPU and TensorRT: " + "; ".join(missing) + f"; to fix, {_TRT_INSTALL}"


def require_tensorrt() -> Any:
    """The tensorrt module, or a UserError saying exactly what is missing."""
    missing = tensorrt_missing()
    if missing:
        raise UserError(missing)
    import tensorrt as trt

    if int(trt.__version__.split(".")[0]) < 10:
        raise UserError(f"TensorRT {trt.__version__} is too old: the engine code uses the 10.x tensor API",
                        fix="pip install 'tensorrt>=10'")
    return trt


def gpu_identity(device: int = 0) -> tuple[str, tuple[int, int]]:
    """(GPU name, compute capability) of a CUDA device, as the header records them."""
    import torch

    props = torch.cuda.get_device_properties(device)
    return str(props.name), (int(props.major), int(props.minor))


def _profile_shapes(name: str, window: int, text_dim: int, p: ProfileBounds) -> tuple[tuple[int, ...], ...]:
    """(min, opt, max) shape of one input of the window or recogniser graph."""
    d, h = text_dim, 2 * text_dim

    def shape(b: int, c: int) -> tuple[int, ...]:
        return {"skeleton": (b, 3, window, 25, 2), "text": (c, 2, d), "keys": (3, c, d), "sq_ctx": (c,),
                "dot_ctx_delta": (c,), "sq_delta": (c,), "metric_base": (c, h), "metric_delta": (c, h)}[name]

    return (shape(p.min_batch, p.min_classes), shape(p.opt_batch, p.opt_classes),
            shape(p.max_batch, p.max_classes))


# ------------------------------------------------------------------------------------------ export


def export_engine(onnx_path: str | Path, out: str | Path, *, metadata: dict[str, Any],
                  profile: ProfileBounds | None = None, fp16: bool | None = None,
                  timing_cache: str | Path | None = None, workspace_gib: float = 4.0, device: int = 0) -> Path:
    """Build a TensorRT engine from an exported graph (``window`` or ``recognizer``) and write it, with
    its header, to ``out``. ``metadata``: the export's metadata (model hash, dims; ``onnx_metadata``).

    fp16 (None: when ``builder.platform_has_fast_fp16``) lets TensorRT pick fp16 kernels; inputs and
    outputs stay fp32. One optimisation profile covers ``profile``'s B and C ranges. ``timing_cache``
    (read if present, written after the build) makes rebuilds of the same layers much faster.
    """
    trt = require_tensorrt()
    import torch

    profile = profile or ProfileBounds()
    profile.validate()
    onnx_path, out = Path(onnx_path), Path(out)
    window, text_dim = int(metadata["recipe"]["window"]), int(metadata["text_dim"])
    torch.cuda.set_device(device)
    gpu, capability = gpu_identity(device)

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    # Explicit batch is the only mode in TensorRT 10 (the flag is deprecated there, gone after): pass it
    # only where it still exists, so the same code builds on 10.x and later.
    flag = getattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH", None)
    network = builder.create_network(0 if flag is None else 1 << int(flag))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise UserError(f"TensorRT cannot parse this ONNX graph: {errors[:300]}", onnx_path,
                        "export it again with dvta export (opset 17)")
    inputs = [network.get_input(i).name for i in range(network.num_inputs)]
    unknown = [n for n in inputs if n not in ("skeleton", "text", *TEXT_SIDE_NAMES)]
    if unknown:
        raise UserError(f"graph inputs {unknown} are not a dvta-live recogniser's", onnx_path,
                        "build from recognizer.window.onnx or recognizer.onnx written by dvta export")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
    use_fp16 = bool(builder.platform_has_fast_fp16) if fp16 is None else bool(fp16)
    if use_fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    optimisation = builder.create_optimization_profile()
    for name in inputs:
        optimisation.set_shape(name, *_profile_shapes(name, window, text_dim, profile))
    config.add_optimization_profile(optimisation)
    cache_path = Path(timing_cache) if timing_cache else None
    cache_bytes = cache_path.read_bytes() if cache_path is not None and cache_path.is_file() else b""
    cache = config.create_timing_cache(cache_bytes)
    config.set_timing_cache(cache, False)  # False: refuse a cache from another GPU / version

    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise UserError("TensorRT could not build an engine from this graph (see its log above)", onnx_path,
                        "try a smaller --max-batch / --max-classes or --workspace larger")
    if cache_path is not None:  # keep what this build timed, for the next one
        write_bytes_atomic(cache_path, bytes(memoryview(config.get_timing_cache().serialize())))

    header = {"model_sha256": metadata["model_sha256"], "tensorrt": trt.__version__, "gpu": gpu,
              "compute_capability": list(capability), "precision": "fp16" if use_fp16 else "fp32",
              "graph": metadata.get("graph", "window"), "onnx": onnx_path.name, "inputs": inputs,
              "window": window, "text_dim": text_dim, "feature_dim": metadata.get("feature_dim"),
              "architecture": metadata.get("architecture"), "recipe": metadata.get("recipe"),
              "text_model": metadata.get("text_model"), "profile": profile.to_dict()}
    write_bytes_atomic(out, pack_engine(header, bytes(memoryview(serialized))))
    return out


__all__ = ["ENGINE_MAGIC", "ProfileBounds", "check_engine_header", "export_engine", "gpu_identity",
           "pack_engine", "parse_engine_bytes", "read_engine_file", "read_engine_header", "require_tensorrt",
           "tensorrt_missing"]
