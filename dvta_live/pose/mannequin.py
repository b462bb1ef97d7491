"""3-D skeleton clips seen through the live path's own pose estimator: each frame is drawn as a simple
mannequin from a virtual camera and handed to MediaPipe, so the joints that come back carry the errors
that MediaPipe makes on a camera (depth from a learnt prior, a forearm in front of the torso pulled in,
hips wider than Kinect's, a side view's hidden limbs guessed), on data with action labels.

Why: the head learns from Kinect and mocap skeletons and the live loop feeds it MediaPipe's estimates.
Measured on the paired NTU A001 clip, MediaPipe on the drawn Kinect skeleton is off from it by 0.14 m
per joint in 3-D (on the real RGB video: 0.15 m) and its image landmarks by 0.05-0.3 torso lengths
(real video: 0.02-0.45), so the drawn clips put the camera-input error into training without any
recorded video. Noise models of that error did not (bench/results/real_video_ablation.md).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dvta_live.conventions import DEFAULT_FPS
from dvta_live.pose.estimator import PoseEstimator
from dvta_live.pose.sources import Frame
from dvta_live.skeleton.layouts import NTU25
from dvta_live.skeleton.sequence import MAX_BODIES, NUM_COORDS, NUM_JOINTS, SkeletonDataset
from dvta_live.skeleton.views import _rotation, live_window

_J = {name: i for i, name in enumerate(NTU25.joints)}
Colour = tuple[int, int, int]  # BGR


@dataclass(frozen=True)
class Look:
    """Colours of one drawn person and the background (BGR)."""

    skin: Colour
    shirt: Colour
    trousers: Colour
    shoes: Colour
    hair: Colour
    background: tuple[Colour, Colour]  # top, bottom of a vertical gradient


def random_look(rng: np.random.Generator) -> Look:
    """A person and a plain backdrop with random colours (skin tones from dark to light)."""
    def colour(lo: int, hi: int) -> Colour:
        return tuple(int(v) for v in rng.integers(lo, hi, size=3))  # type: ignore[return-value]

    tone = rng.uniform(0.35, 1.0)
    skin = (int(110 * tone + 20), int(150 * tone + 20), int(200 * tone + 30))
    back = colour(90, 240)
    return Look(skin=skin, shirt=colour(20, 230), trousers=colour(15, 160), shoes=colour(10, 80),
                hair=colour(10, 90), background=(back, tuple(int(v * rng.uniform(0.7, 1.0)) for v in back)))


# (joint, joint, radius in metres, part): limbs drawn as capsules
_LIMBS = (
    ("left_shoulder", "left_elbow", 0.05, "shirt"), ("left_elbow", "left_wrist", 0.04, "skin"),
    ("left_wrist", "left_hand", 0.045, "skin"),
    ("right_shoulder", "right_elbow", 0.05, "shirt"), ("right_elbow", "right_wrist", 0.04, "skin"),
    ("right_wrist", "right_hand", 0.045, "skin"),
    ("left_hip", "left_knee", 0.08, "trousers"), ("left_knee", "left_ankle", 0.06, "trousers"),
    ("left_ankle", "left_foot", 0.045, "shoes"),
    ("right_hip", "right_knee", 0.08, "trousers"), ("right_knee", "right_ankle", 0.06, "trousers"),
    ("right_ankle", "right_foot", 0.045, "shoes"),
    ("spine_shoulder", "neck", 0.05, "skin"),
    ("spine_base", "spine_shoulder", 0.12, "shirt"),
)
_TORSO = [_J[n] for n in ("left_shoulder", "right_shoulder", "right_hip", "left_hip")]
_HEAD_RADIUS = 0.11


def draw(joints: np.ndarray, look: Look, size: tuple[int, int] = (480, 640), focal: float | None = None) -> np.ndarray:
    """One BGR image [H, W, 3] of a mannequin posed by ``joints`` [25, 3]: NTU axes in a camera's space
    (metres; x to the subject's right when facing the camera, y up, z away from the camera), seen by a
    pinhole camera at the origin with ``focal`` pixels (default 0.9 x width). Parts are drawn far to
    near, limbs and torso shaded as lit from the camera (bright along the middle, dark at the rims): with
    flat colours MediaPipe reads less depth (NTU A001 drawn from Kinect's view: joints 0.12 m from the
    drawn ones about the spine mid, flat, against 0.10 m shaded, over 4 looks; the backbone feature of the
    estimate has cosine 0.60 with the real video's and 0.58 with Kinect's, flat, against 0.64 and 0.69
    shaded, over 8 looks; ablation row 23 in bench/results/real_video_ablation.md).
    The face is drawn when the body faces the camera, hair when it faces away."""
    import cv2

    h, w = size
    f = focal or 0.9 * w
    img = np.empty((h, w, 3), np.uint8)
    ramp = np.linspace(0.0, 1.0, h)[:, None]
    top, bottom = (np.array(c, np.float64) for c in look.background)
    img[:] = (top * (1 - ramp) + bottom * ramp)[:, None, :].astype(np.uint8)
    z = np.maximum(joints[:, 2], 0.3)
    # a real camera: the subject's right (+x) is on the image's left
    uv = np.stack([w / 2 - f * joints[:, 0] / z, h / 2 - f * joints[:, 1] / z], axis=1)

    def pt(i: int) -> tuple[int, int]:
        return _xy(uv[i, 0], uv[i, 1])

    def px(radius: float, depth: float) -> int:
        return max(1, int(np.rint(f * radius / max(depth, 0.3))))

    colours = {"skin": look.skin, "shirt": look.shirt, "trousers": look.trousers, "shoes": look.shoes}
    parts: list[tuple[float, str, tuple]] = [
        ((z[_J[a]] + z[_J[b]]) / 2, "limb", (_J[a], _J[b], r, colours[part])) for a, b, r, part in _LIMBS]
    parts.append((float(z[_TORSO].mean()) + 0.01, "torso", ()))
    parts.append((float(z[_J["head"]]), "head", ()))
    for depth, kind, arg in sorted(parts, key=lambda p: -p[0]):
        if kind == "limb":
            a, b, r, c = arg
            for width, tone in _SHADES:  # nested strokes, narrower and brighter: a lit cylinder
                cv2.line(img, pt(a), pt(b), _lit(c, tone), 2 * max(1, round(px(r, depth) * width)), cv2.LINE_AA)
                for i in (a, b):
                    cv2.circle(img, pt(i), max(1, round(px(r, z[i]) * width)), _lit(c, tone), -1, cv2.LINE_AA)
        elif kind == "torso":
            quad = uv[_TORSO]
            centre = quad.mean(axis=0)
            for width, tone in _SHADES:
                cv2.fillConvexPoly(img, np.round(centre + (quad - centre) * 1.15 * width).astype(np.int32),
                                   _lit(look.shirt, tone), cv2.LINE_AA)
            cv2.line(img, pt(_J["left_hip"]), pt(_J["right_hip"]), look.trousers, 2 * px(0.09, depth), cv2.LINE_AA)
        else:
            _draw_head(img, joints, uv, px(_HEAD_RADIUS, depth), look)
    return img


# (fraction of the part's width, brightness): a cylinder lit from the camera, Lambertian, in 4 bands
_SHADES = tuple((1 - k / 4, 0.5 + 0.6 * math.sqrt(1 - (1 - k / 4) ** 2)) for k in range(4))


def _lit(colour: Colour, tone: float) -> Colour:
    return tuple(min(255, int(v * tone)) for v in colour)  # type: ignore[return-value]


def _xy(x: float, y: float) -> tuple[int, int]:
    return int(np.rint(x)), int(np.rint(y))


def _draw_head(img: np.ndarray, joints: np.ndarray, uv: np.ndarray, r: int, look: Look) -> None:
    import cv2

    cx, cy = uv[_J["head"]]
    right = joints[_J["right_shoulder"]] - joints[_J["left_shoulder"]]
    up = joints[_J["neck"]] - joints[_J["spine_mid"]]
    forward = np.cross(up, right)  # the way the chest faces
    forward = forward / (np.linalg.norm(forward) + 1e-9)
    rx, ry = max(1, int(0.8 * r)), max(1, int(0.9 * r))
    cv2.ellipse(img, _xy(cx, cy), (rx, r), 0, 0, 360, look.skin, -1, cv2.LINE_AA)
    turn = -forward[0]  # image-horizontal component of the facing direction (the image's x is -x)
    if forward[2] < -0.2:  # towards the camera: a face, shifted as the head turns
        s = r / 10.0
        fx = cx + turn * 3 * s
        thin = max(1, int(np.rint(s)))
        cv2.ellipse(img, _xy(cx - turn * 2 * s, cy - 6 * s), (rx, max(1, int(0.45 * r))), 0, 180, 360, look.hair, -1,
                    cv2.LINE_AA)
        for dx in (-3, 3):
            cv2.circle(img, _xy(fx + dx * s, cy - s), max(1, int(np.rint(1.2 * s))), (35, 35, 35), -1, cv2.LINE_AA)
        cv2.line(img, _xy(fx, cy), _xy(fx + turn * s, cy + 2 * s), _lit(look.skin, 0.8), thin,
                 cv2.LINE_AA)
        cv2.line(img, _xy(fx - 2 * s, cy + 4.5 * s), _xy(fx + 2 * s, cy + 4.5 * s), (70, 70, 150), thin, cv2.LINE_AA)
    elif forward[2] > 0.2:  # facing away: the back of the head is hair
        cv2.ellipse(img, _xy(cx, cy), (rx, ry), 0, 0, 360, look.hair, -1, cv2.LINE_AA)
    else:  # side on: hair on the back half
        start = 90 if turn > 0 else -90
        cv2.ellipse(img, _xy(cx, cy - 0.1 * r), (rx, ry), 0, start, start + 180, look.hair, -1, cv2.LINE_AA)


@dataclass(frozen=True)
class Camera:
    """Where the virtual camera stands: turned ``yaw`` about the body, tilted ``pitch`` (positive: from
    above), ``distance`` metres from the body's centre, and the image it makes."""

    yaw: float = 0.0
    pitch: float = 0.0
    distance: float = 3.0
    size: tuple[int, int] = (480, 640)


def random_camera(rng: np.random.Generator) -> Camera:
    """Half the views near the recorded one (a webcam user faces the camera), half from anywhere around;
    from slightly below to well above; the person filling about half to three quarters of the height."""
    yaw = rng.normal(0.0, 0.35) if rng.random() < 0.5 else rng.uniform(-math.pi, math.pi)
    return Camera(yaw=float(yaw), pitch=math.radians(rng.uniform(-5.0, 25.0)), distance=float(rng.uniform(2.4, 3.6)))


def place(data: np.ndarray, camera: Camera) -> np.ndarray:
    """Body 0 of a clip [3, T, 25, M] in the camera's space [T, 25, 3]: its walk across the floor
    removed (the camera follows, as MediaPipe's hip-centred world landmarks do anyway), turned and
    tilted about its centre, ``distance`` in front of the camera. Absent frames stay zero."""
    x = data[..., 0].transpose(1, 2, 0).astype(np.float64)  # [T, 25, 3]
    present = np.any(x != 0, axis=(1, 2))
    if not present.any():
        return np.zeros_like(x)
    x = x @ _upright(x[present]).T
    root = x[:, _J["spine_mid"]].copy()
    x = x - np.where(present[:, None], root * np.array([1.0, 0.0, 1.0]), 0.0)[:, None, :]
    x = x - x[present].reshape(-1, 3).mean(axis=0) * np.array([0.0, 1.0, 0.0])
    # views' rotation tilts the head away for a positive pitch; a camera above brings it closer
    x = x @ _rotation(camera.yaw, -camera.pitch, 0.0).T + np.array([0.0, 0.0, camera.distance])
    x[~present] = 0.0
    return x


def _upright(x: np.ndarray) -> np.ndarray:
    """The rotation that stands the body's median spine direction up (+y), when it leans less than
    MAX_LEAN from it: a Kinect tilted toward the floor records upright people leaning, which a turned
    virtual camera would show falling sideways. A clip lying down most of the time is left as it is."""
    spine = x[:, _J["spine_shoulder"]] - x[:, _J["spine_base"]]
    spine = np.median(spine / (np.linalg.norm(spine, axis=1, keepdims=True) + 1e-9), axis=0)
    spine = spine / (np.linalg.norm(spine) + 1e-9)
    up = np.array([0.0, 1.0, 0.0])
    cos = float(spine @ up)
    if cos < math.cos(MAX_LEAN) or cos > 1 - 1e-9:
        return np.eye(3)
    axis = np.cross(spine, up)
    axis = axis / np.linalg.norm(axis)
    angle = math.acos(cos)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - cos) * (k @ k)  # Rodrigues


