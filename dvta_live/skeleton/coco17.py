"""COCO-17 2-D keypoints: the layout, MediaPipe -> COCO-17, and NTU-25 3-D skeletons seen by a camera.

Array convention (``SkeletonSequence`` with 17 joints): float32 [3, T, 17, 2] = (x, y, score) x frame x
keypoint x body. x is pixels rightwards in the image, y pixels downwards, score in [0, 1]; a missing
keypoint or an absent body is x = y = score = 0 (and a keypoint with score 0 has x = y = 0). Body slot 0
is the main person. Keypoints are COCO order; "left" is the subject's left.

Sides in images. In an unmirrored photo of a subject facing the camera, their left shoulder is on the
image's right. NTU RGB+D's RGB videos are mirrored (Kinect v2 flips its colour image): NTU's own colour
joints (``read_ntu_skeleton(...).meta["color_xy"]``) put the subject's left shoulder on the image's left,
u = cx + fx * X / Z in NTU camera axes (measured on S001C001P001R001A001: the fit's slope is +1048 px).
:class:`Camera` has ``mirrored`` for that; every camera here is unmirrored unless asked
(:func:`kinect_v2_camera` defaults to mirrored so that it reproduces NTU's colour joints).

Face keypoints. NTU-25 has no eyes, ears or nose. :func:`project_ntu25` synthesises them in 3-D from the
head joint, a head frame (up = neck -> head; right = left shoulder -> right shoulder, made orthogonal to
up; forward = up x right, towards the camera for a subject facing it) and fixed offsets, score 1 (or
leaves them missing, ``face="missing"``). Offsets (metres, right / up / forward from the head joint):

- lateral, from adult anthropometry: eyes +-3.2 cm (interpupillary distance ~63 mm), ears +-7.2 cm
  (bitragion breadth ~14.4 cm);
- forward, from anthropometry with the head joint (Kinect's head centre) taken in the ears' coronal
  plane: ears 0, eyes 8 cm (tragion to pupil depth ~7.5-8.5 cm), nose tip 10 cm (tragion to pronasale
  ~10-11 cm);
- vertical, measured on NTU S001C001P001R001A001 (MediaPipe Pose full on 18 frames of its RGB video
  against Kinect's colour-space head joint, scaled by the head's depth): eyes 0.6 cm above the head
  joint, ears 0.7 cm below, nose tip 2.5 cm below.

The face is scored 1 whatever the view (a camera behind the subject still gets face keypoints, where
a 2-D estimator would give low scores); :func:`random_camera` keeps to +-60 degrees of yaw, where the
face shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dvta_live.skeleton.layouts import NTU25, Layout
from dvta_live.skeleton.sequence import MAX_BODIES
from dvta_live.skeleton.views import _rotation

NUM_KEYPOINTS = 17
COCO17_JOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
# The COCO keypoint annotations' "skeleton" (19 limbs), as (child, parent) pairs.
_COCO17_BONE_NAMES = (
    ("left_ankle", "left_knee"), ("left_knee", "left_hip"), ("right_ankle", "right_knee"),
    ("right_knee", "right_hip"), ("right_hip", "left_hip"), ("left_hip", "left_shoulder"),
    ("right_hip", "right_shoulder"), ("right_shoulder", "left_shoulder"), ("left_elbow", "left_shoulder"),
    ("right_elbow", "right_shoulder"), ("left_wrist", "left_elbow"), ("right_wrist", "right_elbow"),
    ("right_eye", "left_eye"), ("left_eye", "nose"), ("right_eye", "nose"), ("left_ear", "left_eye"),
    ("right_ear", "right_eye"), ("left_shoulder", "left_ear"), ("right_shoulder", "right_ear"),
)
COCO17 = Layout("coco17", COCO17_JOINTS,
                tuple((COCO17_JOINTS.index(c), COCO17_JOINTS.index(p)) for c, p in _COCO17_BONE_NAMES))
LEFT_KP: tuple[int, ...] = (1, 3, 5, 7, 9, 11, 13, 15)
RIGHT_KP: tuple[int, ...] = (2, 4, 6, 8, 10, 12, 14, 16)
FACE_KP: tuple[int, ...] = (0, 1, 2, 3, 4)
# MediaPipe Pose (BlazePose, 33 landmarks) index of each COCO-17 keypoint, in COCO order.
MEDIAPIPE_TO_COCO17: tuple[int, ...] = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)

# NTU-25 joint of each COCO-17 body keypoint (shoulders .. ankles); the face is synthesised.
_NTU_OF_COCO = {COCO17.index(f"{s}_{j}"): NTU25.index(f"{s}_{j}")
                for s in ("left", "right") for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")}
_HEAD, _NECK = NTU25.index("head"), NTU25.index("neck")
_L_SHOULDER, _R_SHOULDER = NTU25.index("left_shoulder"), NTU25.index("right_shoulder")
# (right, up, forward) offsets from the head joint in metres; see the module docstring.
FACE_OFFSETS: dict[str, tuple[float, float, float]] = {
    "nose": (0.0, -0.025, 0.10),
    "left_eye": (-0.032, 0.006, 0.08), "right_eye": (0.032, 0.006, 0.08),
    "left_ear": (-0.072, -0.007, 0.0), "right_ear": (0.072, -0.007, 0.0),
}
_NEAR = 0.1  # metres: a point closer to (or behind) the camera is not projected (missing)


def _as_keypoints(points_xy: np.ndarray, score: np.ndarray) -> np.ndarray:
    """[..., 17, 2] pixels + [..., 17] scores -> [..., 17, 3], zeros where the score is 0 or anything is
    not finite."""
    out = np.concatenate([points_xy, score[..., None]], axis=-1).astype(np.float32)
    bad = ~np.isfinite(out).all(axis=-1) | (out[..., 2] <= 0)
    out[bad] = 0.0
    return out


def from_mediapipe(landmarks: np.ndarray, width: float, height: float,
                   visibility: np.ndarray | None = None) -> np.ndarray:
    """MediaPipe Pose image landmarks [..., 33, C>=2] (x, y normalised to the image's width and height,
    as MediaPipe gives them; further columns ignored) -> COCO-17 keypoints [..., 17, 3] (x, y pixels,
    score). ``visibility`` [..., 33] (MediaPipe's, clipped to [0, 1]) is the score; None scores every
    landmark 1. A landmark with a NaN (no person in the frame) is missing (zeros)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim < 2 or lm.shape[-2] != 33 or lm.shape[-1] < 2:
        raise ValueError(f"expected MediaPipe landmarks [..., 33, 2+], got {list(lm.shape)}")
    idx = list(MEDIAPIPE_TO_COCO17)
    xy = lm[..., idx, :2] * np.array([width, height], dtype=np.float64)
    if visibility is None:
        score = np.ones(xy.shape[:-1])
    else:
        vis = np.asarray(visibility, dtype=np.float64)
        if vis.shape != lm.shape[:-1]:
            raise ValueError(f"visibility must be {list(lm.shape[:-1])}, got {list(vis.shape)}")
        score = np.clip(vis[..., idx], 0.0, 1.0)
    return _as_keypoints(xy, score)


def frames_to_coco_array(frames: np.ndarray) -> np.ndarray:
    """[T, M, 17, 3] (x, y, score) bodies-per-frame -> the [3, T, 17, 2] convention: the first two bodies,
    zero-padded; keypoints with score <= 0 or non-finite values become zeros."""
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim != 4 or frames.shape[2:] != (NUM_KEYPOINTS, 3):
        raise ValueError(f"expected [T, M, 17, 3] keypoints, got {list(frames.shape)}")
    t, m = frames.shape[:2]
    kept = _as_keypoints(frames[:, :MAX_BODIES, :, :2], frames[:, :MAX_BODIES, :, 2])
    out = np.zeros((3, t, NUM_KEYPOINTS, MAX_BODIES), dtype=np.float32)
    out[..., : min(m, MAX_BODIES)] = np.transpose(kept, (3, 0, 2, 1))
    return out


# --- cameras ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Camera:
    """A pinhole camera looking at an NTU-25 clip (metres, NTU camera axes: x to the sensor's left, which
    is the subject's right when they face it; y up; z away from the camera).

    A point p of the clip goes to this camera's frame (same axis convention) as ``rotation @ p +
    translation``; with ``centred`` the clip is first moved so that its main body's centre (the mean of
    its present joints over the clip) is at the origin, so the camera looks at the subject from
    ``translation`` (``(0, 0, d)``: straight ahead, d metres away). Then u = cx - fx X / Z (unmirrored:
    the sensor's left is the image's left; ``mirrored`` flips the sign, as NTU's RGB videos) and
    v = cy - fy Y / Z. ``width``/``height`` are the image size the intrinsics belong to."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int = 1920
    height: int = 1080
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    translation: np.ndarray = field(default_factory=lambda: np.zeros(3))
    centred: bool = False
    mirrored: bool = False

    def __post_init__(self) -> None:
        r = np.asarray(self.rotation, dtype=np.float64)
        t = np.asarray(self.translation, dtype=np.float64)
        if r.shape != (3, 3) or t.shape != (3,):
            raise ValueError(f"rotation must be 3x3 and translation 3, got {list(r.shape)}, {list(t.shape)}")
        object.__setattr__(self, "rotation", r)
        object.__setattr__(self, "translation", t)


# Kinect v2 colour camera intrinsics (the commonly used factory calibration; the depth -> colour offset,
# ~5 cm sideways, is ignored: NTU's joints are in the depth camera's frame).
KINECT_V2_COLOUR = {"fx": 1081.37, "fy": 1081.37, "cx": 959.5, "cy": 539.5, "width": 1920, "height": 1080}


def kinect_v2_camera(mirrored: bool = True) -> Camera:
    """The NTU recording's own camera: identity pose, Kinect v2 colour intrinsics. Mirrored by default, as
    NTU's RGB videos and their colour joints are; ``mirrored=False`` is the unmirrored photo."""
    return Camera(**KINECT_V2_COLOUR, mirrored=mirrored)  # type: ignore[arg-type]


def random_camera(rng: np.random.Generator, width: int = 1920, height: int = 1080) -> Camera:
    """A random virtual camera for augmentation, looking at the subject (``centred``): yaw uniform in
    [-60, 60] degrees (positive turns the subject's right side towards the camera), elevation uniform in
    [-15, 20] degrees (positive: the camera above, looking down), distance 2.5-4.5 m, the subject up to
    0.3 m off the optical axis sideways and 0.2 m vertically, focal length 1000 px x [0.9, 1.1] for a
    1920 x 1080 image (scaled with ``width``), principal point at the image centre, unmirrored."""
    yaw = math.radians(rng.uniform(-60.0, 60.0))
    elevation = math.radians(rng.uniform(-15.0, 20.0))
    # views._rotation's pitch tilts the body's top away from the camera (a camera below): negate
    rotation = _rotation(yaw, -elevation, 0.0)
    translation = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2), rng.uniform(2.5, 4.5)])
    focal = 1000.0 * (width / 1920.0) * rng.uniform(0.9, 1.1)
    return Camera(fx=focal, fy=focal, cx=(width - 1) / 2.0, cy=(height - 1) / 2.0, width=width, height=height,
                  rotation=rotation, translation=translation, centred=True)


