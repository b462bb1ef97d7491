"""The drawn mannequin goes through the live path's own pose estimator and comes back as the skeleton it
was drawn from: the right person, the right sides, MediaPipe-sized errors. Runs on the bundled demo take
(CMU mocap 86_01), so it needs no ../shared."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dvta_live.pose.estimator import PoseEstimator
from dvta_live.pose.mannequin import (
    _SHADES,
    Camera,
    _lit,
    draw,
    place,
    random_camera,
    random_look,
    through_pose_estimator,
)
from dvta_live.skeleton.layouts import NTU25
from dvta_live.skeleton.store import load_dataset
from dvta_live.skeleton.views import live_window

DEMO = "dvta_live/assets/demo/cmu-86-01.dvta.safetensors"
LEFT = [NTU25.index(n) for n in ("left_shoulder", "left_elbow", "left_hip", "left_knee", "left_ankle")]
RIGHT = [NTU25.index(n) for n in ("right_shoulder", "right_elbow", "right_hip", "right_knee", "right_ankle")]
BODY = LEFT + RIGHT + [NTU25.index(n) for n in ("spine_base", "spine_mid", "neck", "head")]


@pytest.fixture(scope="module")
def demo() -> tuple[np.ndarray, float]:
    seq = load_dataset(DEMO).sequences[0]
    return np.array(seq.data[:, : round(3 * (seq.fps or 30))]), float(seq.fps or 30)


def _centred(x: np.ndarray) -> np.ndarray:
    """[T, 25, 3] minus each frame's spine mid."""
    return x - x[:, NTU25.index("spine_mid")][:, None]


@pytest.mark.parametrize("yaw", [0.0, math.pi / 2, math.pi])
def test_estimator_returns_the_drawn_skeleton_with_its_sides(demo, yaw: float) -> None:  # type: ignore[no-untyped-def]
    data, fps = demo
    camera = Camera(yaw=yaw, pitch=math.radians(10), distance=3.0)
    with PoseEstimator("lite", num_people=1) as estimator:
        out = through_pose_estimator(data, fps, camera, random_look(np.random.default_rng(1)), estimator,
                                     out_fps=15.0)
    found = np.abs(out[..., 0]).sum(axis=(0, 2)) > 0
    assert found.mean() > 0.9, f"MediaPipe found the mannequin in {found.mean():.0%} of frames"
    step = fps / 15.0
    truth = _centred(place(data, camera)[np.round(np.arange(out.shape[1]) * step).astype(int)])[found]
    seen = _centred(out[..., 0].transpose(1, 2, 0))[found]
    error = np.linalg.norm(seen[:, BODY] - truth[:, BODY], axis=-1).mean()
    swapped = seen.copy()
    swapped[:, LEFT + RIGHT] = seen[:, RIGHT + LEFT]
    error_swapped = np.linalg.norm(swapped[:, BODY] - truth[:, BODY], axis=-1).mean()
    # real RGB video of NTU A001 against its Kinect skeleton: 0.15 m
    if yaw == 0.0:
        assert error < 0.2, f"body joints off by {error:.2f} m"
        assert error < error_swapped - 0.03, f"sides: {error:.3f} m as drawn, {error_swapped:.3f} m swapped"
    else:  # side on, the sides nearly coincide; from behind MediaPipe takes the back for a front, as on camera
        assert min(error, error_swapped) < 0.2, f"body joints off by {min(error, error_swapped):.2f} m"


def test_drawing_and_cameras(demo) -> None:  # type: ignore[no-untyped-def]
    data, fps = demo
    rng = np.random.default_rng(0)
    look = random_look(rng)
    placed = place(data, Camera(distance=3.0))
    image = draw(placed[0], look)
    assert image.shape == (480, 640, 3) and image.dtype == np.uint8
    assert (np.abs(image.astype(int) - image[0, 0].astype(int)).sum(axis=-1) > 30).mean() > 0.02  # a person
    # shaded, not flat: the shirt shows both its dark rim and its bright middle (depth cues for MediaPipe)
    pixels = {tuple(int(v) for v in p) for p in image.reshape(-1, 3)}
    rim, middle = (_lit(look.shirt, tone) for _, tone in (_SHADES[0], _SHADES[-1]))
    assert rim in pixels and middle in pixels and rim != middle
    # the walk across the floor is taken out, the height kept, the body in front of the camera
    assert np.abs(placed[:, NTU25.index("spine_mid"), [0]]).max() < 1e-6
    assert 2.5 < placed[..., 2].mean() < 3.5
    cameras = [random_camera(rng) for _ in range(200)]
    assert all(2.4 <= c.distance <= 3.6 for c in cameras)
    assert sum(abs(c.yaw) < 0.7 for c in cameras) > 100  # most face the camera, as a webcam user does
    window = live_window(data, fps, 3.0, rng)
    assert window.shape[1] == round(3 * fps)


def test_data_camera_command(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dvta_live.backbone.extract import read_data

    from conftest import assert_one_line_error, dvta

    out = tmp_path / "demo-camera.dvta.safetensors"
    code, stdout, err = dvta(capsys, "data", "camera", DEMO, "--views", "2", "--window", "2", "-o", str(out))
    assert code == 0, err
    assert "2 view(s) of 1" in stdout
    seen = read_data([out])
    assert len(seen) == 2 and seen.class_names == load_dataset(DEMO).class_names
    for clip in seen:
        assert clip.fps == 15.0 and clip.data.shape[1] == 30  # 2 s at 15 fps
        assert (np.abs(clip.data[..., 0]).sum(axis=(0, 2)) > 0).mean() > 0.9
    assert not np.array_equal(seen[0].data, seen[1].data)  # two different cameras
    # bad input: one line naming the file, and nothing written
    assert_one_line_error(dvta(capsys, "data", "camera", str(tmp_path / "missing.bvh"), "-o", str(tmp_path / "x.dvta.safetensors")),
                          "missing.bvh")
    assert_one_line_error(dvta(capsys, "data", "camera", DEMO, "--pose-model", "nope", "-o",
                               str(tmp_path / "y.dvta.safetensors")), "nope")
    assert_one_line_error(dvta(capsys, "data", "camera", DEMO, "--window", "0.2", "-o", str(tmp_path / "z.dvta.safetensors")),
                          "--window")
    assert not any((tmp_path / f"{n}.dvta.safetensors").exists() for n in "xyz")
    # --window 0: whole clips (a 1-s piece of the demo)
    import dataclasses

    from dvta_live.skeleton.store import save_dataset

    demo = load_dataset(DEMO)
    piece = tmp_path / "piece.dvta.safetensors"
    save_dataset(dataclasses.replace(demo, sequences=(dataclasses.replace(demo[0], data=np.array(demo[0].data[:, :30])),)),
                 piece)
    whole = tmp_path / "whole.dvta.safetensors"
    code, _, err = dvta(capsys, "data", "camera", str(piece), "--window", "0", "-o", str(whole))
    assert code == 0, err
    assert read_data([whole])[0].data.shape[1] == 15  # 1 s at 15 fps
