"""ONNX Runtime on the exported pair of graphs (``dvta export``, or the cache ``load`` exports to)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dvta_live.cache import cache_folder
from dvta_live.errors import UserError
from dvta_live.exporters.common import TEXT_SIDE_NAMES
from dvta_live.exporters.onnx_export import find_onnx_export
from dvta_live.exporters.profile import WINDOW_INPUTS, ProfileBounds
from dvta_live.model import ModelInfo, load_model_net, model_sha256
from dvta_live.runtimes.base import Examples, PreparedText, Runtime

# Execution providers in order of preference; only those this onnxruntime build has are used.
ORT_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
_ORT_NAMES = {"TensorrtExecutionProvider": "onnxruntime-tensorrt", "CUDAExecutionProvider": "onnxruntime-cuda",
              "CPUExecutionProvider": "onnxruntime-cpu"}


# What ONNX Runtime's TensorRT provider builds its engines for: the same defaults as `dvta export --format
# engine`, through the same shape table, so both accept the same batches and labels files.
ORT_TENSORRT_PROFILE = ProfileBounds()


def _shape_spec(shapes: dict[str, tuple[int, ...]]) -> str:
    """ORT's TensorRT EP profile syntax: ``name:1x3x50x25x2,keys:3x1x384``."""
    return ",".join(f"{n}:{'x'.join(map(str, s))}" for n, s in shapes.items())


def ort_tensorrt_profile(profile: ProfileBounds, window: int, text_dim: int, *, joints: int = 25,
                         feature_dim: int = 256) -> dict[str, str]:
    """The TensorRT provider's explicit profile options for the window graph's inputs."""
    shapes = {name: profile.shapes(name, window, text_dim, joints=joints, feature_dim=feature_dim)
              for name in WINDOW_INPUTS}
    return {f"trt_profile_{kind}_shapes": _shape_spec({n: s[i] for n, s in shapes.items()})
            for i, kind in enumerate(("min", "opt", "max"))}


