"""Converters from other joint layouts to NTU-25.

Joints that a layout lacks are synthesised from joints it has, with ratios measured on the real
Kinect v2 skeletons of the NTU RGB+D samples (medians over all frames of the six samples in ../shared):

- neck: on the segment spine_shoulder -> head, at 0.34 of its length (NTU median 0.342).
- spine_mid: on spine_base -> spine_shoulder at 0.57 (NTU median 0.574). MediaPipe has no spine joint;
  Kinect v1's "spine" sits much lower (0.16 of the way in UTD-MHAD, 0.17 in NW-UCLA, 0.43 in MSR
  Action3D), so it is not used as NTU's spine_mid either.
- hand tip and thumb (Kinect v1): on the wrist -> hand line, at 1.75 and 1.10 times the wrist-hand
  distance (NTU medians 1.69/1.82 and 1.12/1.11, left/right). Kinect v1 does not see the palm's
  orientation, so the thumb's sideways offset (~4 cm in NTU) is not recoverable and is left at zero.
- MediaPipe's hand points (index, pinky) sit at the knuckles, ~8-9 cm from the wrist, while Kinect v2's
  hand joint sits ~6 cm from it and its hand tip ~10-12 cm: hand = wrist + 0.7 * (knuckles - wrist),
  hand tip = wrist + 1.3 * (knuckles - wrist), thumb = MediaPipe's thumb point.

All inputs are arrays [..., V, 3] in their own layout; outputs are [..., 25, 3]. Missing (all-zero)
joints stay zero only where their sources are zero; callers mark invalid frames before converting.
"""

from __future__ import annotations

import numpy as np

from dvta_live.skeleton.layouts import MEDIAPIPE33, NTU25, Layout

NECK_ALONG_SPINE_SHOULDER_TO_HEAD = 0.34
SPINE_MID_ALONG_BASE_TO_SHOULDER = 0.57
KINECT_V1_TIP_RATIO = 1.75
KINECT_V1_THUMB_RATIO = 1.10
MEDIAPIPE_HAND_RATIO = 0.7
MEDIAPIPE_TIP_RATIO = 1.3

# NTU-25 joint name -> Kinect v1 joint name, for the 20 joints both skeletons measure.
_NTU_FROM_KINECT_V1 = {
    "spine_base": "hip_center", "head": "head", "spine_shoulder": "shoulder_center",
    **{f"{s}_{j}": f"{s}_{j}" for s in ("left", "right")
       for j in ("shoulder", "elbow", "wrist", "hand", "hip", "knee", "ankle", "foot")},
}


def _ntu(name: str) -> int:
    return NTU25.index(name)


def _synthesise_spine(out: np.ndarray) -> None:
    """spine_mid and neck from spine_base, spine_shoulder and head (in place, NTU-25 array)."""
    base, shoulder = out[..., _ntu("spine_base"), :], out[..., _ntu("spine_shoulder"), :]
    head = out[..., _ntu("head"), :]
    out[..., _ntu("spine_mid"), :] = base + SPINE_MID_ALONG_BASE_TO_SHOULDER * (shoulder - base)
    out[..., _ntu("neck"), :] = shoulder + NECK_ALONG_SPINE_SHOULDER_TO_HEAD * (head - shoulder)


def kinect_v1_to_ntu25(joints: np.ndarray, layout: Layout) -> np.ndarray:
    """Map a Kinect v1 skeleton (any of the 20-joint orders) to NTU-25, synthesising neck, tips, thumbs."""
    if joints.shape[-2] != 20:
        raise ValueError(f"expected 20 Kinect v1 joints, got {joints.shape[-2]}")
    out = np.zeros(joints.shape[:-2] + (25, 3), dtype=np.float32)
    for ntu_name, v1_name in _NTU_FROM_KINECT_V1.items():
        out[..., _ntu(ntu_name), :] = joints[..., layout.index(v1_name), :]
    _synthesise_spine(out)
    for side in ("left", "right"):
        wrist, hand = out[..., _ntu(f"{side}_wrist"), :], out[..., _ntu(f"{side}_hand"), :]
        out[..., _ntu(f"{side}_hand_tip"), :] = wrist + KINECT_V1_TIP_RATIO * (hand - wrist)
        out[..., _ntu(f"{side}_thumb"), :] = wrist + KINECT_V1_THUMB_RATIO * (hand - wrist)
    return out


def mediapipe_world_to_ntu_axes(points: np.ndarray, mirrored: bool = False) -> np.ndarray:
    """MediaPipe world landmarks (x image-right, y down, z away) -> NTU camera axes (x subject-right, y up).

    In an unmirrored image the subject's right is image-left, so x flips; a mirrored image (NTU's RGB
    videos, a selfie view) already shows the subject's right on the image's right.
    """
    sign_x = 1.0 if mirrored else -1.0
    return points * np.array([sign_x, -1.0, 1.0], dtype=points.dtype)


def mediapipe33_to_ntu25(landmarks: np.ndarray, mirrored: bool = False) -> np.ndarray:
    """Map MediaPipe Pose world landmarks [..., 33, 3] (MediaPipe axes) to NTU-25 in NTU axes.

    With ``mirrored`` MediaPipe's "left" joints are the subject's right ones, so sides are swapped.
    """
    if landmarks.shape[-2] != 33:
        raise ValueError(f"expected 33 MediaPipe landmarks, got {landmarks.shape[-2]}")
    p = mediapipe_world_to_ntu_axes(np.asarray(landmarks, dtype=np.float32), mirrored)

    def mp(name: str) -> np.ndarray:
        if mirrored:
            name = name.replace("left", "@").replace("right", "left").replace("@", "right")
        return p[..., MEDIAPIPE33.index(name), :]

    out = np.zeros(p.shape[:-2] + (25, 3), dtype=np.float32)
    spine_base = (mp("left_hip") + mp("right_hip")) / 2
    spine_shoulder = (mp("left_shoulder") + mp("right_shoulder")) / 2
    head = (mp("left_ear") + mp("right_ear")) / 2
    out[..., _ntu("spine_base"), :] = spine_base
    out[..., _ntu("spine_shoulder"), :] = spine_shoulder
    out[..., _ntu("head"), :] = head
    _synthesise_spine(out)
    for side in ("left", "right"):
        for joint in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
            out[..., _ntu(f"{side}_{joint}"), :] = mp(f"{side}_{joint}")
        out[..., _ntu(f"{side}_foot"), :] = mp(f"{side}_foot_index")
        wrist = mp(f"{side}_wrist")
        knuckles = (mp(f"{side}_index") + mp(f"{side}_pinky")) / 2
        out[..., _ntu(f"{side}_hand"), :] = wrist + MEDIAPIPE_HAND_RATIO * (knuckles - wrist)
        out[..., _ntu(f"{side}_hand_tip"), :] = wrist + MEDIAPIPE_TIP_RATIO * (knuckles - wrist)
        out[..., _ntu(f"{side}_thumb"), :] = mp(f"{side}_thumb")
    return out


def to_ntu25(joints: np.ndarray, layout: Layout, mirrored: bool = False) -> np.ndarray:
    """Convert [..., V, 3] joints in ``layout`` to NTU-25 (identity for NTU-25)."""
    if layout.name == NTU25.name:
        return np.asarray(joints, dtype=np.float32)
    if layout.name == MEDIAPIPE33.name:
        return mediapipe33_to_ntu25(joints, mirrored)
    if layout.num_joints == 20:
        return kinect_v1_to_ntu25(joints, layout)
    raise ValueError(f"no converter from layout {layout.name!r} to ntu25")
