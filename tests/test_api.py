"""The public Python API (`dvta_live.load`, `read_skeleton`, `export`): the README's example as written, one
window, the labels, a source, skeleton files and exports. Only public names (``dvta_live.X``) are used."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import dvta_live

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
    return dvta_live.read_skeleton().data  # the bundled demo


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
    assert isinstance(prediction, dvta_live.Prediction) and prediction.label == "walk", prediction.top
    probs = np.exp(logits - logits.max())
    np.testing.assert_allclose(prediction.raw, probs / probs.sum(), atol=1e-5)
    assert prediction.names == recognizer.names and prediction.people == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        prediction.state = "changed"  # type: ignore[misc]
    nobody = recognizer.predict(np.zeros((3, 90, 25, 2), np.float32))
    assert nobody.state == nobody.label == "idle" and nobody.top == () and nobody.raw is None


def test_a_window_of_the_wrong_shape_is_a_user_error(recognizer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(dvta_live.UserError, match=r"\[3, T, 25, 2\]"):
        recognizer.scores(np.zeros((90, 25, 3), np.float32))


def test_set_labels_changes_the_candidates(recognizer, demo: np.ndarray, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bundled = recognizer.names
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
    assert recognizer.names == bundled  # None: the bundled labels again


def test_recognize_yields_the_live_events(recognizer) -> None:  # type: ignore[no-untyped-def]
    events = list(recognizer.recognize(stride_s=5.0))  # no source: the bundled demo
    predictions = [e for e in events if isinstance(e, dvta_live.Prediction)]
    frames = [e for e in events if not isinstance(e, dvta_live.Prediction)]
    assert frames and all(isinstance(e, dvta_live.FrameResult) for e in frames)
    assert len(frames) == dvta_live.read_skeleton().num_frames  # every frame, offline
    assert [p.timestamp_s for p in predictions] == [5.0 * i for i in range(len(predictions))]
    assert "walk" in {p.label for p in predictions}
    # frames=False: the same predictions, nothing else
    only = list(recognizer.recognize(stride_s=5.0, frames=False))
    assert only and all(isinstance(e, dvta_live.Prediction) for e in only)
    assert [(p.timestamp_s, p.label) for p in only] == [(p.timestamp_s, p.label) for p in predictions]


def test_closing_recognize_without_frames_stops_the_loop(recognizer) -> None:  # type: ignore[no-untyped-def]
    def loop_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("dvta-") and t.is_alive()]

    events = recognizer.recognize(loop=0, stride_s=1.0, frames=False)  # the demo, played forever
    first = [next(events) for _ in range(3)]
    assert [p.timestamp_s for p in first] == [0.0, 1.0, 2.0] and loop_threads()
    events.close()
    assert loop_threads() == []


def test_available_models_name_the_bundled_models() -> None:
    models = dvta_live.available_models()
    assert set(models) == {"camera", "skeleton", "default"} and models["default"] == models["skeleton"]
    assert all((path / "head.safetensors").is_file() for path in models.values())


def test_the_bundled_model_follows_the_plane_the_source_gives(tmp_path: Path) -> None:
    """Images (a camera, a video, a stream) get the camera model on 2-D keypoints; skeleton files and
    depth cameras the skeleton model on 3-D joints; a named model is taken as given."""
    from dvta_live.model import bundled_model_for, bundled_model_path, default_model

    camera, skeleton = bundled_model_path("camera"), bundled_model_path("skeleton")
    for kind in ("webcam", "video", "stream"):
        name, path, why = bundled_model_for(kind)
        assert (name, path) == ("camera", camera) and kind in why and "2-D" in why
    for kind in ("skeleton", "realsense", "realsense-file", None):
        name, path, why = bundled_model_for(kind)
        assert (name, path) == ("skeleton", skeleton) and "3-D" in why
    assert default_model(None, "video") == camera and default_model("camera") == camera
    assert default_model(tmp_path) == tmp_path
    with dvta_live.load(runtime="torch", threads=1, source=0) as rec:  # camera 0: named, not opened
        assert rec.info.recipe.plane == "keypoints2d" and rec.info.recipe.layout == "coco17"
    from dvta_live.pose.inputs import bundled_demo_source

    with dvta_live.load(runtime="torch", threads=1, source=bundled_demo_source()) as rec:
        assert rec.info.recipe.layout == "ntu25"


# ------------------------------------------------------------------------------------------ skeleton files


def _three_takes(path: Path) -> np.ndarray:
    """A CTR-GCN-style .npz of three labelled sequences (30, 40, 50 frames of one moving body); returns
    the sequences' joints [3, 3, 50, 25, 2] (zero after each one's end)."""
    rng = np.random.default_rng(0)
    data = np.zeros((3, 3, 50, 25, 2), np.float32)
    for i, frames in enumerate((30, 40, 50)):
        data[i, :, :frames, :, 0] = rng.normal(0.0, 0.3, (3, frames, 25)) + np.array([0.0, 0.0, 3.0])[:, None, None]
    x = data.transpose(0, 2, 4, 3, 1).reshape(3, 50, 150)  # [N, T, 2 bodies x 25 joints x xyz]
    np.savez(path, x_train=x, y_train=np.eye(60, dtype=np.float32)[[0, 5, 7]])
    return data


def test_read_skeleton_picks_a_sequence_of_a_file(tmp_path: Path) -> None:
    data = _three_takes(tmp_path / "takes.npz")
    second = dvta_live.read_skeleton(f"{tmp_path / 'takes.npz'}#1")
    assert second.name == "train_1" and second.label == 5 and second.num_frames == 40
    np.testing.assert_allclose(second.data, data[1][:, :40], atol=1e-6)
    same = [dvta_live.read_skeleton(tmp_path / "takes.npz", 1), dvta_live.read_skeleton(tmp_path / "takes.npz", "1"),
            dvta_live.read_skeleton(tmp_path / "takes.npz", sequence="train_1"),
            dvta_live.read_skeleton(f"{tmp_path / 'takes.npz'}#train_1")]
    assert all(np.array_equal(s.data, second.data) for s in same)
    with pytest.raises(dvta_live.UserError, match="holds 3 sequences.*#0"):
        dvta_live.read_skeleton(tmp_path / "takes.npz")  # several: which one must be said
    with pytest.raises(dvta_live.UserError, match="no sequence 3 .*train_0, train_1, train_2"):
        dvta_live.read_skeleton(tmp_path / "takes.npz", 3)
    with pytest.raises(dvta_live.UserError, match="no sequence 'walk'"):
        dvta_live.read_skeleton(f"{tmp_path / 'takes.npz'}#walk")
    with pytest.raises(dvta_live.UserError):
        dvta_live.read_skeleton(tmp_path / "missing.skeleton")


def test_read_skeleton_reads_the_demo_recognize_plays(recognizer) -> None:  # type: ignore[no-untyped-def]
    demo = dvta_live.read_skeleton()  # no path: the bundled demo, one sequence
    assert demo.data.shape == (3, demo.num_frames, 25, 2) and demo.fps == 30.0
    # its windows are what predict takes: a walk at the start, as the live loop sees it
    assert recognizer.predict(demo.data[:, 15:105]).label == "walk"


# ---------------------------------------------------------------------------------------------- exports


def test_export_writes_onnx_graphs_that_score_like_the_model(recognizer, demo: np.ndarray,  # type: ignore[no-untyped-def]
                                                             tmp_path: Path) -> None:
    import onnxruntime as ort

    done = dvta_live.export(out=tmp_path / "exported")  # the bundled model, as `dvta export -o` does
    assert {"text", "window", "recognizer", "metadata"} <= set(done.files)
    assert all(f.is_file() and f.parent == tmp_path / "exported" for f in done.files.values())
    assert json.loads(done.files["metadata"].read_text())["recipe"] == recognizer.info.recipe.to_dict()
    sessions = {name: ort.InferenceSession(str(f), providers=["CPUExecutionProvider"])
                for name, f in done.files.items() if f.suffix == ".onnx"}
    window = demo[:, 15:105]
    text = recognizer.watcher.state.text.embeddings.astype(np.float32)  # the bundled labels' [C, 2, D]
    scores = sessions["recognizer"].run(None, {"skeleton": recognizer.info.recipe.apply_batch(window[None]),
                                                "text": text})[0]
    np.testing.assert_allclose(scores[0], recognizer.scores(window), atol=1e-4)


def test_export_check_compares_with_eager_and_refuses_an_unknown_format(tmp_path: Path) -> None:
    _three_takes(tmp_path / "takes.npz")
    done = dvta_live.export(None, tmp_path / "split", split=True, check=True, check_data=[tmp_path / "takes.npz"],
                            check_samples=3, check_classes=4)  # eager vs ONNX on these windows: passes
    assert {"backbone", "head"} <= set(done.files) and all(f.is_file() for f in done.files.values())
    with pytest.raises(dvta_live.UserError, match="--format"):
        dvta_live.export(out=tmp_path / "bad", format="tflite")


def test_the_public_names_are_listed() -> None:
    assert set(dvta_live.__all__) - {"__version__"} <= set(dir(dvta_live))
    assert {"read_skeleton", "export", "load", "Prediction", "LiveConfig"} <= set(dvta_live.__all__)
    with pytest.raises(dvta_live.UserError, match="window_s -1 is out of range"):
        dvta_live.LiveConfig(window_s=-1)
