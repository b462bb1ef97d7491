"""``dvta export --check``: eager PyTorch against the exported graphs on real skeletons.

The windows are real recordings (NTU .skeleton files or any format ``read_path`` reads) through the
model's own recipe, never synthetic data: an exported graph that is only right on noise proves little.
The difference is reported as max |exported - eager| and that divided by max |eager| (a relative error on
the scale of the scores: elementwise ratios blow up at scores near zero). The check fails above the
tolerance of the runtime's precision.

That error can only catch an export that mixes up windows (ignores the skeleton, reverses the batch,
reads the joints in another layout) when the scores depend on the window more than the tolerance: a
model whose scores are nearly the same for every window (random weights) passes any such export. So each
result also says how much the scores vary across windows (``window_spread``, on the same scale) and how
well the export reproduces that variation (``centred_rel``: the error of the window-centred scores over
their own scale); ``discriminates`` says whether the check could have told a wrong export apart.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dvta_live.errors import UserError
from dvta_live.exporters.common import ExportPaths
from dvta_live.runtimes import OnnxRuntime, TensorRTRuntime, TorchRuntime
from dvta_live.runtimes.base import Runtime
from dvta_live.skeleton.readers import read_path
from dvta_live.skeleton.recipe import Recipe

# max |exported - eager| / max |eager| allowed per precision: fp32 graphs differ by reassociation only
# (~1e-6 measured); fp16 kernels keep ~3 significant digits through a dozen GCN layers.
TOLERANCES = {"fp32": 1e-4, "fp16": 2e-2}
# A check discriminates when the scores' spread across windows is this many tolerances or more.
DISCRIMINATION = 3.0


@dataclass(frozen=True)
class CheckResult:
    runtime: str
    precision: str
    windows: int
    classes: int
    max_abs: float
    max_rel: float
    top1_agreement: float  # fraction of windows whose best class is the same as eager's
    tolerance: float
    window_spread: float = 0.0  # max |eager - its mean over windows| / max |eager|
    centred_rel: float = float("nan")  # max |centred diff| / max |centred eager| (nan: one window, or no spread)

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.max_rel)) and self.max_rel <= self.tolerance

    @property
    def discriminates(self) -> bool:
        """Whether these windows' scores vary enough that an export mixing up windows fails the tolerance
        (an output that ignores the skeleton is off by at least the spread)."""
        return self.window_spread >= DISCRIMINATION * self.tolerance

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def default_check_data() -> Path | None:
    """The NTU samples in ../shared (``$DVTA_SHARED``, then beside the cwd, then beside the checkout)."""
    candidates = []
    if os.environ.get("DVTA_SHARED"):
        candidates.append(Path(os.environ["DVTA_SHARED"]) / "data" / "ntu")
    candidates += [Path("../shared/data/ntu"), Path(__file__).resolve().parents[3] / "shared" / "data" / "ntu"]
    return next((c for c in candidates if c.is_dir()), None)


def load_check_windows(paths: Sequence[str | Path], recipe: Recipe, limit: int | None = None
                       ) -> tuple[np.ndarray, list[str]]:
    """Skeleton files/folders -> (recipe windows [N, 3, window, 25, 2], source names); empty ones skipped."""

    windows, names = [], []
    for path in paths:
        for seq in read_path(path).sequences:
            if limit is not None and len(windows) >= limit:
                break
            if not np.abs(seq.data).sum():  # an all-zero recording checks nothing
                continue
            windows.append(recipe.apply(seq.data))
            names.append(Path(seq.source).name if seq.source else str(path))
    if not windows:
        raise UserError("no non-empty skeleton sequences to check on", paths[0] if paths else None,
                        "give --check-data with skeleton files (any format dvta data inspect reads)")
    return np.stack(windows).astype(np.float32), names


def check_text(num_classes: int, text_dim: int, seed: int = 0) -> np.ndarray:
    """A fixed text tensor [C, 2, D]. Its values only need to be typical of encoder outputs (the head
    L2-normalises each token), so the check needs no text model."""
    return np.random.default_rng(seed).standard_normal((num_classes, 2, text_dim)).astype(np.float32)


def compare_scores(name: str, precision: str, got: np.ndarray, want: np.ndarray) -> CheckResult:
    """``got`` [B, C] against the reference ``want`` [B, C] (same windows, same classes, same order)."""
    if got.shape != want.shape:
        raise ValueError(f"{name}: scores of shape {list(got.shape)} against {list(want.shape)}")
    got, want = got.astype(np.float64), want.astype(np.float64)
    diff = np.abs(got - want)
    scale = float(np.abs(want).max()) if want.size else 0.0
    scale = scale or 1.0
    max_abs = float(diff.max()) if diff.size else 0.0
    centred_want = want - want.mean(axis=0, keepdims=True) if want.size else want
    centred_got = got - got.mean(axis=0, keepdims=True) if got.size else got
    spread = float(np.abs(centred_want).max()) if want.size else 0.0
    centred = float(np.abs(centred_got - centred_want).max()) / spread if spread > 0 else float("nan")
    return CheckResult(name, precision, int(want.shape[0]), int(want.shape[1]), max_abs, max_abs / scale,
                       float(np.mean(got.argmax(1) == want.argmax(1))) if want.size else 1.0,
                       TOLERANCES[precision], spread / scale, centred)


def compare_runtimes(reference: Runtime, candidate: Runtime, windows: np.ndarray, text: np.ndarray,
                     precision: str = "fp32", batch: int = 8) -> CheckResult:
    """Scores of ``candidate`` against ``reference`` (eager) on the same windows and text."""
    ref_text, cand_text = reference.prepare_text(text), candidate.prepare_text(text)
    want = np.concatenate([reference.scores(windows[i:i + batch], ref_text) for i in range(0, len(windows), batch)])
    got = np.concatenate([candidate.scores(windows[i:i + batch], cand_text) for i in range(0, len(windows), batch)])
    label = f"{candidate.name}, {getattr(candidate, 'graphs', 'exported')}"
    return compare_scores(label, precision, got, want)


def check_whole_graph(path: Path, reference: Runtime, windows: np.ndarray, text: np.ndarray,
                      batch: int = 8) -> CheckResult:
    """The whole-recogniser graph (skeleton + text -> scores) on ONNX Runtime's CPU provider."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ref_text = reference.prepare_text(text)
    want = np.concatenate([reference.scores(windows[i:i + batch], ref_text) for i in range(0, len(windows), batch)])
    got = np.concatenate([session.run(["scores"], {"skeleton": windows[i:i + batch], "text": text})[0]
                          for i in range(0, len(windows), batch)])
    return compare_scores(f"onnxruntime-cpu, whole graph {path.name}", "fp32", got, want)


