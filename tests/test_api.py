"""The public Python API (`dvta_live.load`): the README's example as written, one window, the labels."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re
import subprocess
import sys

import numpy as np
import pytest

import dvta_live
from dvta_live.errors import UserError
from dvta_live.labels.bundled import bundled_labels_path
from dvta_live.pose.inputs import bundled_demo_source
from dvta_live.realtime.live import IDLE, Prediction
from dvta_live.skeleton.readers import read_path

from conftest import REPO


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):  # type: ignore[no-untyped-def]
    yield


@pytest.fixture(scope="module")
def recognizer():  # type: ignore[no-untyped-def]
    with dvta_live.load(runtime="torch", threads=1) as rec:
        yield rec


@pytest.fixture(scope="module")
def demo() -> np.ndarray:
    return read_path(bundled_demo_source()).sequences[0].data


def test_importing_the_package_and_the_cli_loads_no_torch() -> None:
    code = ("import sys, dvta_live, dvta_live.cli; dvta_live.load; "
            "heavy = [m for m in ('torch', 'onnxruntime', 'mediapipe', 'sentence_transformers') if m in sys.modules]; "
            "print(heavy)")
    # a subprocess: only a fresh interpreter shows what an import loads (this one has torch already)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_readme_example_runs_as_written() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Python API"):]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    assert len(code.strip().splitlines()) == 3
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the documented example, verbatim
    printed = out.getvalue()
    # the bundled demo is CMU take 86_01: walking, then jumps, kicks and punches
    assert "walk" in printed and ("jump" in printed or "kick forward" in printed), printed


def test_predict_is_the_live_prediction_of_the_scores(recognizer, demo: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    window = demo[:, 15:105]  # 3 s of walking, inside the first walk segment (0-4.6 s)
    logits = recognizer.scores(window)
    assert logits.shape == (len(recognizer.names),) and logits.dtype == np.float32
    batch = recognizer.scores(np.stack([window, demo[:, 900:990]]))
    np.testing.assert_allclose(batch[0], logits, atol=1e-5)
    prediction = recognizer.predict(window)
    assert isinstance(prediction, Prediction) and prediction.label == "walk", prediction.top
    probs = np.exp(logits - logits.max())
    np.testing.assert_allclose(prediction.raw, probs / probs.sum(), atol=1e-5)
    assert prediction.names == recognizer.names and prediction.people == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        prediction.state = "changed"  # type: ignore[misc]
    assert recognizer.predict(np.zeros((3, 90, 25, 2), np.float32)).state == IDLE


def test_a_window_of_the_wrong_shape_is_a_user_error(recognizer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UserError, match=r"\[3, T, 25, 2\]"):
        recognizer.scores(np.zeros((90, 25, 3), np.float32))


def test_set_labels_changes_the_candidates(recognizer, demo: np.ndarray, tmp_path) -> None:  # type: ignore[no-untyped-def]
    labels = tmp_path / "two.yaml"
    labels.write_text("actions:\n  - name: walk\n    context: A person walks forward.\n"
                      "  - name: sit down\n    context: A person sits down on a chair.\n", encoding="utf-8")
    recognizer.set_labels(labels)
    try:
        assert recognizer.names == ("walk", "sit down")
        assert recognizer.scores(demo[:, 15:105]).shape == (2,)
        assert recognizer.predict(demo[:, 15:105]).label == "walk"
    finally:
        recognizer.set_labels(None)
    assert recognizer.labels.path == bundled_labels_path()


def test_recognize_yields_the_live_events(recognizer) -> None:  # type: ignore[no-untyped-def]
    events = list(recognizer.recognize(bundled_demo_source(), stride_s=5.0))
    predictions = [e for e in events if isinstance(e, Prediction)]
    frames = [e for e in events if not isinstance(e, Prediction)]
    assert len(frames) == read_path(bundled_demo_source()).sequences[0].num_frames  # every frame, offline
    assert [p.timestamp_s for p in predictions] == [5.0 * i for i in range(len(predictions))]
    assert "walk" in {p.label for p in predictions}


def test_available_models_name_the_bundled_model() -> None:
    models = dvta_live.available_models()
    assert set(models) == {"default"} and (models["default"] / "head.safetensors").is_file()
