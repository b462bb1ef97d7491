"""Seeing a 3-D skeleton clip as a camera would: random virtual cameras with MediaPipe-like errors, and
live-window-like crops. Used to train lifted backbones (``dvta_live.backbone.lift``) and to extract head
training features of image-plane backbones from several views (``dvta extract-features --views``).

The errors reproduce what was measured on the paired NTU A001 clip (MediaPipe image landmarks against
Kinect's colour-space joints): body joints within 0.02-0.15 torso lengths, a forearm held in front of
the torso off by about 0.45, hand points placed loosely (MediaPipe gives knuckles, not hand centres).
"""

from __future__ import annotations

import math

import numpy as np

from dvta_live.skeleton.layouts import NTU25
from dvta_live.skeleton.retarget import to_ntu_proportions

_HANDS = [NTU25.index(n) for n in ("left_hand", "right_hand", "left_hand_tip", "right_hand_tip",
                                    "left_thumb", "right_thumb")]
_FOREARMS = {side: [NTU25.index(f"{side}_{n}") for n in ("wrist", "hand", "hand_tip", "thumb")]
             for side in ("left", "right")}
_SPINE_MID = NTU25.index("spine_mid")


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Camera rotation: turn the scene about the vertical (yaw), then tilt (pitch, about x), then roll."""
    cy, sy, cp, sp, cr, sr = (math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch),
                              math.cos(roll), math.sin(roll))
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rz @ rx @ ry


def virtual_view(data: np.ndarray, rng: np.random.Generator, noise: bool = True) -> np.ndarray:
    """A 3-D clip [3, T, 25, M] (metres, camera space) -> its image-plane skeleton [3, T, 25, M] (z = 0)
    from a random camera, with MediaPipe-like errors when ``noise``. Absent joints stay zero. The body
    gets NTU's (and MediaPipe's) proportions first (``to_ntu_proportions``)."""
    x = to_ntu_proportions(data).transpose(1, 3, 2, 0).astype(np.float64)  # [T, M, V, 3]
    present = np.any(x != 0, axis=-1)  # [T, M, V]
    body0 = x[:, 0][present[:, 0]]
    centre = body0.mean(axis=0) if len(body0) else np.zeros(3)
    x = x - centre
    if noise:
        x = x * rng.uniform(0.9, 1.1, size=3)  # proportions: stockier, taller, deeper
    # half the views near the recorded one (most clips here face the camera, as a webcam user does)
    yaw = rng.normal(0.0, 0.35) if rng.random() < 0.5 else rng.uniform(-math.pi, math.pi)
    # positive pitch tilts the body's top away from the camera: a camera below, looking up. So this
    # range is from slightly above to well below (mannequin.place passes -pitch for a camera above); the
    # lifted candidate was trained and measured on it as it is
    pitch = math.radians(rng.uniform(-10.0, 35.0))
    roll = math.radians(rng.normal(0.0, 4.0))
    x = x @ _rotation(yaw, pitch, roll).T
    if noise:
        t, m = x.shape[:2]
        x = x + rng.normal(0.0, 0.012, size=x.shape)  # per-frame landmark jitter
        drift = np.cumsum(rng.normal(0.0, 0.004, size=(t, m, 25, 3)), axis=0)  # slow wander
        x = x + drift - drift.mean(axis=0)
        x[:, :, _HANDS] += rng.normal(0.0, 0.03, size=(t, m, len(_HANDS), 3))  # hands: knuckles, blur
        if rng.random() < 0.25:  # a forearm in front of the torso, pulled toward the body
            joints = _FOREARMS["left" if rng.random() < 0.5 else "right"]
            a, b = sorted(rng.integers(0, t + 1, size=2))
            pull = rng.uniform(0.2, 0.6)
            x[a:b, :, joints] += pull * (x[a:b, :, _SPINE_MID:_SPINE_MID + 1] - x[a:b, :, joints])
    distance = rng.uniform(2.0, 6.0)
    offset = np.array([rng.uniform(-0.4, 0.4), rng.uniform(-0.3, 0.3), distance])
    x = x + offset
    z = np.maximum(x[..., 2:3], 0.5)  # a joint can never be behind the camera
    out = np.zeros_like(x)
    out[..., :2] = x[..., :2] / z  # pinhole, focal length 1: the recipe rescales anyway
    out[~present] = 0
    return out.transpose(3, 0, 2, 1).astype(np.float32)


def _trim_to_body(data: np.ndarray) -> tuple[np.ndarray, int]:
    """The clip [3, T, 25, M] from its first to its last frame with a body, and how many frames have one."""
    valid = np.flatnonzero(np.abs(data).sum(axis=(0, 2, 3)) > 0)
    return (data[:, valid[0]: valid[-1] + 1], valid.size) if valid.size else (data, 0)


def random_crop(data: np.ndarray, fps: float, rng: np.random.Generator) -> np.ndarray:
    """A live-window-like crop: 2-4 s of a long take, 70-100 % of a short clip (frames with a body)."""
    trimmed, with_body = _trim_to_body(data)
    if with_body < 4:
        return data
    data = trimmed
    length = data.shape[1]
    seconds = rng.uniform(2.0, 4.0)
    keep = round(seconds * fps) if length > 4.0 * fps else round(length * rng.uniform(0.7, 1.0))
    keep = int(min(length, max(8, keep)))
    start = int(rng.integers(0, length - keep + 1))
    return data[:, start: start + keep]


def live_window(data: np.ndarray, fps: float, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """What a live window of ``seconds`` holds of this clip [3, T, 25, M]: a random stretch of that length
    of a longer take; a shorter clip whole, with the person standing still before and after it (the pose
    held) or, half the time, doing it again (the clip repeated), as a webcam user repeats an action.

    Head training features of whole clips resized to the window are played at the clip's own speed: a
    2-s UTD-MHAD action fills the window that holds 3 s live, while long takes cut into 3-s pieces look
    like live windows, and the head learnt to call every live window one of their classes."""
    data, with_body = _trim_to_body(data)
    if not with_body:
        return data
    length, want = data.shape[1], max(1, round(seconds * fps))
    if length < want:
        if rng.random() < 0.5:
            data = np.concatenate([data] * (want // length + 1), axis=1)
        else:
            before = int(rng.integers(0, want - length + 1))
            data = np.concatenate([np.repeat(data[:, :1], before, axis=1), data,
                                   np.repeat(data[:, -1:], want - length - before, axis=1)], axis=1)
        length = data.shape[1]
    start = int(rng.integers(0, length - want + 1))
    return data[:, start: start + want]


__all__ = ["live_window", "random_crop", "virtual_view"]
