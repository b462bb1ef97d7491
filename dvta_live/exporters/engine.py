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
from pathlib import Path
from typing import Any

from dvta_live.cuda import CudaDevice, gpu_identity
from dvta_live.errors import UserError
from dvta_live.exporters.profile import (
    EXAMPLE_SIDE_NAMES,
    FEATURE_DIM,
    TEXT_SIDE_NAMES,
    ProfileBounds,
    fast_fp16,
)
from dvta_live.outputs import write_bytes_atomic

ENGINE_MAGIC = b"DVTAENG1"
ENGINE_HEADER_VERSION = 3  # 2: fp32 engines are strict fp32 (TF32 cleared); "tf32" recorded; 3: the
# window graph takes the example side and gives the feature, the profile bounds K (examples)
_MAX_HEADER = 1 << 20  # a header is a few kB; anything larger is a corrupt length
_REBUILD = "rebuild it on this machine: dvta export --format engine"
_TRT_INSTALL = "on a machine with an NVIDIA GPU and CUDA torch: pip install 'dvta-live[tensorrt]' (TensorRT 10.x)"
# The engine code is written against TensorRT 10's API (weakly typed networks: BuilderFlag.FP16 / TF32,
# which TensorRT 11 removes); pyproject pins the extra to the same major.
TENSORRT_MAJOR = 10


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


def tensorrt_version_problem(version: str) -> str | None:
    """Why this TensorRT version cannot build or run dvta-live engines, in one line (None: it can)."""
    try:
        major = int(str(version).split(".")[0])
    except ValueError:
        return f"TensorRT reports an unreadable version {version!r}"
    if major != TENSORRT_MAJOR:
        return (f"TensorRT {version} is installed; dvta-live's engine code is written for TensorRT "
                f"{TENSORRT_MAJOR}.x (pip install 'tensorrt>={TENSORRT_MAJOR},<{TENSORRT_MAJOR + 1}')")
    return None


def tensorrt_missing() -> str | None:
    """What is missing to build or run TensorRT engines here, in one line (None: nothing)."""
    missing, version = [], None
    try:
        import tensorrt

        version = tensorrt_version_problem(getattr(tensorrt, "__version__", "?"))
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
        return version  # None, or another major: a line of its own
    missing += [version] if version else []
    return "TensorRT engines need an NVIDIA GPU and TensorRT: " + "; ".join(missing) + f"; to fix, {_TRT_INSTALL}"


def require_tensorrt() -> Any:
    """The tensorrt module, or a UserError saying exactly what is missing (another major included)."""
    missing = tensorrt_missing()
    if missing:
        raise UserError(missing)
    import tensorrt as trt

    return trt


# ------------------------------------------------------------------------------------------ export


def export_engine(onnx_path: str | Path, out: str | Path, *, metadata: dict[str, Any],
                  profile: ProfileBounds | None = None, fp16: bool | None = None,
                  timing_cache: str | Path | None = None, workspace_gib: float = 4.0, device: int = 0,
                  notes: list[str] | None = None) -> Path:
    """Build a TensorRT engine from an exported graph (``window`` or ``recognizer``) and write it, with
    its header, to ``out``. ``metadata``: the export's metadata (model hash, dims; ``onnx_metadata``).

    fp16 (None: when the GPU's compute capability has fast fp16) lets TensorRT pick fp16 kernels; inputs
    and outputs stay fp32. An fp32 engine is strict fp32 (TF32 off), so ``--check``'s fp32 tolerance
    holds. One optimisation profile covers ``profile``'s B and C ranges. ``timing_cache`` (read if
    present and timed on this GPU and TensorRT, written after the build) makes rebuilds much faster.
    What the caller should hear (a refused timing cache) is appended to ``notes``.
    """
    trt = require_tensorrt()
    profile = profile or ProfileBounds()
    profile.validate()
    notes = notes if notes is not None else []
    onnx_path, out = Path(onnx_path), Path(out)
    window, text_dim = int(metadata["recipe"]["window"]), int(metadata["text_dim"])
    # COCO-17 keypoint models (recipe plane keypoints2d) take 17 joints per body, skeleton models 25
    geometry = {"joints": 17 if metadata["recipe"].get("plane") == "keypoints2d" else 25,
                "feature_dim": int(metadata.get("feature_dim") or FEATURE_DIM)}
    cache_path = Path(timing_cache) if timing_cache else None
    cuda = CudaDevice(device)
    with cuda.scope():  # TensorRT builds for the current CUDA device
        gpu, capability = cuda.identity()
        use_fp16 = fast_fp16(capability) if fp16 is None else bool(fp16)
        serialized, inputs, tf32 = _build(trt, onnx_path, window, text_dim, profile, use_fp16, cache_path,
                                          workspace_gib, notes, geometry)
    header = {"model_sha256": metadata["model_sha256"], "tensorrt": trt.__version__, "gpu": gpu,
              "compute_capability": list(capability), "precision": "fp16" if use_fp16 else "fp32",
              "tf32": tf32, "graph": metadata.get("graph", "window"), "onnx": onnx_path.name, "inputs": inputs,
              "window": window, "text_dim": text_dim, "feature_dim": metadata.get("feature_dim"),
              "architecture": metadata.get("architecture"), "recipe": metadata.get("recipe"),
              "text_model": metadata.get("text_model"), "profile": profile.to_dict()}
    write_bytes_atomic(out, pack_engine(header, serialized))
    return out


