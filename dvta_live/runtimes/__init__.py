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

from dvta_live._lazy import lazy_names

_WHERE = {
    "RUNTIMES": "base", "PreparedText": "base", "Runtime": "base",
    "TorchRuntime": "torch_runtime",
    "ORT_PROVIDERS": "onnx_runtime", "ORT_TENSORRT_PROFILE": "onnx_runtime", "OnnxRuntime": "onnx_runtime",
    "ort_tensorrt_profile": "onnx_runtime",
    "TensorRTRuntime": "tensorrt_runtime",
    "available_runtimes": "auto", "open_runtime": "auto",
}
__all__ = ["ORT_PROVIDERS", "ORT_TENSORRT_PROFILE", "RUNTIMES", "OnnxRuntime", "PreparedText", "Runtime",
           "TensorRTRuntime", "TorchRuntime", "available_runtimes", "open_runtime", "ort_tensorrt_profile"]

__getattr__ = lazy_names(__name__, _WHERE)
