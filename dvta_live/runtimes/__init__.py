"""One small interface over the ways to run a recogniser (PyTorch eager here; ONNX Runtime and TensorRT
beside it), used by the live loop, evaluation and the benchmarks.

    runtime = open_runtime("models/default", "auto")
    text = runtime.prepare_text(labels_tensor.embeddings)   # once per labels file: [C, 2, D]
    scores = runtime.scores(windows, text)                  # per window: recipe output [B, 3, T, 25, 2]

``prepare_text`` returns an opaque, immutable handle: the class side of the DVTA head computed once
(``DVTAHead.encode_text``), so a hot reload swaps one reference and a window in flight keeps the handle
it started with. Inputs are the recipe's output (``runtime.info.recipe.apply``), never raw skeletons:
preprocessing lives in one place, in numpy, identical for every runtime.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dvta_live.errors import UserError
from dvta_live.export.profile import ProfileBounds
from dvta_live.model import ModelInfo

RUNTIMES = ("auto", "tensorrt", "onnx", "torch")
# The example side of a labels file (dvta.examples.example_side): keys [K, F + 1], values [K, C]
Examples = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True, eq=False)
class PreparedText:
    """A runtime's class side for one text tensor. ``value`` is runtime-specific; treat it as opaque."""

    num_classes: int
    value: Any


