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
from dvta_live.recognizer import RecognizerInfo

RUNTIMES = ("auto", "tensorrt", "onnx", "torch")


@dataclass(frozen=True, eq=False)
class PreparedText:
    """A runtime's class side for one text tensor. ``value`` is runtime-specific; treat it as opaque."""

    num_classes: int
    value: Any


class Runtime(ABC):
    """Scores preprocessed skeleton windows against prepared text."""

    name: str  # "torch", "onnxruntime-cpu", "tensorrt", ...
    info: RecognizerInfo

    @abstractmethod
    def prepare_text(self, text: np.ndarray) -> PreparedText:
        """[C, 2, D] float32 text tensor -> the class side, computed once per labels file."""

    @abstractmethod
    def scores(self, windows: np.ndarray, text: PreparedText) -> np.ndarray:
        """[B, 3, window, 25, 2] float32 recipe output -> [B, C] float32 scores (logits)."""

    def describe(self) -> str:
        return self.name

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release device memory / sessions."""

    def _check_text(self, text: np.ndarray) -> np.ndarray:
        text = np.ascontiguousarray(text, dtype=np.float32)
        if text.ndim != 3 or text.shape[1] != 2 or text.shape[2] != self.info.text_dim or text.shape[0] < 1:
            raise UserError(f"text tensor is {list(text.shape)}, this model takes [C >= 1, 2, {self.info.text_dim}]",
                            self.info.path, f"encode the labels with {self.info.text_model}, the head's text model")
        return text

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

        from dvta_live.recognizer import load_recognizer

        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.device = torch.device(device)
        self.model, self.info = load_recognizer(model_path, self.device)
        self.name = "torch" if self.device.type == "cpu" else f"torch-{self.device.type}"

    def prepare_text(self, text: np.ndarray) -> PreparedText:
        text = self._check_text(text)
        with self._torch.inference_mode():
            side = self.model.head.encode_text(self._torch.from_numpy(text).to(self.device))
        return PreparedText(int(text.shape[0]), side)

    def scores(self, windows: np.ndarray, text: PreparedText) -> np.ndarray:
        windows = self._check_windows(windows)
        with self._torch.inference_mode():
            x = self._torch.from_numpy(windows).to(self.device)
            out = self.model.head.score(self.model.features(x), text.value)
        return out.float().cpu().numpy()


def open_runtime(model_path: str | Path, runtime: str = "auto", *, device: str | None = None) -> Runtime:
    """The runtime asked for (``auto``: the fastest available, see ``available_runtimes``)."""
    if runtime not in RUNTIMES:
        raise UserError(f"unknown runtime {runtime!r}", fix=f"use one of {', '.join(RUNTIMES)}")
    if runtime in ("auto", "torch"):
        return TorchRuntime(model_path, device or "cpu")
    raise UserError(f"runtime {runtime!r} is not available in this build", fix="use --runtime torch")


__all__ = ["RUNTIMES", "PreparedText", "Runtime", "TorchRuntime", "open_runtime"]
