"""Opening a runtime by name, and ``auto``: the fastest that runs here, with the reason in ``describe()``."""

from __future__ import annotations

from pathlib import Path

from dvta_live.errors import UserError
from dvta_live.exporters.common import DEFAULT_STEM
from dvta_live.exporters.engine import tensorrt_missing
from dvta_live.exporters.onnx_export import export_to_cache, find_onnx_export
from dvta_live.model import load_model_net, model_sha256
from dvta_live.runtimes.base import RUNTIMES, Runtime
from dvta_live.runtimes.onnx_runtime import OnnxRuntime
from dvta_live.runtimes.tensorrt_runtime import TensorRTRuntime
from dvta_live.runtimes.torch_runtime import TorchRuntime


def available_runtimes(model_path: str | Path | None = None) -> dict[str, str | None]:
    """Runtime -> None when it can run here, else why not (one line). ``tensorrt`` also needs an engine
    of this model (``model_path``) beside it, since building one takes minutes and is never implicit."""
    out: dict[str, str | None] = {"torch": None}
    try:
        import onnxruntime  # noqa: F401

        out["onnx"] = None
    except Exception:  # noqa: BLE001
        out["onnx"] = "onnxruntime is not installed (pip install onnxruntime)"
    out["tensorrt"] = tensorrt_missing()
    if out["tensorrt"] is None and model_path is not None:
        engine = _engine_beside(model_path)
        if engine is None:
            out["tensorrt"] = "no engine of this model built yet (dvta export --format engine)"
    return out


def _engine_beside(model_path: str | Path) -> Path | None:
    p = Path(model_path)
    engine = (p if p.is_dir() else p.parent) / f"{DEFAULT_STEM}.engine"
    return engine if engine.is_file() else None


def _gpu_providers() -> bool:
    try:
        import onnxruntime as ort
    except Exception:  # noqa: BLE001
        return False
    return bool({"TensorrtExecutionProvider", "CUDAExecutionProvider"} & set(ort.get_available_providers()))


def _cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


def open_runtime(model_path: str | Path, runtime: str = "auto", *, device: str | None = None,
                 onnx: str | Path | None = None, engine: str | Path | None = None,
                 threads: int | None = None) -> Runtime:
    """The runtime asked for; ``auto``: the fastest available, with the choice in ``describe()``.

    auto's order (measured, ``bench/bench_runtime.py``): a TensorRT engine of this model; ONNX Runtime
    on a GPU provider; PyTorch on CUDA; ONNX Runtime on the CPU; PyTorch on the CPU.
    """
    if runtime not in RUNTIMES:
        raise UserError(f"unknown runtime {runtime!r}", fix=f"use one of {', '.join(RUNTIMES)}")
    if runtime == "torch":
        return TorchRuntime(model_path, device or "cpu", threads)
    if runtime == "onnx":
        reason = available_runtimes()["onnx"]
        if reason:
            raise UserError(reason)
        return _onnx(model_path, onnx, threads)
    if runtime == "tensorrt":
        return TensorRTRuntime(model_path, engine)
    # auto
    why = available_runtimes(model_path if engine is None else None)
    if why["tensorrt"] is None:
        try:
            return _auto(TensorRTRuntime(model_path, engine), "TensorRT engine")
        except UserError as exc:  # a stale engine: say why and take the next fastest
            why["tensorrt"] = str(exc)
    if why["onnx"] is None and _gpu_providers():
        return _auto(_onnx(model_path, onnx, threads), "ONNX Runtime on the GPU")
    if _cuda():
        return _auto(TorchRuntime(model_path, "cuda"), f"PyTorch CUDA; no GPU ONNX Runtime; {why['tensorrt']}")
    if why["onnx"] is None:
        return _auto(_onnx(model_path, onnx, threads), "ONNX Runtime is the fastest on a CPU")
    return _auto(TorchRuntime(model_path, "cpu", threads), str(why["onnx"]))


def _onnx(model_path: str | Path, onnx: str | Path | None, threads: int | None) -> OnnxRuntime:
    """ONNX Runtime on this model's graphs, exported into the cache first when it has none (first use;
    ``describe()`` says so)."""
    notes: list[str] = []
    if onnx is None:
        model, info = load_model_net(model_path)
        if find_onnx_export(info, model_sha256(info), None, notes) is None:
            onnx = export_to_cache((model, info), info, model_sha256(info), notes).folder
        del model
        return OnnxRuntime(model_path, onnx, threads=threads, notes=notes, info=info)
    return OnnxRuntime(model_path, onnx, threads=threads, notes=notes)


def _auto(rt: Runtime, why: str) -> Runtime:
    inner = rt.describe

    def describe() -> str:
        return f"{inner()} [auto: {why}]"

    rt.describe = describe  # type: ignore[method-assign]
    return rt


__all__ = ["available_runtimes", "open_runtime"]