class Runtime(ABC):
    """Scores preprocessed skeleton windows against prepared text."""

    name: str  # "torch", "onnxruntime-cpu", "tensorrt", ...
    info: ModelInfo
    # The B and C a runtime built for fixed shape ranges accepts (a TensorRT engine's profile); None: any.
    profile: ProfileBounds | None = None

    @abstractmethod
    def prepare_text(self, text: np.ndarray, examples: Examples | None = None) -> PreparedText:
        """[C, 2, D] float32 text tensor (and the labels' example side, ``dvta.examples.example_side``: keys
        [K, F + 1], values [K, C]; None: text alone) -> the class side, computed once per labels file."""

    @abstractmethod
    def scores(self, windows: np.ndarray, text: PreparedText) -> np.ndarray:
        """[B, 3, window, 25, 2] float32 recipe output -> [B, C] float32 scores (logits), any B."""

    @abstractmethod
    def features(self, windows: np.ndarray, text: PreparedText) -> np.ndarray:
        """[B, 3, window, 25, 2] recipe output -> [B, F] float32 backbone features (what a recorded example
        is matched by); ``text`` is any prepared class side (an exported graph takes one)."""

    def describe(self) -> str:
        return self.name

    def close(self) -> None:
        """Release device memory / sessions."""

    def check_classes(self, num_classes: int) -> None:
        """Refuse, in one line, a labels file of ``num_classes`` this runtime cannot score. The labels
        watcher calls it on every reload, so a file too big is a rejected edit, not a crash mid-run."""
        p = self.profile
        if p is not None and not p.fits_classes(num_classes):
            raise UserError(f"the labels have {num_classes} classes; {self.name} is set up for "
                            f"{p.min_classes}-{p.max_classes}", fix="edit the labels, or use another --runtime")

    def _batched(self, windows: np.ndarray, num_classes: int, run: Any) -> np.ndarray:
        """``run(chunk)`` over chunks the profile accepts: a batch above max_batch is split, one below
        min_batch is padded with empty windows (their scores dropped). No profile: one call."""
        if self.profile is None:
            return run(windows)
        lo, hi = self.profile.min_batch, self.profile.max_batch
        out = []
        for start in range(0, len(windows), hi):
            chunk = windows[start:start + hi]
            n = len(chunk)
            if n < lo:
                chunk = np.concatenate([chunk, np.zeros((lo - n, *chunk.shape[1:]), chunk.dtype)])
            out.append(run(chunk)[:n])
        return np.concatenate(out) if out else np.zeros((0, num_classes), np.float32)

    def _check_text(self, text: np.ndarray) -> np.ndarray:
        # a copy: TextTensor's embeddings are read-only, which torch.from_numpy warns about (once per labels file)
        text = np.array(text, dtype=np.float32, copy=True, order="C")
        if text.ndim != 3 or text.shape[1] != 2 or text.shape[2] != self.info.text_dim or text.shape[0] < 1:
            raise UserError(f"text tensor is {list(text.shape)}, this model takes [C >= 1, 2, {self.info.text_dim}]",
                            self.info.path, f"encode the labels with {self.info.text_model}, the head's text model")
        return text

    def _check_examples(self, examples: Examples | None, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
        """The example side as float32 arrays, the all-zero row (adds nothing) when there is none."""
        from dvta_live.dvta.examples import example_side

        if examples is None:
            return example_side(np.zeros((0, self.info.feature_dim)), [], num_classes, feature_dim=self.info.feature_dim)
        keys, values = (np.ascontiguousarray(a, dtype=np.float32) for a in examples)
        if (keys.ndim != 2 or keys.shape[1] != self.info.feature_dim + 1 or values.shape != (len(keys), num_classes)
                or not len(keys)):
            raise ValueError(f"example side must be keys [K >= 1, {self.info.feature_dim + 1}] and values "
                             f"[K, {num_classes}], got {list(keys.shape)} and {list(values.shape)}")
        return keys, values

    def _check_windows(self, windows: np.ndarray) -> np.ndarray:
        windows = np.ascontiguousarray(windows, dtype=np.float32)
        expected = (3, self.info.window, 25, 2)
        if windows.ndim != 5 or tuple(windows.shape[1:]) != expected:
            raise ValueError(f"windows must be [B, {', '.join(map(str, expected))}] (the recipe's output), "
                             f"got {list(windows.shape)}")
        return windows


class TorchRuntime(Runtime):
    """PyTorch eager: the reference every exported runtime is checked against."""

    def __init__(self, model_path: str | Path, device: str = "cpu", threads: int | None = None) -> None:
        import torch

        from dvta_live.model import load_model_net

        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.device = torch.device(device)
        self.model, self.info = load_model_net(model_path, self.device)
        self.name = "torch" if self.device.type == "cpu" else f"torch-{self.device.type}"

    def prepare_text(self, text: np.ndarray, examples: Examples | None = None) -> PreparedText:
        from dvta_live.dvta.examples import ExampleSide

        text = self._check_text(text)
        keys, values = self._check_examples(examples, int(text.shape[0]))
        torch = self._torch
        with torch.inference_mode():
            side = self.model.head.encode_text(torch.from_numpy(text).to(self.device))
            ex = ExampleSide(torch.from_numpy(keys).to(self.device), torch.from_numpy(values).to(self.device))
        return PreparedText(int(text.shape[0]), (side, ex))

    def scores(self, windows: np.ndarray, text: PreparedText) -> np.ndarray:
        windows = self._check_windows(windows)
        side, examples = text.value
        with self._torch.inference_mode():
            x = self._torch.from_numpy(windows).to(self.device)
            out = self.model.head.score(self.model.features(x), side, examples=examples)
        return out.float().cpu().numpy()

    def features(self, windows: np.ndarray, text: PreparedText) -> np.ndarray:
        windows = self._check_windows(windows)
        with self._torch.inference_mode():
            out = self.model.features(self._torch.from_numpy(windows).to(self.device))
        return out.float().cpu().numpy()



    def describe(self) -> str:
        n = self._torch.get_num_threads()
        threads = f", {n} thread{'s' if n != 1 else ''}" if self.device.type == "cpu" else ""
        return f"{self.name} (PyTorch {self._torch.__version__} eager{threads})"


# ------------------------------------------------------------------------------------------ ONNX Runtime

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


def ort_tensorrt_profile(profile: ProfileBounds, window: int, text_dim: int) -> dict[str, str]:
    """The TensorRT provider's explicit profile options for the window graph's inputs."""
    from dvta_live.export.profile import WINDOW_INPUTS

    shapes = {name: profile.shapes(name, window, text_dim) for name in WINDOW_INPUTS}
    return {f"trt_profile_{kind}_shapes": _shape_spec({n: s[i] for n, s in shapes.items()})
            for i, kind in enumerate(("min", "opt", "max"))}


def find_onnx_export(info: ModelInfo, model_hash: str, onnx: str | Path | None = None,
                     model: Any = None, notes: list[str] | None = None) -> Any:
    """ExportPaths of this model's text + window graphs: ``onnx`` if given (refused when it is another
    model's), else beside the model, else the cache (exported there on first use).

    A cache entry that does not load (a truncated file) is rebuilt; an unwritable cache folder falls back
    to a temporary one. Both are said in ``notes`` (shown by ``describe()``)."""
    import atexit
    import shutil
    import tempfile

    from dvta_live.export.common import (
        EXPORT_FORMAT_VERSION,
        ExportPaths,
        default_export_paths,
        onnx_cache_dir,
    )
    from dvta_live.export.onnx_export import export_onnx, onnx_metadata
    from dvta_live.outputs import check_folder_writable

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
    try:
        check_folder_writable(cached.folder)
    except UserError as exc:
        cached = ExportPaths(Path(tempfile.mkdtemp(prefix="dvta-onnx-")))
        atexit.register(shutil.rmtree, cached.folder, ignore_errors=True)  # a one-run cache
        notes.append(f"the ONNX cache is not writable ({exc}); using {cached.folder} for this run "
                     "(set DVTA_CACHE to a writable folder to keep it)")
    export_onnx((model, info) if model is not None else info.path, cached.folder, whole=False)
    return cached


class OnnxRuntime(Runtime):
    """ONNX Runtime on the exported pair: the text graph once per labels file, the window graph per call.

    Providers: TensorRT EP (fp16, engine + timing cache in the cache folder), CUDA EP, CPU EP, the
    first of them this build has, falling back down the list (``providers`` overrides the order).
    """

    def __init__(self, model_path: str | Path, onnx: str | Path | None = None, *,
                 providers: tuple[str, ...] | list[str] | None = None, threads: int | None = None,
                 device_id: int = 0) -> None:
        import onnxruntime as ort

        from dvta_live.export.common import TEXT_SIDE_NAMES, cache_root, model_sha256
        from dvta_live.model import load_model_net

        self._ort = ort
        model, self.info = load_model_net(model_path)  # validates the pair; exported on first use
        self.model_hash = model_sha256(self.info)
        self.notes: list[str] = []
        self.paths = find_onnx_export(self.info, self.model_hash, onnx, model, self.notes)
        del model
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
        engine_cache = cache_root() / "ort-trt" / self.model_hash[:16]
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
                           **ort_tensorrt_profile(ORT_TENSORRT_PROFILE, self.info.window, self.info.text_dim)})
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