MAX_LEAN = math.radians(35.0)


def through_pose_estimator(data: np.ndarray, fps: float, camera: Camera, look: Look, estimator, *,
                           out_fps: float = 15.0) -> np.ndarray:
    """A 3-D clip [3, T, 25, M] at ``fps`` as the live loop would see it: drawn from ``camera`` at
    ``out_fps`` and passed through ``estimator`` (a ``realtime.pose.PoseEstimator``; it is reset first).
    Returns the estimator's joints [3, T', 25, 2] (body 0 only; zeros where it found nobody)."""

    placed = place(data, camera)
    step = max(fps / out_fps, 1.0)
    frames = np.round(np.arange(0.0, placed.shape[0] - 0.5, step)).astype(int)
    estimator.reset()
    out = np.zeros((NUM_COORDS, len(frames), NUM_JOINTS, MAX_BODIES), np.float32)
    for k, t in enumerate(frames):
        if not placed[t].any():
            continue
        image = draw(placed[t], look, camera.size)
        result = estimator.estimate(Frame(index=k, timestamp_s=k * step / fps, image=image))
        slot = next((m for m in range(MAX_BODIES) if result.present[m]), None)
        if slot is not None:
            out[:, k, :, 0] = result.joints[..., slot]
    return out


CAMERA_STREAM = 7  # seeds (seed, CAMERA_STREAM + view, clip): apart from other_views' (seed, view, clip) windows