def _build(trt: Any, onnx_path: Path, window: int, text_dim: int, profile: ProfileBounds, use_fp16: bool,
           cache_path: Path | None, workspace_gib: float, notes: list[str],
           geometry: dict[str, int]) -> tuple[bytes, list[str], bool]:
    """(serialized engine, graph inputs, whether TF32 was allowed) for the current CUDA device."""
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch is TensorRT 10's only mode (its flag is deprecated)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes(), str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise UserError(f"TensorRT cannot parse this ONNX graph: {errors[:300]}", onnx_path,
                        "export it again with dvta export (opset 17)")
    inputs = [network.get_input(i).name for i in range(network.num_inputs)]
    unknown = [n for n in inputs if n not in ("skeleton", "text", *TEXT_SIDE_NAMES, *EXAMPLE_SIDE_NAMES)]
    if unknown or "skeleton" not in inputs:
        raise UserError(f"graph inputs {inputs} are not a dvta-live recogniser's", onnx_path,
                        "build from recognizer.window.onnx or recognizer.onnx written by dvta export")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
    if use_fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    else:
        # TensorRT 10 allows TF32 by default: a 10-bit mantissa in convolutions and matmuls (~4e-4 on these
        # graphs) that an engine labelled fp32, and --check's fp32 tolerance, must not have.
        config.clear_flag(trt.BuilderFlag.TF32)
    tf32 = bool(config.get_flag(trt.BuilderFlag.TF32))
    optimisation = builder.create_optimization_profile()
    for name in inputs:
        optimisation.set_shape(name, *profile.shapes(name, window, text_dim, **geometry))
    if config.add_optimization_profile(optimisation) < 0:
        raise UserError(f"TensorRT refused the optimisation profile {profile.to_dict()}", onnx_path,
                        "check --min/--opt/--max-batch, -classes and -examples")
    _attach_timing_cache(config, cache_path, notes)

    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise UserError("TensorRT could not build an engine from this graph (see its log above)", onnx_path,
                        "try a smaller --max-batch / --max-classes or --workspace larger")
    cache = config.get_timing_cache() if cache_path is not None else None
    if cache is not None:  # keep what this build timed, for the next one
        write_bytes_atomic(cache_path, bytes(memoryview(cache.serialize())))
    return bytes(memoryview(serialized)), inputs, tf32


def _attach_timing_cache(config: Any, path: Path | None, notes: list[str]) -> None:
    """The timing cache at ``path`` if TensorRT takes it, else a fresh one (written over it after the build).

    A cache travels with a copied model folder; ``set_timing_cache(..., ignore_mismatch=False)`` refuses
    one timed on another GPU or TensorRT version (its timings would mislead tactic selection), and a
    damaged file does not even load."""
    data = path.read_bytes() if path is not None and path.is_file() else b""
    if data:
        cache = config.create_timing_cache(data)
        if cache is not None and config.set_timing_cache(cache, False):
            return
        notes.append(f"{path}: a timing cache of another GPU or TensorRT version, or damaged; timing this "
                     "build from scratch and replacing it")
    cache = config.create_timing_cache(b"")
    if cache is None or not config.set_timing_cache(cache, False):
        notes.append("TensorRT gave no fresh timing cache; building without one")


__all__ = ["ENGINE_MAGIC", "TENSORRT_MAJOR", "CudaDevice", "ProfileBounds", "check_engine_header", "export_engine",
           "gpu_identity", "pack_engine", "parse_engine_bytes", "read_engine_file", "read_engine_header",
           "require_tensorrt", "tensorrt_missing", "tensorrt_version_problem"]
