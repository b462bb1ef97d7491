"""What the TensorRT tests compare an engine's scores with, shared by the GPU tests and the CPU tests that
show this comparison fails on deliberately wrong outputs.

The windows are cut from the bundled demo take (real motion: walking, punching, a jump) and the model is
the bundled one (the official Shift-GCN NTU-120 weights and a trained head), so the scores depend on the
window: their spread across windows is ~0.6 of their scale, where a random-weight model's is ~3e-4, too
little for any tolerance to notice an engine that mixes windows up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dvta_live.runtimes.check import CheckResult, compare_scores
from dvta_live.skeleton.recipe import Recipe

DEMO = Path(__file__).resolve().parents[1] / "dvta_live" / "assets" / "demo" / "cmu-86-01.dvta.safetensors"
# The window-dependent part of the scores (window-centred) must be reproduced within this fraction of its
# own scale; measured: 2e-6 (ONNX Runtime fp32), 7e-3 (eager fp16 on the CPU); a wrong engine: >= 1.
CENTRED_TOLERANCE = {"fp32": 1e-3, "fp16": 5e-2}


def demo_windows(recipe: Recipe, count: int = 12, frames: int = 90) -> np.ndarray:
    """``count`` recipe windows of ``frames`` (30 Hz) spread over the bundled demo take."""
    from dvta_live.skeleton.readers import read_path

    data = next(iter(read_path(DEMO).sequences)).data  # [3, T, 25, 2]
    starts = np.linspace(0, data.shape[1] - frames, count).astype(int)
    return np.stack([recipe.apply(data[:, s:s + frames]) for s in starts]).astype(np.float32)


def assert_engine_output(got: np.ndarray, want: np.ndarray, precision: str, name: str = "engine") -> CheckResult:
    """``got`` is a faithful reproduction of the reference ``want`` (same windows, same order) at
    ``precision``, and these windows could have shown otherwise (AssertionError if not)."""
    r = compare_scores(name, precision, got, want)
    assert r.discriminates, (f"{name}: the reference scores barely depend on the window (spread "
                             f"{r.window_spread:.1e} of their scale): this comparison cannot tell a wrong engine")
    assert r.passed, f"{name}: max |got - want| / max |want| = {r.max_rel:.2e} > {r.tolerance:.0e}"
    assert r.centred_rel <= CENTRED_TOLERANCE[precision], (
        f"{name}: window-centred scores off by {r.centred_rel:.2e} of their scale")
    return r