# ------------------------------------------------------------------------------------------ TensorRT


class TensorRTRuntime(Runtime):
    """A TensorRT engine built by ``dvta export --format engine``, run with the 10.x tensor API.

    Device buffers are torch CUDA tensors (their ``data_ptr`` goes to ``set_tensor_address``). The class
    side is computed once per labels file by the model's own head on the GPU (``encode_text``) and kept on
    the device. Batches are split to the engine's profile and padded up to its minimum (``_batched``); a
    labels file outside its classes is refused (``check_classes``).
    """

    def __init__(self, model_path: str | Path, engine: str | Path | None = None, *, device: int = 0) -> None:
        import threading

        import torch

        from dvta_live.export.common import default_export_paths, model_sha256
        from dvta_live.export.engine import (
            CudaDevice,
            check_engine_header,
            read_engine_file,
            require_tensorrt,
        )
        from dvta_live.model import load_model_net

        trt = require_tensorrt()
        self._torch, self._trt = torch, trt
        self._cuda = CudaDevice(device)
        self.device = self._cuda.device
        self.model, self.info = load_model_net(model_path, self.device)
        self.engine_path = Path(engine) if engine is not None else default_export_paths(self.info).engine
        header, blob = read_engine_file(self.engine_path)
        gpu, capability = self._cuda.identity()
        check_engine_header(header, model_sha256=model_sha256(self.info), tensorrt_version=trt.__version__,
                            gpu_name=gpu, compute_capability=capability, path=self.engine_path)
        self.header = header
        self.precision = str(header.get("precision", "fp32"))
        self._logger = trt.Logger(trt.Logger.WARNING)
        with self._cuda.scope():  # on device N, not whichever device happens to be current
            self._runtime = trt.Runtime(self._logger)
            self.engine = self._runtime.deserialize_cuda_engine(blob)
            if self.engine is None:
                raise UserError("TensorRT could not deserialize this engine", self.engine_path,
                                "rebuild it: dvta export --format engine")
            self.context = self.engine.create_execution_context()
        if self.context is None:
            raise UserError("TensorRT could not create an execution context for this engine (GPU memory?)",
                            self.engine_path, "free GPU memory, or rebuild with a smaller --max-batch")
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if n not in self.inputs]
        if self.outputs not in (["scores"], ["scores", "feature"]) or "skeleton" not in self.inputs:
            raise UserError(f"engine tensors {names} are not a dvta-live engine's", self.engine_path,
                            "rebuild it: dvta export --format engine")
        self._dtypes = {n: _torch_dtype(torch, trt, self.engine.get_tensor_dtype(n), self.engine_path)
                        for n in names}
        self.profile = self._engine_profile()
        self._lock = threading.Lock()  # one execution context: one call at a time
        self.name = "tensorrt"
        self.graphs = f"{self.engine_path.name} ({header.get('graph', 'window')} graph)"

    def profile_shapes(self, name: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """The engine's own (min, opt, max) shape of an input (profile 0)."""
        lo, mid, hi = self.engine.get_tensor_profile_shape(name, 0)
        return tuple(lo), tuple(mid), tuple(hi)

    def _engine_profile(self) -> ProfileBounds:
        """The B and C bounds the engine itself was built with; refused when its header says otherwise."""
        batch = [shape[0] for shape in self.profile_shapes("skeleton")]
        if "text" in self.inputs:  # whole-recogniser graph: text [C, 2, D]
            classes = [shape[0] for shape in self.profile_shapes("text")]
        else:  # window graph: keys [3, C, D]
            classes = [shape[1] for shape in self.profile_shapes("keys")]
        # K: example windows (a window-graph engine); an engine of the whole recogniser takes none
        examples = ([shape[0] for shape in self.profile_shapes("example_keys")] if "example_keys" in self.inputs
                    else [ProfileBounds.min_examples, ProfileBounds.opt_examples, ProfileBounds.max_examples])
        actual = ProfileBounds(*batch, *classes, *examples)
        if actual.to_dict() != self.header.get("profile"):
            raise UserError(f"the engine's optimisation profile {actual.to_dict()} is not the one its header "
                            f"records ({self.header.get('profile')})", self.engine_path,
                            "rebuild it: dvta export --format engine")
        return actual

    def check_classes(self, num_classes: int) -> None:
        p = self.profile
        if p is not None and not p.fits_classes(num_classes):
            raise UserError(f"the labels have {num_classes} classes; this engine was built for {p.min_classes}-"
                            f"{p.max_classes}", self.engine_path, p.classes_fix(num_classes))

    def prepare_text(self, text: np.ndarray, examples: Examples | None = None) -> PreparedText:
        text = self._check_text(text)
        c = int(text.shape[0])
        self.check_classes(c)
        keys, values = self._check_examples(examples, c)
        if "example_keys" not in self.inputs and values.any():
            raise UserError("this engine was built from the whole recogniser graph, which takes no examples",
                            self.engine_path, "rebuild it from the window graph: dvta export --format engine")
        p = self.profile
        if p is not None and "example_keys" in self.inputs and not p.fits_examples(len(keys)):
            raise UserError(f"the labels' examples make {len(keys)} example windows; this engine takes "
                            f"{p.min_examples}-{p.max_examples}", self.engine_path,
                            "use fewer or shorter examples, or another --runtime")
        torch = self._torch
        with torch.inference_mode(), self._cuda.scope():
            t = torch.from_numpy(text).to(self.device)
            if "text" in self.inputs:  # an engine of the whole recogniser takes the text itself
                value = {"text": t.to(self._dtypes["text"]).contiguous()}
            else:
                side = {**self.model.head.encode_text(t)._asdict(), "example_keys": torch.from_numpy(keys),
                        "example_values": torch.from_numpy(values)}
                value = {n: v.to(self.device).to(self._dtypes[n]).contiguous() for n, v in side.items()
                         if n in self.inputs}  # "context" is an input only of a head with a bridge
        self._cuda.synchronize()
        return PreparedText(c, value)

    def scores(self, windows: np.ndarray, text: PreparedText) -> np.ndarray:
        windows = self._check_windows(windows)
        return self._batched(windows, text.num_classes, lambda chunk: self._run(chunk, text)["scores"])

    def features(self, windows: np.ndarray, text: PreparedText) -> np.ndarray:
        if "feature" not in self.outputs:
            raise UserError("this engine was built from the whole recogniser graph, which gives no features",
                            self.engine_path, "rebuild it from the window graph: dvta export --format engine")
        windows = self._check_windows(windows)
        return self._batched(windows, self.info.feature_dim, lambda chunk: self._run(chunk, text)["feature"])

    def _run(self, windows: np.ndarray, text: PreparedText) -> dict[str, np.ndarray]:
        """One execution on a batch within the profile (``_batched`` sees to that): every output."""
        torch, context, side = self._torch, self.context, text.value
        with self._lock, torch.inference_mode(), self._cuda.scope():
            x = torch.from_numpy(windows).to(self.device).to(self._dtypes["skeleton"]).contiguous()
            feeds = {"skeleton": x, **side}
            for name in self.inputs:
                tensor = feeds[name]
                if not context.set_input_shape(name, tuple(tensor.shape)):
                    raise UserError(f"input {name} of shape {list(tensor.shape)} is outside this engine's "
                                    f"optimisation profile {self.profile.to_dict() if self.profile else ''}",
                                    self.engine_path, "rebuild it with wider --min/--max bounds")
                if not context.set_tensor_address(name, tensor.data_ptr()):
                    raise RuntimeError(f"TensorRT refused the buffer of input {name} ({self.engine_path})")
            unresolved = context.infer_shapes()
            if unresolved:
                raise UserError(f"TensorRT cannot infer the shapes of {list(unresolved)} from these inputs",
                                self.engine_path, "rebuild it: dvta export --format engine")
            expected = {"scores": (len(windows), text.num_classes), "feature": (len(windows), self.info.feature_dim)}
            outs = {}
            for name in self.outputs:  # TensorRT 10 needs an address for every output
                shape = tuple(context.get_tensor_shape(name))
                if shape != expected[name]:
                    raise UserError(f"this engine gives {name} of shape {list(shape)} for {len(windows)} windows",
                                    self.engine_path, "rebuild it: dvta export --format engine")
                outs[name] = torch.empty(shape, dtype=self._dtypes[name], device=self.device)
                if not context.set_tensor_address(name, outs[name].data_ptr()):
                    raise RuntimeError(f"TensorRT refused the buffer of output {name} ({self.engine_path})")
            if not context.execute_async_v3(self._cuda.handle):
                raise RuntimeError(f"TensorRT execution failed ({self.engine_path})")
            # blocking copies on this stream: they wait for the engine
            result = {name: out.float().cpu().numpy() for name, out in outs.items()}
        return result

    def describe(self) -> str:
        return (f"tensorrt (TensorRT {self._trt.__version__}, {self.header.get('gpu')}, {self.precision}; "
                f"{self.engine_path})")

    def close(self) -> None:
        self.context = None
        self.engine = None


def _torch_dtype(torch: Any, trt: Any, dtype: Any, path: Path | None = None) -> Any:
    """The torch dtype of a TensorRT tensor type (the IO types an ONNX graph's engine can have)."""
    table = {trt.float32: torch.float32, trt.float16: torch.float16, trt.bfloat16: torch.bfloat16,
             trt.int32: torch.int32, trt.int64: torch.int64, trt.int8: torch.int8, trt.uint8: torch.uint8,
             trt.bool: torch.bool}
    if dtype not in table:
        raise UserError(f"engine tensor type {dtype} has no torch equivalent here", path,
                        "rebuild it from a dvta export graph: dvta export --format engine")
    return table[dtype]


# --------------------------------------------------------------------------------------------- opening


def available_runtimes(model_path: str | Path | None = None) -> dict[str, str | None]:
    """Runtime -> None when it can run here, else why not (one line). ``tensorrt`` also needs an engine
    of this model (``model_path``) beside it, since building one takes minutes and is never implicit."""
    from dvta_live.export.engine import tensorrt_missing

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
    from dvta_live.export.common import DEFAULT_STEM

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
        return OnnxRuntime(model_path, onnx, threads=threads)
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
        return _auto(OnnxRuntime(model_path, onnx, threads=threads), "ONNX Runtime on the GPU")
    if _cuda():
        return _auto(TorchRuntime(model_path, "cuda"), f"PyTorch CUDA; no GPU ONNX Runtime; {why['tensorrt']}")
    if why["onnx"] is None:
        return _auto(OnnxRuntime(model_path, onnx, threads=threads), "ONNX Runtime is the fastest on a CPU")
    return _auto(TorchRuntime(model_path, "cpu", threads), str(why["onnx"]))


def _auto(rt: Runtime, why: str) -> Runtime:
    inner = rt.describe

    def describe() -> str:
        return f"{inner()} [auto: {why}]"

    rt.describe = describe  # type: ignore[method-assign]
    return rt


__all__ = ["ORT_PROVIDERS", "RUNTIMES", "OnnxRuntime", "PreparedText", "Runtime", "TensorRTRuntime",
           "TorchRuntime", "available_runtimes", "find_onnx_export", "open_runtime"]
