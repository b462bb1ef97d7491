"""Joint layouts: names, bones, and converters to the NTU-25 layout every model in this project uses.

Axis convention for everything after a converter (the NTU RGB+D / Kinect v2 camera space):
metres; x points to the subject's right when they face the camera (the sensor's left, rightwards in
Kinect's mirrored colour image); y up; z away from the camera. The frame is right-handed.

The Kinect v1 datasets (UTD-MHAD, NW-UCLA, MSR Action3D) store the same 20 joints in three different
orders, so each gets its own layout; they share one converter through joint names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    """A named joint order with its bones as (child, parent) index pairs (0-based)."""

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        return self.joints.index(joint)

    def bone_names(self) -> list[tuple[str, str]]:
        return [(self.joints[c], self.joints[p]) for c, p in self.bones]


def _bones(joints: tuple[str, ...], pairs: list[tuple[str, str]]) -> tuple[tuple[int, int], ...]:
    return tuple((joints.index(c), joints.index(p)) for c, p in pairs)


# --- NTU RGB+D (Kinect v2), 25 joints, in the order of the .skeleton files -------------------------------
NTU25_JOINTS: tuple[str, ...] = (
    "spine_base", "spine_mid", "neck", "head",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
    "spine_shoulder", "left_hand_tip", "left_thumb", "right_hand_tip", "right_thumb",
)
# The edge list of ST-GCN / 2s-AGCN / Shift-GCN (1-based there), kept exactly so graphs match the
# official models; note that it chains hand_tip -> thumb -> hand rather than both to the hand.
_NTU25_EDGES_1BASED = [
    (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9), (11, 10),
    (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19), (22, 23),
    (23, 8), (24, 25), (25, 12),
]
NTU25 = Layout("ntu25", NTU25_JOINTS, tuple((c - 1, p - 1) for c, p in _NTU25_EDGES_1BASED))
SPINE_SHOULDER = NTU25.index("spine_shoulder")  # centre joint of the AimCLR/SMIE recipe
SPINE_MID = NTU25.index("spine_mid")  # centre joint of the 2s-AGCN/Shift-GCN recipe

# --- Kinect v1, 20 joints ------------------------------------------------------------------------------
_KINECT_V1_BONES = [
    ("spine", "hip_center"), ("shoulder_center", "spine"), ("head", "shoulder_center"),
    ("left_shoulder", "shoulder_center"), ("left_elbow", "left_shoulder"), ("left_wrist", "left_elbow"),
    ("left_hand", "left_wrist"),
    ("right_shoulder", "shoulder_center"), ("right_elbow", "right_shoulder"),
    ("right_wrist", "right_elbow"), ("right_hand", "right_wrist"),
    ("left_hip", "hip_center"), ("left_knee", "left_hip"), ("left_ankle", "left_knee"),
    ("left_foot", "left_ankle"),
    ("right_hip", "hip_center"), ("right_knee", "right_hip"), ("right_ankle", "right_knee"),
    ("right_foot", "right_ankle"),
]


def _kinect_v1(name: str, joints: tuple[str, ...]) -> Layout:
    assert len(joints) == 20 and len(set(joints)) == 20
    return Layout(name, joints, _bones(joints, _KINECT_V1_BONES))


# Kinect for Windows SDK 1.x order (NUI_SKELETON_POSITION_INDEX); NW-UCLA stores this order.
KINECT_V1 = _kinect_v1("kinect_v1", (
    "hip_center", "spine", "shoulder_center", "head",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
))
# UTD-MHAD's Skeleton_joint_order.txt.
UTD_MHAD = _kinect_v1("utd_mhad", (
    "head", "shoulder_center", "spine", "hip_center",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
))
# MSR Action3D's skeleton3D files. Its release notes name the first joint "right shoulder", but in the
# data the subject's right side sits at larger x (as in UTD-MHAD and NW-UCLA) and the limb that moves in
# the right-arm/right-leg actions is the second of each pair: the notes' sides are the sensor's view,
# so here the names are the subject's (tests/test_readers.py checks both facts on the data).
MSR_ACTION3D = _kinect_v1("msr_action3d", (
    "left_shoulder", "right_shoulder", "shoulder_center", "spine",
    "left_hip", "right_hip", "hip_center",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_foot", "right_foot", "head",
))
NW_UCLA = KINECT_V1

# --- MediaPipe Pose (BlazePose), 33 landmarks ------------------------------------------------------------
MEDIAPIPE33_JOINTS: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
MEDIAPIPE33 = Layout("mediapipe33", MEDIAPIPE33_JOINTS, _bones(MEDIAPIPE33_JOINTS, [
    ("left_eye_inner", "nose"), ("left_eye", "left_eye_inner"), ("left_eye_outer", "left_eye"),
    ("left_ear", "left_eye_outer"), ("right_eye_inner", "nose"), ("right_eye", "right_eye_inner"),
    ("right_eye_outer", "right_eye"), ("right_ear", "right_eye_outer"), ("mouth_right", "mouth_left"),
    ("right_shoulder", "left_shoulder"),
    ("left_elbow", "left_shoulder"), ("left_wrist", "left_elbow"), ("left_pinky", "left_wrist"),
    ("left_index", "left_wrist"), ("left_thumb", "left_wrist"),
    ("right_elbow", "right_shoulder"), ("right_wrist", "right_elbow"), ("right_pinky", "right_wrist"),
    ("right_index", "right_wrist"), ("right_thumb", "right_wrist"),
    ("left_hip", "left_shoulder"), ("right_hip", "right_shoulder"), ("right_hip", "left_hip"),
    ("left_knee", "left_hip"), ("left_ankle", "left_knee"), ("left_heel", "left_ankle"),
    ("left_foot_index", "left_ankle"), ("right_knee", "right_hip"), ("right_ankle", "right_knee"),
    ("right_heel", "right_ankle"), ("right_foot_index", "right_ankle"),
]))

LAYOUTS: dict[str, Layout] = {
    layout.name: layout for layout in (NTU25, KINECT_V1, UTD_MHAD, MSR_ACTION3D, MEDIAPIPE33)
}
