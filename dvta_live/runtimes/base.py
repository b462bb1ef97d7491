"""The interface every runtime implements (``Runtime``) and its opaque class side (``PreparedText``); see
the package docstring for how they are used."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from dvta_live.dvta.examples import example_side
from dvta_live.errors import UserError
from dvta_live.exporters.profile import ProfileBounds
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
        expected = self.info.recipe.input_shape
        if windows.ndim != 5 or tuple(windows.shape[1:]) != expected:
            raise ValueError(f"windows must be [B, {', '.join(map(str, expected))}] (the recipe's output), "
                             f"got {list(windows.shape)}")
        return windows


__all__ = ["RUNTIMES", "Examples", "PreparedText", "Runtime"]