def camera_dataset(dataset: SkeletonDataset, *, views: int | Sequence[int] = 1, seed: int = 0,
                   window_s: float | None = 3.0, out_fps: float = 15.0, pose_model: str = "lite",
                   on_clip: Callable[[], None] | None = None) -> SkeletonDataset:
    """Every clip of ``dataset`` as the live loop would see it (``through_pose_estimator``), once per view:
    a live window of ``window_s`` seconds (``skeleton.views.live_window``; None: the whole clip), a random
    camera and look, all drawn from ``seed``, the view and the clip's index, so that a run repeats exactly
    and views can be made apart (``views`` a list of view ids) and joined. Labels, names and subjects are
    kept; the clips come back at ``out_fps``, view after view. ``on_clip()`` after each clip."""

    clips = []
    with PoseEstimator(pose_model, num_people=1) as estimator:
        for view in (range(views) if isinstance(views, int) else views):
            for i, seq in enumerate(dataset):
                rng = np.random.default_rng((seed, CAMERA_STREAM + view, i))
                fps = seq.fps or DEFAULT_FPS
                data = seq.data if window_s is None else live_window(seq.data, fps, window_s, rng)
                seen = through_pose_estimator(data, fps, random_camera(rng), random_look(rng), estimator,
                                              out_fps=out_fps)
                clips.append(dataclasses.replace(seq, data=seen, fps=out_fps))
                if on_clip is not None:
                    on_clip()
    return dataclasses.replace(dataset, name=f"{dataset.name}-camera", sequences=tuple(clips))


__all__ = ["Camera", "Look", "camera_dataset", "draw", "place", "random_camera", "random_look", "through_pose_estimator"]
