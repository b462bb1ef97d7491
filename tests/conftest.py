"""Shared fixtures. Real data lives in ../shared beside the checkout; tests that need it skip without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DVTA_SHARED", REPO.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the calling test with the reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the ../shared data folder beside the checkout; absent here)")
    return path


@pytest.fixture
def shared() -> Path:
    return shared_path()


@pytest.fixture
def one_torch_thread():  # type: ignore[no-untyped-def]
    """PyTorch on one thread for the test: timings and float results stay stable on a shared 2-core CPU."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
