"""The CUDA device TensorRT builds and runs on, through torch (imported lazily: no GPU is needed to import this)."""

from __future__ import annotations

import contextlib
from typing import Any


def gpu_identity(device: int = 0) -> tuple[str, tuple[int, int]]:
    """(GPU name, compute capability) of a CUDA device, as the header records them."""
    import torch

    props = torch.cuda.get_device_properties(device)
    return str(props.name), (int(props.major), int(props.minor))


class CudaDevice:
    """The CUDA device (and stream) TensorRT builds and runs on, through torch: no pycuda / cuda-python.

    Everything device-specific the builder and the runner do goes through here: one seam, so the tests
    run both end to end on the host with a stand-in TensorRT."""

    def __init__(self, index: int = 0) -> None:
        import torch

        self._torch, self.index = torch, index
        self.device = torch.device("cuda", index)
        self._stream: Any = None

    @property
    def stream(self) -> Any:
        if self._stream is None:
            self._stream = self._torch.cuda.Stream(self.device)
        return self._stream

    def scope(self) -> Any:
        """This device as the current one and its stream as torch's current stream: TensorRT builds,
        deserialises and enqueues on the current device, and torch's copies must be ordered with the
        engine's work on the same stream."""
        stack = contextlib.ExitStack()
        stack.enter_context(self._torch.cuda.device(self.index))
        stack.enter_context(self._torch.cuda.stream(self.stream))
        return stack

    @property
    def handle(self) -> int:
        """The stream as ``execute_async_v3`` takes it (a cudaStream_t as an int)."""
        return int(self.stream.cuda_stream)

    def synchronize(self) -> None:
        self.stream.synchronize()

    def identity(self) -> tuple[str, tuple[int, int]]:
        return gpu_identity(self.index)


__all__ = ["CudaDevice", "gpu_identity"]