class OnnxRuntime(Runtime):
    """ONNX Runtime on the exported pair: the text graph once per labels file, the window graph per call.

    Providers: TensorRT EP (fp16, engine + timing cache in the cache folder), CUDA EP, CPU EP, the
    first of them this build has, falling back down the list (``providers`` overrides the order).
    """

    def __init__(self, model_path: str | Path, onnx: str | Path | None = None, *,
                 providers: tuple[str, ...] | list[str] | None = None, threads: int | None = None,
                 device_id: int = 0, notes: list[str] | None = None, info: ModelInfo | None = None) -> None:
        """``onnx``: the exported graphs (a folder or X.onnx); None: beside the model, else the cache.
        This never exports: ``open_runtime(model, "onnx")`` (what ``load`` calls) exports on first use.
        ``info``: the model's, when the caller has loaded it already (it is not loaded twice)."""
        import onnxruntime as ort

        self._ort = ort
        self.info = info if info is not None else load_model_net(model_path)[1]  # validates the pair
        self.model_hash = model_sha256(self.info)
        self.notes: list[str] = list(notes or [])
        paths = find_onnx_export(self.info, self.model_hash, onnx, self.notes)
        if paths is None:
            raise UserError("has no ONNX export", self.info.path,
                            "export it: dvta export --model MODEL (or open it with dvta_live.load(MODEL, "
                            "runtime='onnx'), which exports it to the cache on first use)")
        self.paths = paths
        available = set(ort.get_available_providers())
        wanted = [p for p in (providers or ORT_PROVIDERS) if p in available]
        if not wanted:
            raise UserError(f"none of the execution providers {list(providers or ORT_PROVIDERS)} is in this "
                            f"onnxruntime (it has {sorted(available)})", fix="pick one of those")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # EP fallbacks are reported through get_providers, not the log
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.threads = threads
        engine_cache = cache_folder("ort-trt", self.model_hash[:16])
        session_providers = [self._provider(p, device_id, engine_cache) for p in wanted]
        self.window_session = ort.InferenceSession(str(self.paths.window), options, providers=session_providers)
        # the class side is computed once per labels file: the CPU is always fast enough and keeps the
        # GPU EPs from building engines for a graph run once
        self.text_session = ort.InferenceSession(str(self.paths.text), options,
                                                 providers=["CPUExecutionProvider"])
        self.provider = self.window_session.get_providers()[0]
        self.name = _ORT_NAMES.get(self.provider, f"onnxruntime-{self.provider}")
        # the TensorRT provider builds its engines for these bounds: batches are split to them like an engine's
        self.profile = ORT_TENSORRT_PROFILE if self.provider == "TensorrtExecutionProvider" else None
        self._side_names = TEXT_SIDE_NAMES
        self._window_inputs = {i.name for i in self.window_session.get_inputs()}
        self._on_gpu = self.provider != "CPUExecutionProvider"
        self.graphs = f"{self.paths.text.name} + {self.paths.window.name}"
        self._device_id = device_id

    def _provider(self, name: str, device_id: int, engine_cache: Path) -> Any:
        if name == "TensorrtExecutionProvider":
            engine_cache.mkdir(parents=True, exist_ok=True)
            return (name, {"device_id": device_id, "trt_fp16_enable": True,
                           "trt_engine_cache_enable": True, "trt_engine_cache_path": str(engine_cache),
                           "trt_timing_cache_enable": True, "trt_timing_cache_path": str(engine_cache),
                           **ort_tensorrt_profile(ORT_TENSORRT_PROFILE, self.info.window, self.info.text_dim,
                                                  joints=self.info.recipe.num_joints,
                                                  feature_dim=self.info.feature_dim)})
        if name == "CUDAExecutionProvider":
            return (name, {"device_id": device_id})
        return name

    def prepare_text(self, text: np.ndarray, examples: Examples | None = None) -> PreparedText:
        text = self._check_text(text)
        self.check_classes(int(text.shape[0]))
        side = dict(zip(self._side_names, self.text_session.run(list(self._side_names), {"text": text}),
                        strict=True))
        side["example_keys"], side["example_values"] = self._check_examples(examples, int(text.shape[0]))
        side = {n: v for n, v in side.items() if n in self._window_inputs}  # "context": only with a bridge
        if self._on_gpu:  # upload once per labels file, not once per window
            side = {n: self._ort.OrtValue.ortvalue_from_numpy(v, "cuda", self._device_id) for n, v in side.items()}
        return PreparedText(int(text.shape[0]), side)

    def scores(self, windows: np.ndarray, text: PreparedText) -> np.ndarray:
        windows = self._check_windows(windows)
        return self._batched(windows, text.num_classes, lambda chunk: self._run(chunk, text.value))

    def features(self, windows: np.ndarray, text: PreparedText) -> np.ndarray:
        windows = self._check_windows(windows)
        return self._batched(windows, self.info.feature_dim,
                             lambda chunk: self._run(chunk, text.value, "feature"))

    def _run(self, windows: np.ndarray, side: dict[str, Any], output: str = "scores") -> np.ndarray:
        if not self._on_gpu:
            return self.window_session.run([output], {"skeleton": windows, **side})[0]
        binding = self.window_session.io_binding()
        binding.bind_cpu_input("skeleton", windows)
        for name, value in side.items():
            binding.bind_ortvalue_input(name, value)
        binding.bind_output(output)
        self.window_session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]

    def describe(self) -> str:
        threads = f", {self.threads} thread{'s' if self.threads != 1 else ''}" if self.threads else ""
        notes = "".join(f"; note: {n}" for n in self.notes)
        return (f"{self.name} (onnxruntime {self._ort.__version__}, {self.provider}{threads}; "
                f"{self.paths.window}{notes})")


__all__ = ["ORT_PROVIDERS", "ORT_TENSORRT_PROFILE", "OnnxRuntime", "ort_tensorrt_profile"]
