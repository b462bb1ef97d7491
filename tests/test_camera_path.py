"""The camera path (issue 25): PoseC3D X3D checkpoints through `dvta backbone import`, the posec3d48 recipe on
COCO-17 keypoints, the live window of MediaPipe keypoints, and a camera-family model through load(),
predict(), teach-by-example windows and ONNX Runtime (parity with PyTorch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import dvta_live
from dvta_live.backbone.checkpoint import import_checkpoint, load_backbone
from dvta_live.errors import UserError
from dvta_live.model import save_untrained_model
from dvta_live.pose.estimator import PoseResult
from dvta_live.realtime.buffer import TimeWindow
from dvta_live.realtime.example_bank import example_windows
from dvta_live.runtimes import TorchRuntime, open_runtime
from dvta_live.skeleton.coco17 import MEDIAPIPE_TO_COCO17, front_view_keypoints
from dvta_live.skeleton.recipe import get_recipe

from conftest import assert_one_line_error, dvta, shared_path

X3D_CKPT = ("weights", "posec3d-x3d-ntu60-hrnet2d", "x3d_shallow_ntu60_xsub_hrnet_epoch24.pth")


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVTA_CACHE", str(tmp_path_factory.getbasetemp() / "dvta-cache"))


def _keypoint_clip(t: int = 70, seed: int = 0) -> np.ndarray:
    """A person's COCO-17 keypoints moving about an image (x, y pixels, scores in [0.5, 1])."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(300, 700, (2, 17))
    wave = np.sin(np.linspace(0, 6, t))[:, None] * 40
    out = np.zeros((3, t, 17, 2), np.float32)
    out[0, :, :, 0] = base[0] + wave
    out[1, :, :, 0] = base[1] - wave
    out[2, :, :, 0] = rng.uniform(0.5, 1.0, (t, 17))
    return out


def test_posec3d48_crops_to_the_heatmap_grid_and_keeps_scores() -> None:
    recipe = get_recipe("posec3d48")
    clip = _keypoint_clip()
    out = recipe.apply(clip)
    assert out.shape == (3, 48, 17, 2) == recipe.input_shape and recipe.layout == "coco17"
    body = out[..., 0]
    assert 0 <= body[0].min() and body[0].max() <= 64 and 0 <= body[1].min() and body[1].max() <= 64
    assert set(np.unique(body[2])) <= set(np.unique(clip[2]))  # scores pass through, frames resampled
    assert not out[..., 1].any()  # the absent second body stays zero
    skeleton = np.random.default_rng(5).normal(0, 0.3, (3, 40, 25, 2)).astype(np.float32)
    assert np.array_equal(recipe.apply(skeleton), recipe.apply(front_view_keypoints(skeleton)))  # 3-D: seen ahead
    with pytest.raises(ValueError, match="17"):
        recipe.apply(np.zeros((3, 10, 20, 2), np.float32))


def test_a_replayed_skeleton_and_mediapipe_landmarks_become_keypoints() -> None:
    skeleton = np.zeros((3, 25, 2), np.float32)
    skeleton[:, :, 0] = np.random.default_rng(1).normal(0, 0.3, (3, 25)) + np.array([[0.0], [0.0], [3.0]])
    replay = PoseResult(index=0, timestamp_s=0.0, joints=skeleton, image_landmarks=np.zeros((2, 33, 2), np.float32),
                        world_landmarks=np.zeros((2, 33, 3), np.float32), visibility=np.zeros((2, 33), np.float32),
                        present=(True, False))
    assert np.array_equal(replay.joints_for("keypoints2d"), front_view_keypoints(skeleton[:, None])[:, 0])
    image = np.random.default_rng(2).uniform(0, 640, (2, 33, 2)).astype(np.float32)
    vis = np.random.default_rng(3).uniform(0, 1, (2, 33)).astype(np.float32)
    seen = PoseResult(index=0, timestamp_s=0.0, joints=skeleton, image_landmarks=image,
                      world_landmarks=np.zeros((2, 33, 3), np.float32), visibility=vis, present=(True, False),
                      image_size=(640, 480))
    kp = seen.joints_for("keypoints2d")
    assert kp.shape == (3, 17, 2) and not kp[..., 1].any()
    assert np.allclose(kp[:2, :, 0], image[0][list(MEDIAPIPE_TO_COCO17)].T)
    assert np.allclose(kp[2, :, 0], vis[0][list(MEDIAPIPE_TO_COCO17)])
    window = TimeWindow(joints=17)
    for i in range(40):
        window.push(kp, i / 30)
    assert window.window().shape[2] == 17