def check_export(model: Path, paths: ExportPaths, data: list[Path] | None = None, samples: int = 16,
                 classes: int = 60, engine: bool = False) -> tuple[list[Any], list[Path]]:
    """Eager PyTorch against the exported window graph (and whole graph, and engine) on up to ``samples``
    real skeleton windows and ``classes`` classes: (one result per export, the data read)."""
    from dvta_live.runtimes.check import (
        check_text,
        check_whole_graph,
        compare_runtimes,
        default_check_data,
        load_check_windows,
    )

    if not data:
        found = default_check_data()
        if found is None:
            raise UserError("--check needs real skeletons and ../shared/data/ntu is not here",
                            fix="give --check-data FILE_OR_FOLDER (NTU .skeleton or any format dvta data "
                            "inspect reads)")
        data = [found]
    eager = TorchRuntime(model)
    windows, _ = load_check_windows(data, eager.info.recipe, samples)
    text = check_text(classes, eager.info.text_dim)
    results = [compare_runtimes(eager, OnnxRuntime(model, paths.window, providers=["CPUExecutionProvider"]),
                                windows, text)]
    if paths.recognizer.is_file():
        results.append(check_whole_graph(paths.recognizer, eager, windows, text))
    if engine:
        trt_rt = TensorRTRuntime(model, paths.engine)
        results.append(compare_runtimes(eager, trt_rt, windows, text, trt_rt.precision))
    return results, data


__all__ = ["DISCRIMINATION", "TOLERANCES", "CheckResult", "check_export", "check_text", "check_whole_graph", "compare_runtimes", "compare_scores",
           "default_check_data", "load_check_windows"]