# --- projection --------------------------------------------------------------------------------------------

def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    ok = n[..., 0] > 1e-6
    return v / np.where(n > 1e-6, n, 1.0), ok


def _face(x: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Face points [T, M, 5, 3] (COCO order nose..right_ear) and where they exist [T, M], from NTU joints
    x [T, M, 25, 3] (see the module docstring)."""
    up, ok_up = _unit(x[..., _HEAD, :] - x[..., _NECK, :])
    right = x[..., _R_SHOULDER, :] - x[..., _L_SHOULDER, :]
    right, ok_right = _unit(right - np.sum(right * up, axis=-1, keepdims=True) * up)
    forward = np.cross(up, right)
    ok = ok_up & ok_right & present[..., [_HEAD, _NECK, _L_SHOULDER, _R_SHOULDER]].all(axis=-1)
    offsets = np.array([FACE_OFFSETS[n] for n in COCO17_JOINTS[:5]])  # [5, 3]
    head = x[..., _HEAD, None, :]
    points = (head + offsets[:, 0, None] * right[..., None, :] + offsets[:, 1, None] * up[..., None, :]
              + offsets[:, 2, None] * forward[..., None, :])
    return points, ok


def project_ntu25(data3d: np.ndarray, camera: Camera, face: str = "synthesise") -> np.ndarray:
    """An NTU-25 clip [3, T, 25, M] (metres, NTU camera axes; absent joints zero) seen by ``camera`` ->
    COCO-17 keypoints [3, T, 17, 2] (x, y pixels, score 1 for every projected keypoint). ``face``:
    "synthesise" (nose, eyes and ears from the head, see the module docstring) or "missing" (score 0).
    Joints absent in the clip, and points less than 0.1 m in front of the camera, are missing."""
    if face not in ("synthesise", "missing"):
        raise ValueError(f"face must be 'synthesise' or 'missing', got {face!r}")
    data3d = np.asarray(data3d)
    if data3d.ndim != 4 or data3d.shape[0] != 3 or data3d.shape[2] != NTU25.num_joints:
        raise ValueError(f"expected an NTU-25 clip [3, T, 25, M], got {list(data3d.shape)}")
    x = np.transpose(data3d, (1, 3, 2, 0)).astype(np.float64)[:, :MAX_BODIES]  # [T, M, 25, 3]
    t, m = x.shape[:2]
    present = np.any(x != 0, axis=-1)  # [T, M, 25]
    points = np.zeros((t, m, NUM_KEYPOINTS, 3))
    exists = np.zeros((t, m, NUM_KEYPOINTS), dtype=bool)
    coco, ntu = list(_NTU_OF_COCO), list(_NTU_OF_COCO.values())
    points[:, :, coco] = x[:, :, ntu]
    exists[:, :, coco] = present[:, :, ntu]
    if face == "synthesise":
        points[:, :, :5], ok = _face(x, present)
        exists[:, :, :5] = ok[..., None]
    if camera.centred:
        body0 = x[:, 0][present[:, 0]]
        points = points - (body0.mean(axis=0) if len(body0) else 0.0)
    cam = points @ camera.rotation.T + camera.translation
    z = cam[..., 2]
    visible = exists & (z > _NEAR)
    z = np.where(visible, z, 1.0)
    sign = 1.0 if camera.mirrored else -1.0
    u = camera.cx + sign * camera.fx * cam[..., 0] / z
    v = camera.cy - camera.fy * cam[..., 1] / z
    kp = _as_keypoints(np.stack([u, v], axis=-1), visible.astype(np.float64))  # [T, M, 17, 3]
    out = np.zeros((3, t, NUM_KEYPOINTS, MAX_BODIES), dtype=np.float32)
    out[..., :m] = np.transpose(kp, (3, 0, 2, 1))
    return out


def add_estimator_noise(keypoints: np.ndarray, rng: np.random.Generator, jitter: float = 0.03,
                        drop_prob: float = 0.03, score_range: tuple[float, float] = (0.7, 1.0)) -> np.ndarray:
    """2-D-estimator-like errors on COCO-17 keypoints [3, T, 17, M] (a new array; missing keypoints stay
    zeros). Per present keypoint and frame: x, y move by Gaussian noise of ``jitter`` torso lengths (the
    body's median shoulder-centre to hip-centre distance over the clip, in pixels); the score becomes
    uniform in ``score_range`` times the original; with probability ``drop_prob`` a keypoint is a poor
    detection instead: score uniform in [0.05, 0.3] and three times the jitter."""
    kp = np.array(keypoints, dtype=np.float64)
    if kp.ndim != 4 or kp.shape[0] != 3 or kp.shape[2] != NUM_KEYPOINTS:
        raise ValueError(f"expected COCO-17 keypoints [3, T, 17, M], got {list(kp.shape)}")
    present = kp[2] > 0  # [T, 17, M]
    ls, rs, lh, rh = (COCO17.index(n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"))
    both = present[:, [ls, rs, lh, rh]].all(axis=1)  # [T, M]
    torso = np.linalg.norm((kp[:2, :, ls] + kp[:2, :, rs]) / 2 - (kp[:2, :, lh] + kp[:2, :, rh]) / 2, axis=0)
    scale = np.array([np.median(torso[both[:, i], i]) if both[:, i].any() else np.nan
                      for i in range(kp.shape[3])])  # [M]
    for i in range(kp.shape[3]):  # no torso seen: a tenth of the body's extent
        if not np.isfinite(scale[i]) and present[..., i].any():
            xy = kp[:2, present[..., i], i]
            scale[i] = 0.1 * float(np.ptp(xy, axis=1).max())
    scale = np.nan_to_num(scale)
    drop = rng.random(present.shape) < drop_prob
    sigma = jitter * scale[None, None, :] * np.where(drop, 3.0, 1.0)  # [T, 17, M]
    kp[:2] += rng.normal(size=kp[:2].shape) * sigma
    kp[2] *= rng.uniform(*score_range, size=present.shape)
    kp[2] = np.where(drop, rng.uniform(0.05, 0.3, size=present.shape), kp[2])
    kp[:, ~present] = 0.0
    return kp.astype(np.float32)


__all__ = [
    "COCO17", "COCO17_JOINTS", "FACE_KP", "FACE_OFFSETS", "KINECT_V2_COLOUR", "LEFT_KP", "MEDIAPIPE_TO_COCO17",
    "NUM_KEYPOINTS", "RIGHT_KP", "Camera", "add_estimator_noise", "frames_to_coco_array", "from_kinect_colour",
    "from_mediapipe", "front_view_keypoints",
    "kinect_v2_camera", "project_ntu25", "random_camera",
]


_FAR_M = 100.0  # a camera this far away sees a nearly orthographic view, wherever the skeleton's origin is


def front_view_keypoints(data3d: np.ndarray, pixels_per_m: float = 500.0) -> np.ndarray:
    """A 3-D NTU-25 clip [3, T, 25, M] as COCO-17 keypoints [3, T, 17, 2] seen from straight ahead, nearly
    orthographic (``pixels_per_m`` at the origin; face synthesised): what a 2-D model is given for a
    replayed skeleton or a skeleton-file example. Translation in x and y is kept (jumps, walking across)."""
    camera = Camera(fx=pixels_per_m * _FAR_M, fy=pixels_per_m * _FAR_M, cx=0.0, cy=0.0,
                    translation=np.array([0.0, 0.0, _FAR_M]))
    return project_ntu25(data3d, camera)


def from_kinect_colour(color_xy: np.ndarray) -> np.ndarray:
    """Kinect v2 colour-space joints (``read_ntu_skeleton``'s ``meta["color_xy"]``, [2, T, 25, M] pixels) ->
    COCO-17 keypoints [3, T, 17, M]: shoulders .. ankles from their joints, the head as the nose, score 1
    where the body is tracked. Kinect has no eyes or ears: they stay missing (score 0), since approximating
    them from the head and shoulders moved the X3D off NTU A001's drink water (tests/test_x3d.py)."""
    xy = np.asarray(color_xy, np.float32)
    _, t, _, m = xy.shape
    out = np.zeros((3, t, NUM_KEYPOINTS, m), np.float32)
    tracked = np.abs(xy).sum(axis=(0, 2)) > 0  # [T, M]
    for coco, ntu in ((0, _HEAD), *_NTU_OF_COCO.items()):
        out[:2, :, coco] = xy[:, :, ntu]
        out[2, :, coco] = tracked
    return out