@pytest.fixture(scope="module", params=["x3d", "keypoint-gcn"])
def camera_family_model(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both camera architectures: the PoseC3D X3D and the project's KeypointGCN take the same recipe."""
    return save_untrained_model(tmp_path_factory.mktemp(request.param) / "model", request.param, seed=2)


def test_keypoint_gcn_scores_a_person_alike_alone_or_beside_an_empty_slot(tmp_path: Path) -> None:
    from dvta_live.backbone import KeypointGCN, load_backbone, save_backbone

    torch.manual_seed(0)
    model = KeypointGCN(num_class=5).eval()
    one = torch.from_numpy(get_recipe("posec3d48").apply(_keypoint_clip())[None])  # [1, 3, 48, 17, 2]
    with torch.no_grad():
        feat, logits = model(one)
        alone, _ = model(one[..., :1])
        nobody, _ = model(torch.zeros_like(one))
    assert feat.shape == (1, 256) and logits.shape == (1, 5)
    assert torch.allclose(feat, alone, atol=1e-5)  # the empty second slot is not averaged in
    assert torch.isfinite(nobody).all() and not torch.allclose(feat, nobody)
    moved = one.clone()
    moved[:, :2] = torch.where(one[:, 2:3] > 0, one[:, :2], torch.full_like(one[:, :2], 50.0))
    with torch.no_grad():  # a missing keypoint's coordinates do not matter
        assert torch.allclose(model(moved)[0], feat, atol=1e-6)
    path = tmp_path / "kp.safetensors"
    save_backbone(path, model, "posec3d48")
    again, info = load_backbone(path)
    assert (info.architecture, info.layout, info.recipe_name) == ("keypoint-gcn", "coco17", "posec3d48")
    with torch.no_grad():
        assert torch.equal(again(one)[0], feat)


def test_a_camera_family_model_runs_through_load_predict_and_examples(camera_family_model: Path) -> None:
    recognizer = dvta_live.load(camera_family_model, runtime="torch")
    assert recognizer.info.recipe.name == "posec3d48" and recognizer.info.feature_dim == 256
    clip = _keypoint_clip()
    pred = recognizer.predict(clip)
    assert pred.label in (*recognizer.names, "unknown")
    scores = recognizer.scores(clip)
    assert scores.shape == (len(recognizer.names),) and np.isfinite(scores).all()
    skeleton = np.zeros((3, 60, 25, 2), np.float32)  # a 3-D skeleton is seen from straight ahead
    skeleton[:, :, :, 0] = np.random.default_rng(4).normal(0, 0.3, (3, 60, 25)) + np.array([0, 0, 3.0])[:, None, None]
    assert np.allclose(recognizer.scores(skeleton), recognizer.scores(front_view_keypoints(skeleton)))
    windows = example_windows(clip, 30.0)  # teach-by-example windows keep the 17 keypoints
    assert windows and all(w.shape[2] == 17 for w in windows)


def test_onnx_runtime_matches_pytorch_for_the_camera_family(camera_family_model: Path) -> None:
    eager, onnx = TorchRuntime(camera_family_model, threads=1), open_runtime(camera_family_model, "onnx", threads=1)
    recipe = eager.info.recipe
    windows = np.stack([recipe.apply(_keypoint_clip(t, s)) for t, s in ((70, 0), (30, 1), (120, 2))])
    text = np.random.default_rng(0).standard_normal((5, 2, eager.info.text_dim)).astype(np.float32)
    a = eager.scores(windows, eager.prepare_text(text))
    b = onnx.scores(windows, onnx.prepare_text(text))
    assert np.abs(a - b).max() < 1e-3 and (a.argmax(1) == b.argmax(1)).all()


def test_another_pyskl_architecture_is_one_line_naming_what_is_supported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "slowonly.pth"
    torch.save({"state_dict": {"backbone.conv1.conv.weight": torch.zeros(32, 17, 1, 7, 7),
                               "cls_head.fc_cls.weight": torch.zeros(60, 512)}}, path)
    with pytest.raises(UserError, match="supported: PoseC3D X3D-shallow"):
        import_checkpoint(path, tmp_path / "out.safetensors")
    result = dvta(capsys, "backbone", "import", str(path), "-o", str(tmp_path / "out.safetensors"))
    assert_one_line_error(result, "slowonly.pth")


def test_the_x3d_checkpoint_imports_with_its_recipe(tmp_path: Path) -> None:
    ckpt = shared_path(*X3D_CKPT)
    info = import_checkpoint(ckpt, tmp_path / "x3d.safetensors")
    assert (info.architecture, info.layout, info.recipe_name, info.feature_dim) == ("x3d", "coco17", "posec3d48", 256)
    model, again = load_backbone(tmp_path / "x3d.safetensors")
    assert again.class_names is not None and again.class_names[0] == "drink water"
    assert sum(p.numel() for p in model.parameters()) == 254_508


def test_export_check_and_benchmark_take_the_camera_family(camera_family_model: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    demo = Path(dvta_live.__file__).parent / "assets" / "demo" / "cmu-86-01.dvta.safetensors"
    done = dvta_live.export(camera_family_model, tmp_path / "exported", check=True, check_data=[demo],
                            check_samples=2, check_classes=3)  # skeleton windows seen from straight ahead
    assert done.files["window"].is_file()
    code, out, _ = dvta(capsys, "benchmark", "-m", str(camera_family_model), "--runtime", "torch", "--batch", "1",
                        "--classes", "4", "--min-time", "0.05")
    assert code == 0 and "torch" in out


def test_kinect_colour_joints_become_keypoints_without_a_face() -> None:
    from dvta_live.skeleton.coco17 import COCO17, from_kinect_colour
    from dvta_live.skeleton.layouts import NTU25

    xy = np.random.default_rng(6).uniform(100, 900, (2, 5, 25, 2)).astype(np.float32)
    xy[:, 3:, :, 1] = 0  # the second body leaves after frame 3
    kp = from_kinect_colour(xy)
    assert kp.shape == (3, 5, 17, 2)
    assert np.array_equal(kp[:2, :, COCO17.index("left_wrist")], xy[:, :, NTU25.index("left_wrist")])
    assert np.array_equal(kp[:2, :, 0], xy[:, :, NTU25.index("head")])  # the head stands in for the nose
    assert not kp[:, :, 1:5].any()  # no eyes or ears on a Kinect
    assert kp[2, :3, 5, 1].all() and not kp[2, 3:, 5, 1].any()
