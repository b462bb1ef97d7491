"""TensorRT 10 engines built by ``dvta export --format engine`` (imported lazily: an optional extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dvta_live.errors import UserError
from dvta_live.exporters import engine as _engine  # CudaDevice through the module: the one device seam
from dvta_live.exporters.common import default_export_paths
from dvta_live.exporters.engine import check_engine_header, read_engine_file, require_tensorrt
from dvta_live.exporters.profile import ProfileBounds
from dvta_live.model import load_model_net, model_sha256
from dvta_live.runtimes.base import Examples, PreparedText, Runtime


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


        trt = require_tensorrt()
        self._torch, self._trt = torch, trt
        self._cuda = _engine.CudaDevice(device)
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


__all__ = ["TensorRTRuntime"]
