"""COCO-17 keypoints: the layout, MediaPipe mapping, NTU-25 projection through a camera (checked against
Kinect's own colour joints), and the readers of the real-video 2-D datasets in ../shared (counts and
geometry measured on the data)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from dvta_live.errors import UserError
from dvta_live.skeleton import classnames as cn
from dvta_live.skeleton.coco17 import (
    COCO17,
    LEFT_KP,
    MEDIAPIPE_TO_COCO17,
    RIGHT_KP,
    Camera,
    add_estimator_noise,
    frames_to_coco_array,
    from_mediapipe,
    kinect_v2_camera,
    project_ntu25,
    random_camera,
)
from dvta_live.skeleton.layouts import MEDIAPIPE33, NTU25
from dvta_live.skeleton.sequence import SkeletonSequence

from conftest import shared_path

K = COCO17.index
BODY = [K(f"{s}_{j}") for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle") for s in ("left", "right")]


def _real2d(name: str) -> Path:
    return shared_path("data", "real-video-2d", name)


@pytest.fixture(scope="module")
def ntu_a001():  # type: ignore[no-untyped-def]
    from dvta_live.skeleton.readers import read_ntu_skeleton

    return read_ntu_skeleton(shared_path("data", "ntu", "S001C001P001R001A001.skeleton"))


_CACHE: dict = {}


def _read(name: str):  # type: ignore[no-untyped-def]
    from dvta_live.skeleton.readers2d import read_real2d

    if name not in _CACHE:
        _CACHE[name] = read_real2d(_real2d(name))
    return _CACHE[name]


def _left_shoulder_on_right(sequences) -> float:  # type: ignore[no-untyped-def]
    """Fraction of frames (both shoulders scored) with the left shoulder at larger image x."""
    good = total = 0
    for s in sequences:
        d = s.data[..., 0]
        ok = (d[2, :, K("left_shoulder")] > 0) & (d[2, :, K("right_shoulder")] > 0)
        good += int((d[0, ok, K("left_shoulder")] > d[0, ok, K("right_shoulder")]).sum())
        total += int(ok.sum())
    return good / total


def _shoulders_above_hips(sequences) -> float:  # type: ignore[no-untyped-def]
    good = total = 0
    for s in sequences:
        d = s.data[..., 0]
        for side in ("left", "right"):
            ok = (d[2, :, K(f"{side}_shoulder")] > 0) & (d[2, :, K(f"{side}_hip")] > 0)
            good += int((d[1, ok, K(f"{side}_shoulder")] < d[1, ok, K(f"{side}_hip")]).sum())
            total += int(ok.sum())
    return good / total


def _travel(seq: SkeletonSequence, keypoint: str) -> float:
    d = seq.data[:, :, K(keypoint), 0]
    xy = d[:2, d[2] > 0]
    return float(np.linalg.norm(np.diff(xy, axis=1), axis=0).sum())


def _check_convention(dataset) -> None:  # type: ignore[no-untyped-def]
    for s in dataset:
        assert s.layout == "coco17" and s.data.dtype == np.float32 and s.data.shape[2:] == (17, 2)
        assert 0 <= s.label < dataset.num_classes
        score = s.data[2]
        assert score.min() >= 0 and score.max() <= 1
        assert not np.any(s.data[:2][:, score == 0])  # missing keypoints are zeros
        assert not np.any(s.data[..., 1])  # one person: slot 1 empty


# --- layout and conversions --------------------------------------------------------------------------------

def test_layout_and_index_lists() -> None:
    assert COCO17.num_joints == 17 and len(COCO17.bones) == 19
    assert [COCO17.joints[i] for i in LEFT_KP] == [n.replace("right", "left") for n in
                                                   (COCO17.joints[i] for i in RIGHT_KP)]
    assert all(COCO17.joints[i].startswith("left_") for i in LEFT_KP)
    # MediaPipe's landmark names match COCO's keypoint by keypoint
    assert [MEDIAPIPE33.joints[i] for i in MEDIAPIPE_TO_COCO17] == list(COCO17.joints)


def test_from_mediapipe_scales_and_scores() -> None:
    lm = np.random.default_rng(0).uniform(0, 1, size=(4, 33, 3))
    vis = np.full((4, 33), 0.8)
    lm[2] = np.nan  # no person in frame 2
    kp = from_mediapipe(lm, 640, 360, visibility=vis)
    assert kp.shape == (4, 17, 3)
    np.testing.assert_allclose(kp[0, :, 0], lm[0, list(MEDIAPIPE_TO_COCO17), 0] * 640, rtol=1e-6)
    np.testing.assert_allclose(kp[0, :, 1], lm[0, list(MEDIAPIPE_TO_COCO17), 1] * 360, rtol=1e-6)
    np.testing.assert_allclose(kp[0, :, 2], 0.8)
    assert not kp[2].any()
    one = from_mediapipe(lm[0, :, :2], 100, 100)  # one frame, no visibility: score 1
    assert one.shape == (17, 3) and np.all(one[:, 2] == 1)
    with pytest.raises(ValueError, match="33"):
        from_mediapipe(np.zeros((17, 2)), 1, 1)
    arr = frames_to_coco_array(kp[:, None])
    assert arr.shape == (3, 4, 17, 2) and not arr[..., 1].any() and not arr[:, 2].any()


def test_sequence_takes_coco17() -> None:
    assert SkeletonSequence(np.zeros((3, 5, 17, 2), np.float32)).layout == "coco17"
    assert SkeletonSequence(np.zeros((3, 5, 25, 2), np.float32)).layout == "ntu25"
    with pytest.raises(ValueError, match=r"\[3, T, 25, 2\] or \[3, T, 17, 2\], got \[3, 5, 20, 2\]"):
        SkeletonSequence(np.zeros((3, 5, 20, 2), np.float32))


def _facing_body() -> np.ndarray:
    """A standing T-less NTU-25 body facing the camera 3 m away (x = subject's right), [3, 1, 25, 2]."""
    j = {"spine_base": (0, 0.0), "spine_mid": (0, 0.27), "spine_shoulder": (0, 0.46), "neck": (0, 0.53),
         "head": (0, 0.66), "left_shoulder": (-0.17, 0.45), "right_shoulder": (0.17, 0.45),
         "left_elbow": (-0.2, 0.2), "right_elbow": (0.2, 0.2), "left_wrist": (-0.22, -0.02),
         "right_wrist": (0.22, -0.02), "left_hip": (-0.08, -0.02), "right_hip": (0.08, -0.02),
         "left_knee": (-0.09, -0.45), "right_knee": (0.09, -0.45), "left_ankle": (-0.1, -0.85),
         "right_ankle": (0.1, -0.85)}
    data = np.zeros((3, 1, 25, 2), np.float32)
    for name, (x, y) in j.items():
        data[:, 0, NTU25.index(name), 0] = (x, y, 3.0)
    return data


def test_projection_sides_face_and_cameras() -> None:
    body = _facing_body()
    camera = Camera(fx=1000, fy=1000, cx=959.5, cy=539.5)
    kp = project_ntu25(body, camera)[:, 0, :, 0]  # [3, 17]
    # unmirrored: the subject's left on the image's right; y down
    assert kp[0, K("left_shoulder")] > kp[0, K("right_shoulder")]
    assert kp[0, K("left_eye")] > kp[0, K("nose")] > kp[0, K("right_eye")]
    assert kp[0, K("left_ear")] > kp[0, K("left_eye")]
    assert kp[1, K("left_eye")] < kp[1, K("nose")] < kp[1, K("left_shoulder")] < kp[1, K("left_hip")]
    assert np.all(kp[2] == 1)
    # the nose: 10 cm in front of the head joint (nearer the camera) and 2.5 cm below it
    z_nose = 3.0 - 0.10
    assert kp[1, K("nose")] == pytest.approx(539.5 - 1000 * (0.66 - 0.025) / z_nose, abs=1e-3)
    mirrored = project_ntu25(body, Camera(fx=1000, fy=1000, cx=959.5, cy=539.5, mirrored=True))[:, 0, :, 0]
    np.testing.assert_allclose(mirrored[0] - 959.5, -(kp[0] - 959.5), atol=1e-3)
    missing = project_ntu25(body, camera, face="missing")
    assert not missing[:, :, :5].any() and np.array_equal(missing[:, :, 5:], project_ntu25(body, camera)[:, :, 5:])
    # a camera 90 degrees round to the subject's right sees their right profile, the face turned to the
    # image's right (the subject faces the original camera, on this one's right)
    side = Camera(fx=1000, fy=1000, cx=959.5, cy=539.5, centred=True, translation=np.array([0.0, 0.0, 3.0]),
                  rotation=np.array([[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]]))  # views._rotation(yaw=90 deg)
    s = project_ntu25(body, side)[:, 0, :, 0]
    assert s[0, K("nose")] > s[0, K("right_eye")] > s[0, K("right_ear")]
    with pytest.raises(ValueError, match="face"):
        project_ntu25(body, camera, face="guess")


def test_random_camera_keeps_the_subject_in_view() -> None:
    body = np.repeat(_facing_body(), 4, axis=1)
    rng = np.random.default_rng(1)
    inside = []
    for _ in range(50):
        cam = random_camera(rng)
        assert 900 <= cam.fx <= 1100 and cam.translation[2] >= 2.5 and cam.centred and not cam.mirrored
        kp = project_ntu25(body, cam)
        assert np.all(kp[2, :, :, 0] == 1) and not kp[..., 1].any()
        inside.append(np.all((kp[0, ..., 0] >= 0) & (kp[0, ..., 0] < 1920) & (kp[1, ..., 0] >= 0)
                             & (kp[1, ..., 0] < 1080)))
        # within +-60 degrees of yaw the subject still faces the camera: left shoulder on the right
        assert np.all(kp[0, :, K("left_shoulder"), 0] > kp[0, :, K("right_shoulder"), 0])
    assert all(inside)


def test_estimator_noise() -> None:
    body = np.repeat(_facing_body(), 200, axis=1)
    kp = project_ntu25(body, Camera(fx=1000, fy=1000, cx=959.5, cy=539.5), face="missing")
    noisy = add_estimator_noise(kp, np.random.default_rng(2), jitter=0.03, drop_prob=0.05)
    assert not noisy[:, :, :5].any() and not noisy[..., 1].any()  # missing stays missing
    present = kp[2] > 0
    torso = 1000 * 0.47 / 3.0
    err = (noisy[:2] - kp[:2])[:, present]
    assert 0.02 * torso < np.median(np.abs(err)) / 0.6745 < 0.045 * torso  # robust sigma ~ 3 %
    scores = noisy[2][present]
    assert scores.min() >= 0.05 and scores.max() <= 1.0
    assert 0.03 < np.mean(scores < 0.3) < 0.08


# --- against Kinect's own colour joints (the real NTU sample) ----------------------------------------------

def test_projection_matches_kinect_colour_joints(ntu_a001) -> None:  # type: ignore[no-untyped-def]
    """NTU's colour joints are Kinect's mapping into its (mirrored) colour image; the pinhole projection
    with Kinect v2 colour intrinsics and an identity pose lands 33 px (median) from them: the ~5 cm
    depth-to-colour offset and intrinsics this model ignores, nearly constant over the clip."""
    color = ntu_a001.meta["color_xy"]  # [2, T, 25, 2]
    kp = project_ntu25(ntu_a001.data, kinect_v2_camera())
    ntu = [NTU25.index(COCO17.joints[k]) for k in BODY]
    err = np.hypot(kp[0][:, BODY, 0] - color[0][:, ntu, 0], kp[1][:, BODY, 0] - color[1][:, ntu, 0])
    assert np.median(err) < 40.0  # measured 33.1 px (p90 35.5) at 1920 x 1080
    # NTU's video is mirrored: the subject's left shoulder on the image's left, as in color_xy ...
    assert np.all(color[0, :, NTU25.index("left_shoulder"), 0] < color[0, :, NTU25.index("right_shoulder"), 0])
    assert np.all(kp[0, :, K("left_shoulder"), 0] < kp[0, :, K("right_shoulder"), 0])
    # ... and the unmirrored photo from the same place has it on the right
    photo = project_ntu25(ntu_a001.data, kinect_v2_camera(mirrored=False))
    assert np.all(photo[0, :, K("left_shoulder"), 0] > photo[0, :, K("right_shoulder"), 0])
    assert np.all(photo[2, :, :, 0] == 1) and not photo[..., 1].any()
    face_y = photo[1, :, K("nose"), 0]
    assert np.all(face_y < photo[1, :, K("left_shoulder"), 0])


# --- the datasets ----------------------------------------------------------------------------------------

def test_penn_action() -> None:
    ds = _read("penn-action")
    _check_convention(ds)
    assert len(ds) == 2326 and ds.num_classes == 15 and len(set(ds.labels())) == 15
    assert {"squat", "push up", "jumping jacks", "pull up"} <= set(ds.class_names)
    assert sum(s.num_frames for s in ds) == 163841
    assert Counter(s.meta["view"] for s in ds) == {"front": 612, "back": 604, "right": 597, "left": 513}
    assert sum(s.meta["train"] for s in ds) == 1258
    assert Counter(ds.labels().tolist())[ds.class_names.index("squat")] == 114 + 117
    assert all(s.fps == 30.0 and s.subject is None and s.meta["scene"] == s.name for s in ds)
    assert not any(s.data[2, :, 1:5].any() for s in ds)  # eyes and ears missing
    # sides (read swapped against the README, see readers2d): the subject's left shoulder on the image's
    # right in front views (measured 97 %) and on its left in back views (82 %)
    assert _left_shoulder_on_right(s for s in ds if s.meta["view"] == "front") > 0.9
    assert _left_shoulder_on_right(s for s in ds if s.meta["view"] == "back") < 0.25
    assert _shoulders_above_hips(ds) > 0.9  # measured 96 %
    # mostly right-handed throwers: the right wrist travels further (measured 71 % / 77 %)
    for action in ("baseball pitch", "bowling"):
        label = ds.class_names.index(action)
        more = [_travel(s, "right_wrist") > _travel(s, "left_wrist") for s in ds if s.label == label]
        assert np.mean(more) > 0.65, action


def test_jhmdb() -> None:
    ds = _read("jhmdb-ddnet")
    _check_convention(ds)
    assert len(ds) == 609 and ds.num_classes == 14 and sum(s.num_frames for s in ds) == 21126
    counts = dict(zip(ds.class_names, np.bincount(ds.labels()).tolist(), strict=True))
    assert counts == {"catch": 48, "clap": 44, "golf swing": 42, "jump": 39, "pick up": 40, "pour": 55,
                      "pull up": 55, "push": 42, "run": 40, "sit down": 39, "stand up": 36, "throw": 46,
                      "walk": 41, "wave": 42}
    for split, (train, test) in {1: (433, 176), 2: (433, 176), 3: (434, 175)}.items():
        assert Counter(s.meta["splits"][split] for s in ds) == {"train": train, "test": test}
    assert sum(s.meta["train"] for s in ds) == 433
    # scene groups: every clip has one, a title never spans two groups, and a group sits on one side of
    # every split
    assert all(s.meta["scene"] for s in ds)
    group_of_title: dict = {}
    sides: dict = {}
    for s in ds:
        for title in s.meta["scene_titles"]:
            assert group_of_title.setdefault((s.meta["action_code"], title), s.meta["scene"]) == s.meta["scene"]
        assert sides.setdefault(s.meta["scene"], s.meta["splits"]) == s.meta["splits"]
    assert len(sides) == 93
    known = [s for s in ds if s.meta["video"]]
    assert len(known) == 6 and all(s.meta["video"].endswith(".avi") for s in known)
    assert _shoulders_above_hips(ds) > 0.95  # y down: measured 99 %
    throw = ds.class_names.index("throw")
    assert np.mean([_travel(s, "right_wrist") > _travel(s, "left_wrist") for s in ds if s.label == throw]) > 0.7


def test_berkeley_mhad_2d() -> None:
    ds = _read("berkeley-mhad-2d")
    _check_convention(ds)
    assert len(ds) == 165 and ds.num_classes == 11 and np.all(np.bincount(ds.labels()) == 15)
    assert Counter(s.subject for s in ds) == {1: 55, 2: 55, 3: 55}
    assert sum(s.num_frames for s in ds) == 25833 and all(s.fps == 22.0 for s in ds)
    assert ds.class_names[1] == "jumping jacks"
    assert _left_shoulder_on_right(ds) > 0.95  # subjects face the camera: measured 99.96 %
    assert _shoulders_above_hips(ds) > 0.95


def test_utd_mhad_openpose() -> None:
    ds = _read("utd-mhad-openpose")
    _check_convention(ds)
    assert len(ds) == 195 and ds.num_classes == 7 and sum(s.num_frames for s in ds) == 9433
    assert set(ds.class_names) <= set(cn.UTD_MHAD_CLASSES)
    counts = Counter(s.meta["action"] for s in ds)
    assert counts == {1: 32, 6: 32, 7: 32, 9: 32, 24: 32, 26: 32, 8: 3}
    assert all(ds.class_names[s.label] == cn.UTD_MHAD_CLASSES[s.meta["action"] - 1] for s in ds)
    assert Counter(s.subject for s in ds) == {1: 27, **{i: 24 for i in range(2, 9)}}
    assert all(s.meta["pairing_key"] == f"a{s.meta['action']}_s{s.subject}_t{s.meta['trial']}" for s in ds)
    assert len({s.meta["pairing_key"] for s in ds}) == 195
    kinect = shared_path("data", "utd-mhad", "Skeleton")
    assert all((kinect / f"{s.meta['pairing_key']}_skeleton.mat").is_file() for s in ds)
    assert not any(s.data[2, :, :, 0].min() == 0 for s in ds)  # every kept OpenPose row is complete
    # upstream normalisation: the shoulders are 1 apart, the neck (their middle here) at the origin
    d = ds[0].data[..., 0]
    width = np.hypot(*(d[:2, :, K("left_shoulder")] - d[:2, :, K("right_shoulder")]))
    np.testing.assert_allclose(width, 1.0, atol=1e-6)
    assert _left_shoulder_on_right(ds) > 0.99 and _shoulders_above_hips(ds) > 0.99


def test_pushfit_mediapipe() -> None:
    ds = _read("pushfit-mediapipe")
    _check_convention(ds)
    assert len(ds) == 265 and ds.class_names == ("push up",) and sum(s.num_frames for s in ds) == 32539
    assert Counter(s.meta["form"] for s in ds) == {"correct": 140, "wrong": 125}
    empty = np.mean([np.mean(~s.data[2, :, :, 0].any(axis=1)) for s in ds])
    assert 0.01 < empty < 0.03  # frames without a person: 1.8 % on average
    scored = np.concatenate([s.data[2, :, :, 0][s.data[2, :, :, 0] > 0] for s in ds])
    assert 0.0 < scored.min() and scored.max() <= 1.0 and all(s.fps == 25.0 for s in ds)


def test_md4fd_falls() -> None:
    ds = _read("md4fd-mediapipe-falls")
    _check_convention(ds)
    assert len(ds) == 268 and ds.class_names == ("daily activity", "falling")
    assert np.bincount(ds.labels()).tolist() == [208, 60]
    assert Counter(s.meta["scene"] for s in ds) == {"URFD_normalized": 201, "le2i_home_01": 18,
                                                     "le2i_home_02": 49}
    assert all(s.num_frames == 90 for s in ds)
    assert not any(s.data[2, :, [K(n) for n in ("left_eye", "right_eye", "left_ear", "right_ear",
                                                "left_elbow", "right_elbow")]].any() for s in ds)
    assert any("ur_fall_FALL.json" in n for n in ds.notes)
    assert _shoulders_above_hips(ds) > 0.85  # falls included: measured 94 %


# --- dispatch and bad input --------------------------------------------------------------------------------

def test_read_real2d_dispatch(tmp_path: Path) -> None:
    from dvta_live.skeleton.readers2d import REAL2D_DATASETS, read_real2d

    root = _real2d("berkeley-mhad-2d").parent
    assert sorted(p.name for p in root.iterdir() if p.name in REAL2D_DATASETS) == sorted(REAL2D_DATASETS)
    assert read_real2d("berkeley-mhad-2d", root=root).name == "berkeley-mhad-2d"
    renamed = tmp_path / "mine"
    (renamed / "labels").mkdir(parents=True)
    src = root / "penn-action" / "labels" / "0001.mat"
    (renamed / "labels" / "0001.mat").write_bytes(src.read_bytes())
    one = read_real2d(renamed)
    assert one.name == "penn-action" and len(one) == 1
    with pytest.raises(UserError, match="not one of the 2-D keypoint datasets"):
        read_real2d(tmp_path)
    with pytest.raises(UserError, match="no such file"):
        read_real2d(tmp_path / "absent")


def test_bad_files_name_the_file(tmp_path: Path) -> None:
    from dvta_live.skeleton.readers2d import (
        read_berkeley_mhad_csv,
        read_jhmdb,
        read_md4fd_json,
        read_penn_action_mat,
        read_pushfit,
    )

    bad = tmp_path / "0001.mat"
    bad.write_bytes(b"not a mat file")
    with pytest.raises(UserError, match=r"0001\.mat.*re-download"):
        read_penn_action_mat(bad)
    csv = tmp_path / "s01" / "a01" / "r01" / "x.csv"
    csv.parent.mkdir(parents=True)
    csv.write_text("1,2,3\n")
    with pytest.raises(UserError, match=r"x\.csv: 3 numbers a row, expected 34"):
        read_berkeley_mhad_csv(csv)
    (tmp_path / "GT_train_1.pkl").write_bytes(b"\x80\x04junk")
    with pytest.raises(UserError, match=r"GT_train_1\.pkl: cannot read the pickle"):
        read_jhmdb(tmp_path)
    js = tmp_path / "le2i_x.json"
    js.write_text("[[[1, 2], 0]]")
    with pytest.raises(UserError, match=r"le2i_x\.json: window 0 has a frame that is not 23 numbers"):
        read_md4fd_json(js)
    npz = tmp_path / "mediapipe_pushups.npz"
    np.savez(npz, correct1=np.zeros((5, 17, 2), np.float32))
    with pytest.raises(UserError, match=r"mediapipe_pushups\.npz: clip 'correct1' has shape \[5, 17, 2\]"):
        read_pushfit(npz)
