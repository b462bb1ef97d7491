"""PyTorch eager: the reference runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dvta_live.dvta.examples import ExampleSide
from dvta_live.model import load_model_net
from dvta_live.runtimes.base import Examples, PreparedText, Runtime


class TorchRuntime(Runtime):
    """PyTorch eager: the reference every exported runtime is checked against."""

    def __init__(self, model_path: str | Path, device: str = "cpu", threads: int | None = None) -> None:
        import torch


        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.device = torch.device(device)
        self.model, self.info = load_model_net(model_path, self.device)
        self.name = "torch" if self.device.type == "cpu" else f"torch-{self.device.type}"

    def prepare_text(self, text: np.ndarray, examples: Examples | None = None) -> PreparedText:

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


__all__ = ["TorchRuntime"]
