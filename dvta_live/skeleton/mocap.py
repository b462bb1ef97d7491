"""Professional motion capture (BVH, ASF/AMC) -> NTU-25 sequences, by forward kinematics and retargeting.

Formats and what is read (checked on the data in ../shared, tests/test_mocap.py keeps the checks):

- BVH (Biovision hierarchy). A small parser here (no dependency): the hierarchy's OFFSETs and CHANNELS,
  then ``Frames`` rows of channel values. Rotation channels compose in the order listed (``Zrotation
  Xrotation Yrotation`` -> R = Rz Rx Ry); a joint's position channels replace its OFFSET (as in
  MotionBuilder and Blender: the Bandai Namco files give every joint 6 channels whose positions equal the
  OFFSETs, and the hips' give the 93 cm hip height). BVH has no unit field: the unit (m, cm, inch, CMU's
  0.45 inch, mm) is the one that makes the rest-pose leg (hip -> knee -> ankle) closest to 0.85 m.
- CMU takes as B. Hahne's "MotionBuilder-friendly" (cgspeed) BVH: known by their joint names (CMU's
  ``LHipJoint``, ``LowerBack``, ``LeftFingerBase``, ``LThumb`` beside ``Spine1``, ``Neck1``) with ``Neck``
  and ``LeftFingerBase`` at zero offset; CMU units (the leg rule finds them: 0.85 m leg = 15 units). That
  skeleton lacks CMU's thorax and wrist bones (torso 11 cm and forearms a third short); they are put back
  (``fix_cmu_cgspeed``) and the first frame, a rest pose, is dropped. Checked on subjects 02-08, which are
  also here as ASF/AMC: the same joints within 1 cm (tests/test_mocap.py).
- Bandai Namco Research Motiondataset 1/2: 22 joints, cm, 30 fps, y up. Class = the content in the file
  name ``dataset-N_{content}_{style}_{id}.bvh`` (the naming the dataset's README documents; the per-clip
  JSON annotations are not shipped in ../shared, and a ``<clip>.json`` beside a clip with ``content`` /
  ``style`` keys takes precedence), hyphens written as spaces; the style goes to ``meta["style"]``.
- ASF/AMC (Acclaim, CMU mocap): the ASF skeleton (``:units`` ``length`` is a multiplier on inches: CMU's
  ``length 0.45`` means metres = value * 0.0254 / 0.45; ``angle`` deg or rad), ``:root`` order, bone
  ``direction``/``length``/``axis``/``dof`` and ``:hierarchy``; the AMC gives each bone's dof values per
  frame. FK as the CMU tools and AMCParser do it: W = W_parent C M C^-1, with C from the bone's axis and M
  from its dof values (order XYZ -> M = Rz Ry Rx), and the bone's end = its start + W (direction * length).
  CMU takes are 120 fps (the AMC does not say; ``CMU_FPS``). ``mocap_segments.txt`` (Barbic et al.'s
  ground truth for subject 86) lists per take ``action lo mid hi``: the frame (1-based, three
  estimates) where that action ends; the last one is the take's length. Segment i runs from frame
  mid_(i-1) + 1 to mid_i (the middle estimate; the first starts at frame 1).

Retargeting to NTU-25 (joint names as in layouts.NTU25):

- Measured joints: spine_base = the middle of the two hip joints (Kinect v2's spine_base is level with its
  hips: NTU median height difference 0.5 cm; CMU's root sits 11 cm above its hip joints, the Bandai Namco
  ``Hips`` 2 cm); spine_shoulder = the neck's base (BVH ``Neck``, CMU thorax
  end); neck = the skull base (BVH ``Head`` joint, CMU lowerneck end); shoulders = upper-arm joints (CMU
  clavicle ends); elbows, wrists (CMU lwrist end: CMU splits the forearm into radius + wrist bones); hips =
  upper-leg joints (CMU hip-joint ends); knees; ankles; feet = toe bases (BVH toes, CMU foot ends). The
  cgspeed BVH wrist is ``LeftFingerBase`` (its ``LeftHand`` is CMU's radius end).
- spine_mid: on the spine chain (spine_base -> hips/root -> ... -> neck base, the real curved spine) at 0.57 of its length
  (NTU median 0.574, as convert.py).
- head: NTU's head joint is the head's centre. CMU: the middle of the head bone. BVH: the middle of
  ``Head`` -> its End Site where that is not zero, else ``Head`` + 0.27 x the spine length along the head's
  axis (NTU median neck -> head / spine_base -> spine_shoulder is 0.266). The Bandai Namco End Sites are
  all zero.
- hands: Kinect v2's hand, hand tip and thumb sit 0.28, 0.49 and 0.31 forearm lengths from the wrist
  (NTU medians: hand 0.27/0.29 left/right; tip = 1.75 x hand and thumb = 1.10 x hand, convert.py's Kinect v1
  ratios). They are placed along the hand's direction: the wrist's own rotation applied to the forearm
  axis (BVH without finger joints), or the wrist -> fingers direction (CMU, cgspeed BVH); CMU's thumb
  direction is its thumb bone, as is cgspeed's ``LThumb`` (the Bandai thumb is on the hand line, as for
  Kinect v1). Real mocap hand segments are not used as lengths: CMU's hand + fingers bones span 6.5 cm,
  half of Kinect v2's 11.5 cm.

Then the units become metres, the up axis y, and the subject is turned about y so that its right (the
mean left -> right hip and shoulder vector over the first half second, made horizontal) is +x: it faces
the camera (-z), as NTU subjects mostly do; only this one rotation is applied, so turning actions keep
their turn. The first frame's spine_base is put at ``PLACE_SPINE_BASE`` (the NTU samples' median
spine_base, x centred), so positions look like Kinect camera space; motion keeps its own translation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from dvta_live.errors import DataError
from dvta_live.skeleton.convert import (
    KINECT_V1_THUMB_RATIO,
    KINECT_V1_TIP_RATIO,
    SPINE_MID_ALONG_BASE_TO_SHOULDER,
)
from dvta_live.skeleton.fileio import find_files, read_bytes, read_folder
from dvta_live.skeleton.layouts import NTU25
from dvta_live.skeleton.sequence import SkeletonDataset, SkeletonSequence, frames_to_sequence_array

CMU_FPS = 120.0
HAND_PER_FOREARM = 0.28
TIP_PER_FOREARM = HAND_PER_FOREARM * KINECT_V1_TIP_RATIO  # 0.49
THUMB_PER_FOREARM = HAND_PER_FOREARM * KINECT_V1_THUMB_RATIO  # 0.31
HEAD_PER_SPINE = 0.27
PLACE_SPINE_BASE = (0.0, -0.08, 3.14)  # metres, NTU camera space
FACING_SECONDS = 0.5
LEG_LENGTH_M = 0.85  # rest hip -> knee -> ankle of an adult, to tell BVH units apart
CMU_UNIT_M = 0.0254 / 0.45  # CMU's ASF ``length 0.45``: one unit is 1/0.45 inch, 5.64 cm
BVH_UNITS = {"m": 1.0, "cm": 0.01, "inch": 0.0254, "cmu": CMU_UNIT_M, "mm": 0.001}

_BVH_FIX = "the file looks truncated or is not a BVH file; re-download or re-extract it"
_AMC_FIX = "the file looks truncated or is not an ASF/AMC file; re-download or re-extract it"


def _j(name: str) -> int:
    return NTU25.index(name)


# --- rotations -------------------------------------------------------------------------------------------

def _axis_rotation(axis: str, radians: np.ndarray) -> np.ndarray:
    """[T] angles about x/y/z -> [T, 3, 3] rotation matrices."""
    c, s = np.cos(radians), np.sin(radians)
    out = np.zeros(radians.shape + (3, 3))
    i = "xyz".index(axis.lower())
    a, b = (i + 1) % 3, (i + 2) % 3  # cyclic, so that Ry has +sin at [0, 2]
    out[..., i, i] = 1.0
    out[..., a, a] = c
    out[..., b, b] = c
    out[..., a, b] = -s
    out[..., b, a] = s
    return out


def _compose(axes: Sequence[str], radians: Sequence[np.ndarray], frames: int) -> np.ndarray:
    """R = R_axes[0] @ R_axes[1] @ ... for per-frame angles (an identity [T, 3, 3] when no axes)."""
    out = np.broadcast_to(np.eye(3), (frames, 3, 3)).copy()
    for axis, angle in zip(axes, radians):
        out = out @ _axis_rotation(axis, np.broadcast_to(angle, (frames,)))
    return out


# --- BVH -------------------------------------------------------------------------------------------------

@dataclass
class BvhSkeleton:
    """Joints in file order (parents first); End Sites are joints named ``<parent>/end`` without channels."""

    names: list[str] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)
    offsets: list[np.ndarray] = field(default_factory=list)
    channels: list[list[str]] = field(default_factory=list)

    @property
    def num_channels(self) -> int:
        return sum(len(c) for c in self.channels)

    def children(self, joint: int) -> list[int]:
        return [k for k, p in enumerate(self.parents) if p == joint]


@dataclass
class BvhMotion:
    skeleton: BvhSkeleton
    values: np.ndarray  # [T, channels]
    frame_time: float


_TOKEN = re.compile(r"[{}]|[^\s{}]+")
_MOTION = re.compile(r"^\s*MOTION\s*$", re.MULTILINE)


def parse_bvh(text: str, path: Path) -> BvhMotion:
    """A BVH file's text -> hierarchy and [frames, channels] values. DataError naming ``path`` if broken."""
    split = _MOTION.search(text)
    if not text.lstrip().startswith("HIERARCHY") or split is None:
        raise DataError("no HIERARCHY ... MOTION sections", path, _BVH_FIX)
    tokens = _TOKEN.findall(text[: split.start()])
    skel = BvhSkeleton()
    stack: list[int] = []
    i = 1
    pending: int | None = None  # joint whose "{" is expected next

    def need(k: int, what: str) -> list[str]:
        if i + k > len(tokens):
            raise DataError(f"the hierarchy ends where {what} was expected", path, _BVH_FIX)
        return tokens[i:i + k]

    def number(tok: str, what: str) -> float:
        try:
            return float(tok)
        except ValueError:
            raise DataError(f"{what}: {tok!r} is not a number", path, _BVH_FIX) from None

    while i < len(tokens):
        tok = tokens[i]
        if tok in ("ROOT", "JOINT"):
            (name,) = need(1 + 1, f"a {tok} name")[1:]
            parent = stack[-1] if stack else -1
            if tok == "JOINT" and not stack:
                raise DataError(f"JOINT {name} outside the ROOT", path, _BVH_FIX)
            skel.names.append(name)
            skel.parents.append(parent)
            skel.offsets.append(np.zeros(3))
            skel.channels.append([])
            pending = len(skel.names) - 1
            i += 2
        elif tok == "End":
            if not stack:
                raise DataError("End Site outside a joint", path, _BVH_FIX)
            skel.names.append(f"{skel.names[stack[-1]]}/end")
            skel.parents.append(stack[-1])
            skel.offsets.append(np.zeros(3))
            skel.channels.append([])
            pending = len(skel.names) - 1
            i += 2  # "End" "Site"
        elif tok == "{":
            if pending is None:
                raise DataError("'{' without a joint", path, _BVH_FIX)
            stack.append(pending)
            pending = None
            i += 1
        elif tok == "}":
            if not stack:
                raise DataError("unbalanced '}'", path, _BVH_FIX)
            stack.pop()
            i += 1
        elif tok == "OFFSET":
            values = need(4, "OFFSET x y z")[1:]
            if not stack:
                raise DataError("OFFSET outside a joint", path, _BVH_FIX)
            skel.offsets[stack[-1]] = np.array([number(v, "OFFSET") for v in values])
            i += 4
        elif tok == "CHANNELS":
            count = int(number(need(2, "a channel count")[1], "CHANNELS"))
            names = need(2 + count, f"{count} channel names")[2:]
            bad = [c for c in names if c.lower() not in
                   ("xposition", "yposition", "zposition", "xrotation", "yrotation", "zrotation")]
            if bad or not stack:
                raise DataError(f"unknown channel {bad[0] if bad else names!r}", path, _BVH_FIX)
            skel.channels[stack[-1]] = [c.lower() for c in names]
            i += 2 + count
        else:
            i += 1  # HIERARCHY and anything unknown
    if stack or not skel.names:
        raise DataError("the hierarchy is incomplete (unbalanced braces or no joints)", path, _BVH_FIX)

    motion = text[split.end():]
    frames_m = re.search(r"Frames:\s*(\d+)", motion)
    time_m = re.search(r"Frame\s+Time:\s*([0-9.eE+-]+)", motion)
    if frames_m is None or time_m is None:
        raise DataError("the MOTION section lacks 'Frames:' or 'Frame Time:'", path, _BVH_FIX)
    num_frames = int(frames_m.group(1))
    frame_time = number(time_m.group(1), "Frame Time")
    if num_frames <= 0 or not frame_time > 0:
        raise DataError(f"Frames: {num_frames}, Frame Time: {frame_time}", path, _BVH_FIX)
    try:
        values = np.array(motion[time_m.end():].split(), dtype=np.float64)
    except ValueError:
        raise DataError("a motion line holds something that is not a number", path, _BVH_FIX) from None
    nch = skel.num_channels
    if values.size != num_frames * nch:
        whole, rest = divmod(values.size, nch) if nch else (0, values.size)
        part = f" and {rest} values of the next" if rest else ""
        raise DataError(f"the MOTION section holds {whole} frames{part}; 'Frames:' says {num_frames} "
                        f"of {nch} channels", path, _BVH_FIX)
    if not np.isfinite(values).all():
        raise DataError("the motion holds NaN or infinite values", path, _BVH_FIX)
    return BvhMotion(skel, values.reshape(num_frames, nch), frame_time)


def bvh_forward_kinematics(motion: BvhMotion) -> tuple[np.ndarray, np.ndarray]:
    """World positions [T, J, 3] and rotations [T, J, 3, 3] of every joint (End Sites included)."""
    skel, values = motion.skeleton, motion.values
    t = values.shape[0]
    pos = np.zeros((t, len(skel.names), 3))
    rot = np.zeros((t, len(skel.names), 3, 3))
    col = 0
    for j, (parent, offset, chans) in enumerate(zip(skel.parents, skel.offsets, skel.channels)):
        local_t = np.broadcast_to(offset, (t, 3)).copy()
        axes, angles = [], []
        for k, c in enumerate(chans):
            if c.endswith("position"):
                local_t[:, "xyz".index(c[0])] = values[:, col + k]
            else:
                axes.append(c[0])
                angles.append(np.deg2rad(values[:, col + k]))
        col += len(chans)
        local_r = _compose(axes, angles, t)
        if parent < 0:
            pos[:, j], rot[:, j] = local_t, local_r
        else:
            pos[:, j] = pos[:, parent] + np.einsum("tij,tj->ti", rot[:, parent], local_t)
            rot[:, j] = rot[:, parent] @ local_r
    return pos, rot


# Candidate joint names per role, compared lower-case without a "namespace:" prefix and without "_"/" "
# (Bandai Namco's ``UpperArm_L``, Mixamo/CMU-BVH's ``LeftArm``).
_BVH_ROLES: dict[str, tuple[str, ...]] = {
    "hips": ("hips", "hip", "pelvis"),
    "neck_base": ("neck",),
    "skull": ("neck1", "head"),
    "head": ("head",),
    **{f"{s}_{role}": tuple(n.format(S=s[0], side=s) for n in names) for s in ("left", "right")
       for role, names in (
           ("shoulder", ("upperarm{S}", "{side}arm", "{S}upperarm", "{side}upperarm", "{S}shoulder")),
           ("elbow", ("lowerarm{S}", "{side}forearm", "{S}forearm", "{side}lowerarm", "{S}elbow")),
           # CMU-derived hierarchies: the wrist (end of CMU's wrist bone) is FingerBase, "Hand" the radius end
           ("wrist", ("hand{S}", "{side}fingerbase", "{side}hand", "{S}hand", "{S}wrist")),
           ("hip", ("upperleg{S}", "{side}upleg", "{side}upperleg", "{S}upleg", "{side}thigh", "{S}hip")),
           ("knee", ("lowerleg{S}", "{side}leg", "{side}lowerleg", "{S}leg", "{side}shin", "{S}knee")),
           ("ankle", ("foot{S}", "{side}foot", "{S}foot", "{S}ankle")),
           ("toe", ("toes{S}", "{side}toebase", "{side}toe", "{side}toes", "{S}toe", "{S}toes")),
       )},
}


def _bvh_keys(skel: BvhSkeleton) -> dict[str, int]:
    """Joint name as compared (see _BVH_ROLES) -> index; End Sites left out."""
    return {re.sub(r"[_\s]", "", n.split(":")[-1].lower()): k for k, n in enumerate(skel.names)
            if not n.endswith("/end")}


def _bvh_roles(skel: BvhSkeleton, path: Path) -> dict[str, int]:
    keys = _bvh_keys(skel)
    roles: dict[str, int] = {}
    for role, candidates in _BVH_ROLES.items():
        found = next((keys[c] for c in candidates if c in keys), None)
        if found is not None:
            roles[role] = found
    missing = [r for r in _BVH_ROLES if r not in roles]
    if missing:
        raise DataError(f"no joint for {', '.join(missing)} among {', '.join(skel.names[:30])}", path,
                        "supported: Bandai Namco names (Hips, Neck, Head, UpperArm_L, ...) or "
                        "Mixamo/CMU-BVH names (Hips, Neck, Head, LeftArm, LeftForeArm, LeftHand, ...)")
    return roles


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 1e-9, n, 1.0)


def _chain(parents: Sequence[int], top: int, bottom: int) -> list[int]:
    """Joint indices from ``bottom`` (an ancestor of ``top``) down to ``top``, e.g. hips -> ... -> neck."""
    out = [top]
    while out[-1] != bottom and parents[out[-1]] >= 0:
        out.append(parents[out[-1]])
    return out[::-1]


def _along_chain(points: np.ndarray, fraction: float) -> np.ndarray:
    """Per frame, the point at ``fraction`` of the polyline's length. points [T, K, 3] -> [T, 3]."""
    seg = np.linalg.norm(np.diff(points, axis=1), axis=-1)  # [T, K-1]
    cum = np.concatenate([np.zeros((len(points), 1)), np.cumsum(seg, axis=1)], axis=1)
    target = cum[:, -1:] * fraction
    k = np.clip((cum[:, 1:] < target).sum(axis=1), 0, seg.shape[1] - 1)
    rows = np.arange(len(points))
    w = (target[:, 0] - cum[rows, k]) / np.where(seg[rows, k] > 1e-12, seg[rows, k], 1.0)
    return points[rows, k] + np.clip(w, 0, 1)[:, None] * (points[rows, k + 1] - points[rows, k])


def _direction_of(skel: BvhSkeleton, rot: np.ndarray, joint: int) -> tuple[np.ndarray, bool]:
    """World direction [T, 3] of a joint's own segment: towards its children's mean offset where that is
    not zero (True), else its incoming bone's axis rotated by the joint's rotation (False)."""
    kids = skel.children(joint)
    local = np.mean([skel.offsets[k] for k in kids], axis=0) if kids else np.zeros(3)
    measured = bool(np.linalg.norm(local) > 1e-6)
    if not measured:
        local = skel.offsets[joint]
    return _unit(np.einsum("tij,j->ti", rot[:, joint], _unit(local))), measured


# B. Hahne's "MotionBuilder-friendly" (cgspeed) BVH conversion of the CMU database: CMU bone names that it
# keeps as joint names, beside MotionBuilder's. Its skeleton drops two CMU bones (see fix_cmu_cgspeed).
_CGSPEED_NAMES = frozenset(("lhipjoint", "rhipjoint", "lowerback", "spine", "spine1", "neck", "neck1", "head",
                            "leftfingerbase", "rightfingerbase", "lthumb", "rthumb"))
CMU_WRIST_PER_RADIUS = 0.5  # every CMU ASF here: lwrist length = lradius length / 2, same direction


def is_cmu_cgspeed(skel: BvhSkeleton) -> bool:
    """The cgspeed CMU hierarchy: its joint names, and Neck / FingerBase at zero offset from their parents."""
    keys = _bvh_keys(skel)
    if not _CGSPEED_NAMES <= keys.keys():
        return False
    return all(np.linalg.norm(skel.offsets[keys[n]]) < 1e-6 for n in ("neck", "leftfingerbase", "rightfingerbase"))


def fix_cmu_cgspeed(motion: BvhMotion) -> tuple[BvhMotion, dict]:
    """A cgspeed CMU BVH -> the CMU skeleton's geometry, and facts for ``meta`` (unchanged otherwise).

    Checked against the ASF/AMC of the same takes (subjects 02-08): the conversion keeps every CMU bone as
    the offset of the next joint except two, whose joints sit at zero offset: the thorax (Spine1 ->
    Neck / shoulders: the torso comes out 2 CMU units, ~11 cm, short) and the wrist bone (Hand ->
    FingerBase / thumb: the forearm a third short). Both are put back, in the parent's frame as the file's
    rotations expect (Spine1's rotation is CMU's thorax rotation, Hand's the wrist's twist about the
    forearm): the thorax as long as and along the bone below it (upperback; CMU's thorax / upperback is
    1.00-1.04 in the 14 ASFs here), the wrist as CMU_WRIST_PER_RADIUS x the radius, along it. The first
    frame is a rest pose in whole degrees, not capture (the AMC has one frame fewer): it is dropped.
    """
    skel = motion.skeleton
    if not is_cmu_cgspeed(skel):
        return motion, {}
    keys = _bvh_keys(skel)
    offsets = [o.copy() for o in skel.offsets]
    for parent, bone in ((keys["spine1"], offsets[keys["spine1"]]),
                         (keys["lefthand"], CMU_WRIST_PER_RADIUS * offsets[keys["lefthand"]]),
                         (keys["righthand"], CMU_WRIST_PER_RADIUS * offsets[keys["righthand"]])):
        for kid in skel.children(parent):
            if np.linalg.norm(offsets[kid]) < 1e-6:
                offsets[kid] = bone.copy()
    fixed = BvhSkeleton(list(skel.names), list(skel.parents), offsets, [list(c) for c in skel.channels])
    values = motion.values
    columns = [c for chans in skel.channels for c in chans]
    rotations = [col for col, c in enumerate(columns) if c.endswith("rotation")]
    rest = len(values) > 1 and bool(np.all(values[0, rotations] == np.round(values[0, rotations])))
    if rest:
        values = values[1:]
    return BvhMotion(fixed, values, motion.frame_time), {"skeleton": "cmu-cgspeed", "rest_frame_dropped": rest}


def bvh_unit_scale(skel: BvhSkeleton, roles: dict[str, int]) -> tuple[str, float]:
    """(unit, metres per unit): the unit whose rest leg length is closest to LEG_LENGTH_M (log scale)."""
    leg = np.mean([np.linalg.norm(skel.offsets[roles[f"{s}_knee"]]) +
                   np.linalg.norm(skel.offsets[roles[f"{s}_ankle"]]) for s in ("left", "right")])
    if not leg > 0:
        return "cm", 0.01
    unit = min(BVH_UNITS, key=lambda u: abs(np.log(leg * BVH_UNITS[u] / LEG_LENGTH_M)))
    return unit, BVH_UNITS[unit]


def bvh_to_ntu25(motion: BvhMotion, path: Path) -> tuple[np.ndarray, dict]:
    """[T, 25, 3] NTU-25 joints in the file's units and axes, and facts for ``meta``."""
    skel = motion.skeleton
    roles = _bvh_roles(skel, path)
    keys = _bvh_keys(skel)
    pos, rot = bvh_forward_kinematics(motion)
    t = pos.shape[0]
    out = np.zeros((t, 25, 3))

    def p(role: str) -> np.ndarray:
        return pos[:, roles[role]]

    spine_base = (p("left_hip") + p("right_hip")) / 2
    out[:, _j("spine_base")] = spine_base
    out[:, _j("spine_shoulder")] = p("neck_base")
    spine = _chain(skel.parents, roles["neck_base"], roles["hips"])
    if spine[0] != roles["hips"]:
        raise DataError("the Neck joint does not descend from the Hips", path, "not a humanoid skeleton")
    chain = np.concatenate([spine_base[:, None], pos[:, spine]], axis=1)
    out[:, _j("spine_mid")] = _along_chain(chain, SPINE_MID_ALONG_BASE_TO_SHOULDER)
    skull = roles["skull"] if roles["skull"] != roles["neck_base"] else roles["head"]
    out[:, _j("neck")] = pos[:, skull]
    head_dir, measured = _direction_of(skel, rot, roles["head"])
    if measured:
        tops = [k for k in skel.children(roles["head"])]
        out[:, _j("head")] = (p("head") + pos[:, tops].mean(axis=1)) / 2
    else:
        rest_spine = sum(np.linalg.norm(skel.offsets[k]) for k in spine[1:])
        out[:, _j("head")] = p("head") + head_dir * HEAD_PER_SPINE * rest_spine
    for s in ("left", "right"):
        for joint in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
            out[:, _j(f"{s}_{joint}")] = p(f"{s}_{joint}")
        out[:, _j(f"{s}_foot")] = p(f"{s}_toe")
        # elbow -> wrist at rest: the cgspeed wrist (FingerBase) is two joints below the elbow
        forearm = sum(np.linalg.norm(skel.offsets[k])
                      for k in _chain(skel.parents, roles[f"{s}_wrist"], roles[f"{s}_elbow"])[1:])
        hand_dir, _ = _direction_of(skel, rot, roles[f"{s}_wrist"])
        wrist = p(f"{s}_wrist")
        out[:, _j(f"{s}_hand")] = wrist + hand_dir * HAND_PER_FOREARM * forearm
        out[:, _j(f"{s}_hand_tip")] = wrist + hand_dir * TIP_PER_FOREARM * forearm
        # a thumb joint with a bone of its own (cgspeed's LThumb, as CMU's thumb) gives the thumb's direction
        thumb = keys.get(f"{s[0]}thumb")
        thumb_dir, measured = _direction_of(skel, rot, thumb) if thumb is not None else (hand_dir, False)
        out[:, _j(f"{s}_thumb")] = wrist + (thumb_dir if measured else hand_dir) * THUMB_PER_FOREARM * forearm
    unit, scale = bvh_unit_scale(skel, roles)
    return out * scale, {"unit": unit, "joints_in_file": sum(not n.endswith("/end") for n in skel.names)}


# --- ASF/AMC ---------------------------------------------------------------------------------------------

@dataclass
class AsfBone:
    name: str
    direction: np.ndarray
    length: float
    axis: np.ndarray  # degrees or radians as the file says, converted to radians on parse
    axis_order: str
    dof: list[str]


@dataclass
class AsfSkeleton:
    bones: dict[str, AsfBone]
    children: dict[str, list[str]]
    root_order: list[str]
    root_axis_order: str
    root_position: np.ndarray
    root_orientation: np.ndarray  # radians
    length_unit: float  # ASF ``:units length``: metres = value * 0.0254 / length_unit
    degrees: bool

    @property
    def metres_per_unit(self) -> float:
        return 0.0254 / self.length_unit


def _floats(tokens: Sequence[str], what: str, path: Path) -> np.ndarray:
    try:
        return np.array([float(x) for x in tokens], dtype=np.float64)
    except ValueError:
        raise DataError(f"{what}: {' '.join(tokens)!r} is not numbers", path, _AMC_FIX) from None


def parse_asf(text: str, path: Path) -> AsfSkeleton:
    lines = [ln.split("#")[0].strip() for ln in text.splitlines()]
    section = ""
    units = {"length": 1.0, "angle": "deg"}
    root = {"order": ["TX", "TY", "TZ", "RX", "RY", "RZ"], "axis": "XYZ",
            "position": np.zeros(3), "orientation": np.zeros(3)}
    raw_bones: list[dict] = []
    current: dict | None = None
    children: dict[str, list[str]] = {}
    for ln in lines:
        if not ln:
            continue
        if ln.startswith(":"):
            section = ln.split()[0][1:].lower()
            continue
        words = ln.split()
        key = words[0].lower()
        if section == "units" and len(words) >= 2:
            units[key] = words[1] if key == "angle" else float(_floats(words[1:2], "units", path)[0])
        elif section == "root":
            if key == "order":
                root["order"] = [w.upper() for w in words[1:]]
            elif key == "axis":
                root["axis"] = words[1].upper()
            elif key in ("position", "orientation"):
                root[key] = _floats(words[1:4], f"root {key}", path)
        elif section == "bonedata":
            if key == "begin":
                current = {"dof": [], "axis": np.zeros(3), "order": "XYZ"}
            elif key == "end":
                if current is None or "name" not in current:
                    raise DataError("a bonedata block without a name", path, _AMC_FIX)
                raw_bones.append(current)
                current = None
            elif current is not None:
                if key == "name":
                    current["name"] = words[1]
                elif key == "direction":
                    current["direction"] = _floats(words[1:4], "direction", path)
                elif key == "length":
                    current["length"] = float(_floats(words[1:2], "length", path)[0])
                elif key == "axis":
                    current["axis"] = _floats(words[1:4], "axis", path)
                    current["order"] = words[4].upper() if len(words) > 4 else "XYZ"
                elif key == "dof":
                    current["dof"] = [w.lower() for w in words[1:]]
        elif section == "hierarchy" and key not in ("begin", "end"):
            children.setdefault(words[0], []).extend(words[1:])
    degrees = str(units["angle"]).lower().startswith("deg")
    to_rad = np.deg2rad if degrees else (lambda a: a)
    bones: dict[str, AsfBone] = {}
    for b in raw_bones:
        if "direction" not in b or "length" not in b:
            raise DataError(f"bone {b['name']} lacks its direction or length", path, _AMC_FIX)
        bones[b["name"]] = AsfBone(b["name"], _unit(b["direction"]), b["length"], to_rad(b["axis"]),
                                   b["order"], b["dof"])
    if not bones or "root" not in children:
        raise DataError("no bones or no :hierarchy starting at root", path,
                        "not a complete ASF skeleton file")
    unknown = [c for kids in children.values() for c in kids if c not in bones]
    if unknown:
        raise DataError(f"the hierarchy names bones without bonedata: {', '.join(unknown[:5])}", path,
                        _AMC_FIX)
    length = float(units["length"])
    if not length > 0:
        raise DataError(f":units length is {length}", path, _AMC_FIX)
    return AsfSkeleton(bones, children, root["order"], root["axis"], root["position"],
                       to_rad(root["orientation"]), length, degrees)


def parse_amc(text: str, asf: AsfSkeleton, path: Path) -> dict[str, np.ndarray]:
    """AMC text -> {bone or "root": [T, values]} in the ASF's dof order (root: ``asf.root_order``)."""
    width = {name: len(b.dof) for name, b in asf.bones.items()}
    width["root"] = len(asf.root_order)
    lines = text.splitlines()
    start = 0
    while start < len(lines) and (not lines[start].strip() or lines[start].lstrip()[:1] in ("#", ":")):
        start += 1
    frames: list[int] = []
    rows: dict[str, list[list[str]]] = {}
    seen: set[str] = set()
    expected: set[str] | None = None

    def close_frame() -> None:
        nonlocal expected, seen
        if not frames:
            return
        if expected is None:
            expected = set(seen)
        elif seen != expected:
            missing = sorted(expected - seen) or sorted(seen - expected)
            raise DataError(f"frame {frames[-1]} lacks or adds bones ({', '.join(missing[:5])})", path,
                            _AMC_FIX)
        seen = set()

    for ln in lines[start:]:
        words = ln.split()
        if not words:
            continue
        if len(words) == 1 and words[0].isdigit():
            close_frame()
            number = int(words[0])
            if frames and number != frames[-1] + 1:
                raise DataError(f"frame {number} follows frame {frames[-1]}", path, _AMC_FIX)
            frames.append(number)
            continue
        name = words[0]
        if not frames:
            raise DataError(f"{name!r} before the first frame number", path, _AMC_FIX)
        if name not in width:
            raise DataError(f"frame {frames[-1]}: bone {name!r} is not in the ASF skeleton", path,
                            "pass the .asf of the same subject")
        if len(words) - 1 != width[name]:
            raise DataError(f"frame {frames[-1]}: {name} has {len(words) - 1} values, the ASF gives it "
                            f"{width[name]} dof", path, _AMC_FIX)
        rows.setdefault(name, []).append(words[1:])
        seen.add(name)
    if not frames:
        raise DataError("no frames", path, _AMC_FIX)
    close_frame()
    out: dict[str, np.ndarray] = {}
    for name, values in rows.items():
        if len(values) != len(frames):
            raise DataError(f"bone {name} appears in {len(values)} of {len(frames)} frames", path, _AMC_FIX)
        try:
            arr = np.array(values, dtype=np.float64).reshape(len(frames), width[name])
        except ValueError:
            raise DataError(f"bone {name}: a value is not a number", path, _AMC_FIX) from None
        if not np.isfinite(arr).all():
            raise DataError(f"bone {name}: NaN or infinite values", path, _AMC_FIX)
        out[name] = arr
    if "root" not in out:
        raise DataError("no root values", path, _AMC_FIX)
    return out


def _euler_xyz(angles: np.ndarray, order: str, frames: int) -> np.ndarray:
    """Acclaim rotation: axis order "XYZ" applies x first, i.e. R = Rz Ry Rx. angles [T or 1, 3] by x, y, z."""
    axes = [a.lower() for a in order][::-1]
    return _compose(axes, [angles[:, "xyz".index(a)] for a in axes], frames)


def amc_forward_kinematics(asf: AsfSkeleton, motion: dict[str, np.ndarray]) -> dict[str, tuple]:
    """{bone: (start [T, 3], end [T, 3])} and "root" -> (position, position), in ASF length units."""
    root_vals = motion["root"]
    t = root_vals.shape[0]
    to_rad = np.deg2rad if asf.degrees else (lambda a: a)
    position = np.broadcast_to(asf.root_position, (t, 3)).copy()
    angles = np.zeros((t, 3))
    for k, ch in enumerate(asf.root_order):
        axis = "xyz".index(ch[-1].lower())
        if ch.startswith("T"):
            position[:, axis] = root_vals[:, k]  # AMC TX/TY/TZ are the root's absolute position
        else:
            angles[:, axis] = to_rad(root_vals[:, k])
    c = _euler_xyz(asf.root_orientation[None], asf.root_axis_order, 1)[0]
    world = {"root": c @ _euler_xyz(angles, asf.root_axis_order, t) @ c.T}
    ends = {"root": position}
    out = {"root": (position, position)}
    queue = ["root"]
    while queue:
        parent = queue.pop(0)
        for name in asf.children.get(parent, []):
            bone = asf.bones[name]
            dof_angles = np.zeros((t, 3))
            if name in motion:
                for k, d in enumerate(bone.dof):
                    if d in ("rx", "ry", "rz"):
                        dof_angles[:, "xyz".index(d[1])] = to_rad(motion[name][:, k])
            cb = _euler_xyz(bone.axis[None], bone.axis_order, 1)[0]
            world[name] = world[parent] @ cb @ _euler_xyz(dof_angles, bone.axis_order, t) @ cb.T
            start = ends[parent]
            end = start + np.einsum("tij,j->ti", world[name], bone.direction * bone.length)
            ends[name] = end
            out[name] = (start, end)
            queue.append(name)
    return out


_CMU_BONES = ("root", "lowerback", "upperback", "thorax", "lowerneck", "upperneck", "head",
              *(f"{s}{b}" for s in "lr" for b in ("clavicle", "humerus", "radius", "wrist", "hand", "fingers",
                                                   "thumb", "hipjoint", "femur", "tibia", "foot")))


def amc_to_ntu25(asf: AsfSkeleton, motion: dict[str, np.ndarray], path: Path) -> np.ndarray:
    """[T, 25, 3] NTU-25 joints in metres, ASF axes (y up)."""
    missing = [b for b in _CMU_BONES if b != "root" and b not in asf.bones]
    if missing:
        raise DataError(f"the ASF skeleton lacks the CMU bones {', '.join(missing[:6])}", path,
                        "only the CMU mocap skeleton (root, lowerback, ..., lhumerus, lradius, ...) is mapped")
    fk = amc_forward_kinematics(asf, motion)

    def end(bone: str) -> np.ndarray:
        return fk[bone][1]

    t = fk["root"][0].shape[0]
    out = np.zeros((t, 25, 3))
    spine_base = (end("lhipjoint") + end("rhipjoint")) / 2
    out[:, _j("spine_base")] = spine_base
    out[:, _j("spine_shoulder")] = end("thorax")
    spine = np.stack([spine_base] + [end(b) for b in ("root", "lowerback", "upperback", "thorax")], axis=1)
    out[:, _j("spine_mid")] = _along_chain(spine, SPINE_MID_ALONG_BASE_TO_SHOULDER)
    out[:, _j("neck")] = end("lowerneck")
    out[:, _j("head")] = (fk["head"][0] + fk["head"][1]) / 2
    for side, s in (("left", "l"), ("right", "r")):
        out[:, _j(f"{side}_shoulder")] = end(f"{s}clavicle")
        out[:, _j(f"{side}_elbow")] = end(f"{s}humerus")
        wrist = end(f"{s}wrist")
        out[:, _j(f"{side}_wrist")] = wrist
        out[:, _j(f"{side}_hip")] = end(f"{s}hipjoint")
        out[:, _j(f"{side}_knee")] = end(f"{s}femur")
        out[:, _j(f"{side}_ankle")] = end(f"{s}tibia")
        out[:, _j(f"{side}_foot")] = end(f"{s}foot")
        forearm = (asf.bones[f"{s}radius"].length + asf.bones[f"{s}wrist"].length)
        hand_dir = _unit(end(f"{s}fingers") - wrist)
        thumb_dir = _unit(end(f"{s}thumb") - wrist)
        out[:, _j(f"{side}_hand")] = wrist + hand_dir * HAND_PER_FOREARM * forearm
        out[:, _j(f"{side}_hand_tip")] = wrist + hand_dir * TIP_PER_FOREARM * forearm
        out[:, _j(f"{side}_thumb")] = wrist + thumb_dir * THUMB_PER_FOREARM * forearm
    return out * asf.metres_per_unit


# --- common: axes, facing, placement ---------------------------------------------------------------------

def to_camera_space(joints: np.ndarray, fps: float) -> tuple[np.ndarray, dict]:
    """[T, 25, 3] metres, y up, any heading -> NTU camera space facing the camera (see module doc).

    Returns the joints (float32) and {"yaw_deg": the rotation applied about y}.
    """
    first = joints[: max(1, round(FACING_SECONDS * fps))]
    right = (first[:, _j("right_hip")] - first[:, _j("left_hip")]
             + first[:, _j("right_shoulder")] - first[:, _j("left_shoulder")]).mean(axis=0)
    yaw = float(np.arctan2(-right[2], right[0]))  # angle of the right vector from +x, about +y
    c, s = np.cos(yaw), np.sin(yaw)
    # rotation about y by +yaw maps (cos a, 0, -sin a) onto +x
    rot_y = np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])
    out = joints @ rot_y.T
    out = out - out[0, _j("spine_base")] + np.asarray(PLACE_SPINE_BASE)
    return out.astype(np.float32), {"yaw_deg": round(float(np.degrees(yaw)), 2)}


def _up_to_y(joints: np.ndarray) -> np.ndarray:
    """Rotate a z-up (or x-up) capture so that its spine points along +y (y-up data is unchanged)."""
    spine = np.median(joints[:, _j("spine_shoulder")] - joints[:, _j("spine_base")], axis=0)
    axis = int(np.argmax(np.abs(spine)))
    sign = np.sign(spine[axis])
    if axis == 1 and sign > 0:
        return joints
    x, y, z = joints[..., 0], joints[..., 1], joints[..., 2]
    if axis == 2:  # z up -> (x, z, -y) keeps a right-handed frame
        out = np.stack([x, z, -y], axis=-1) if sign > 0 else np.stack([x, -z, y], axis=-1)
    elif axis == 0:
        out = np.stack([-y, x, z], axis=-1) if sign > 0 else np.stack([y, -x, z], axis=-1)
    else:  # y down
        out = np.stack([x, -y, -z], axis=-1)
    return out


# --- readers ---------------------------------------------------------------------------------------------

_BANDAI_NAME = re.compile(r"^(dataset-\d+)_(.+)_([^_]+)_(\d+)$")
_CMU_TAKE = re.compile(r"^(\d+)_(\d+)$")


def _read_text(path: Path) -> str:
    return read_bytes(path).decode("latin-1")


def class_name(code: str) -> str:
    """Dataset action code -> class name: ``raise-up-left-hand`` / ``leg_kick`` -> words."""
    return re.sub(r"[-_]+", " ", code).strip()


def bvh_clip_labels(path: Path) -> tuple[str | None, dict]:
    """(content code or None, meta) from a ``<clip>.json`` beside it, else the Bandai Namco file name."""
    meta: dict = {}
    content = None
    match = _BANDAI_NAME.match(path.stem)
    if match:
        meta.update(collection=match.group(1), style=match.group(3), take=int(match.group(4)))
        content = match.group(2)
    side = path.with_suffix(".json")
    if side.is_file():
        try:
            record = json.loads(side.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"unreadable clip metadata ({exc})", side, "fix or remove the JSON file") from None
        if isinstance(record, dict):
            content = str(record.get("content", content)) if record.get("content") is not None else content
            if record.get("style") is not None:
                meta["style"] = str(record["style"])
    return content, meta


def read_bvh(path: str | Path) -> SkeletonSequence:
    """One BVH file -> an NTU-25 sequence (label -1; ``meta["content"]`` holds the action code if known)."""
    path = Path(path)
    motion, cgspeed = fix_cmu_cgspeed(parse_bvh(_read_text(path), path))
    joints, facts = bvh_to_ntu25(motion, path)
    facts.update(cgspeed)
    fps = round(1.0 / motion.frame_time, 3)
    data, pose = to_camera_space(_up_to_y(joints), fps)
    content, meta = bvh_clip_labels(path)
    meta.update(**facts, **pose, format="bvh")
    if content is not None:
        meta["content"] = content
    description = cmu_description(path)  # CMU takes (cgspeed BVH) beside the database's descriptions.tsv
    if description is not None:
        meta["description"] = description
    return SkeletonSequence(data=frames_to_sequence_array(data[:, None]), label=-1, name=path.stem,
                            source=str(path), fps=fps, meta=meta)


def _labelled(sequences: Sequence[SkeletonSequence]) -> tuple[tuple[str, ...], list[SkeletonSequence]]:
    """Class names (sorted) from meta["content"]; sequences relabelled."""
    from dataclasses import replace

    codes = sorted({s.meta["content"] for s in sequences if "content" in s.meta})
    names = tuple(class_name(c) for c in codes)
    return names, [replace(s, label=codes.index(s.meta["content"])) if "content" in s.meta else s
                   for s in sequences]


def read_bvh_file(path: str | Path) -> SkeletonDataset:
    seq = read_bvh(path)
    classes, (seq,) = _labelled([seq])
    return SkeletonDataset("bvh", classes, (seq,))


def bvh_files(folder: Path) -> list[Path]:
    """BVH files in the folder, else in its direct subfolders (Bandai Namco's dataset-1, dataset-2)."""
    return find_files(folder, "*.bvh")


def read_bvh_folder(folder: str | Path) -> SkeletonDataset:
    """A folder of BVH clips (e.g. Bandai Namco dataset-1 / dataset-2, or their parent folder)."""
    folder = Path(folder)
    notes: list[str] = []
    sequences = read_folder(bvh_files(folder), read_bvh, folder, notes)
    classes, sequences = _labelled(sequences)
    unlabelled = [s.name for s in sequences if s.label < 0]
    if unlabelled:
        notes.append(f"{len(unlabelled)} clip(s) have no action in their name or a JSON beside them "
                     f"(unlabelled), e.g. {unlabelled[0]}")
    collections = sorted({s.meta.get("collection", "bvh") for s in sequences})
    name = "bandai-namco" if all(c.startswith("dataset-") for c in collections) else "bvh"
    if name == "bandai-namco":
        name += ":" + "+".join(collections)
    return SkeletonDataset(name, classes, tuple(sequences), tuple(notes))


# --- CMU takes and segments ------------------------------------------------------------------------------

def find_asf(amc: Path) -> Path:
    """The ASF beside an AMC: ``<subject>.asf`` for ``<subject>_<take>.amc``, else the folder's only .asf."""
    match = _CMU_TAKE.match(amc.stem)
    if match and (amc.parent / f"{match.group(1)}.asf").is_file():
        return amc.parent / f"{match.group(1)}.asf"
    found = sorted(amc.parent.glob("*.asf")) + sorted(amc.parent.glob("*.ASF"))
    if len(found) == 1:
        return found[0]
    raise DataError("no ASF skeleton file beside it" if not found else
                    f"several ASF files beside it ({', '.join(p.name for p in found[:4])})", amc,
                    "put the subject's <subject>.asf in the same folder")


CMU_DESCRIPTIONS = "descriptions.tsv"


@lru_cache(maxsize=4)
def cmu_descriptions(table: Path) -> dict[str, str]:
    """``descriptions.tsv`` (``take<TAB>description`` per line, a header line) -> {"02_01": "walk", ...}."""
    out: dict[str, str] = {}
    for line in _read_text(table).splitlines()[1:]:
        take, _, text = line.partition("\t")
        if _CMU_TAKE.match(take.strip()) and text.strip():
            out[take.strip()] = text.strip()
    return out


def cmu_description(take: str | Path, table: str | Path | None = None) -> str | None:
    """The CMU database's text for a take (``"02_01"`` or a take file ``.../02_01.bvh``): "walk". From
    ``table``, else a descriptions.tsv in the take file's folder or up to two above it (more/bvh/02/).
    None where the take is not listed or there is no table."""
    file = Path(take)
    match = _CMU_TAKE.match(file.stem)
    if match is None:
        return None
    if table is None:
        folders = list(file.resolve().parents)[:3] if file.suffix else []  # a take file, not a bare name
        table = next((f / CMU_DESCRIPTIONS for f in folders if (f / CMU_DESCRIPTIONS).is_file()), None)
        if table is None:
            return None
    return cmu_descriptions(Path(table)).get(f"{int(match.group(1)):02d}_{int(match.group(2)):02d}")


def read_amc(path: str | Path, asf_path: str | Path | None = None, fps: float = CMU_FPS) -> SkeletonSequence:
    """One AMC take (with its ASF, found beside it by default) -> one unlabelled NTU-25 sequence."""
    path = Path(path)
    asf_file = Path(asf_path) if asf_path is not None else find_asf(path)
    asf = parse_asf(_read_text(asf_file), asf_file)
    motion = parse_amc(_read_text(path), asf, path)
    joints = amc_to_ntu25(asf, motion, path)
    data, pose = to_camera_space(_up_to_y(joints), fps)
    match = _CMU_TAKE.match(path.stem)
    meta = {"format": "asf/amc", "asf": asf_file.name, "unit_metres": asf.metres_per_unit, **pose}
    if match:
        meta["take"] = int(match.group(2))
        description = cmu_description(path)
        if description is not None:
            meta["description"] = description
    return SkeletonSequence(data=frames_to_sequence_array(data[:, None]), label=-1, name=path.stem,
                            source=str(path), fps=fps, subject=int(match.group(1)) if match else None,
                            meta=meta)


def parse_segments(path: Path) -> dict[str, list[tuple[str, int, int]]]:
    """``mocap_segments.txt`` -> {"86_01": [(action, first frame, last frame) 1-based inclusive, ...]}."""
    text = _read_text(path)
    takes: dict[str, list[tuple[str, int]]] = {}
    current: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words:
            continue
        if len(words) == 2 and all(w.isdigit() for w in words):
            current = f"{words[0]}_{words[1]}"
            takes[current] = []
            continue
        if current is None or len(words) != 4:
            raise DataError(f"line {number}: expected '<subject> <take>' or '<action> lo mid hi', found "
                            f"{line.strip()[:40]!r}", path, "keep the segments file's format")
        try:
            takes[current].append((words[0], int(words[2])))
        except ValueError:
            raise DataError(f"line {number}: {words[2]!r} is not a frame number", path,
                            "keep the segments file's format") from None
    out: dict[str, list[tuple[str, int, int]]] = {}
    for take, ends in takes.items():
        segments, start = [], 1
        for action, last in ends:
            if last >= start:
                segments.append((action, start, last))
            start = max(start, last + 1)
        out[take] = segments
    return out


def read_cmu_folder(folder: str | Path, segments_file: str = "mocap_segments.txt") -> SkeletonDataset:
    """A CMU folder (<subject>.asf, <subject>_<take>.amc, mocap_segments.txt): one labelled sequence per
    segment of each listed take, turned to face the camera at its own start (``meta["take"]``, ``meta["frames"]`` = 1-based first, last); takes the
    segments file does not list are kept whole and unlabelled. Without the segments file, whole takes."""
    from dataclasses import replace

    folder = Path(folder)
    notes: list[str] = []
    files = sorted(folder.glob("*.amc")) + sorted(folder.glob("*.AMC"))
    takes = read_folder(files, read_amc, folder, notes)
    seg_path = folder / segments_file
    segments = parse_segments(seg_path) if seg_path.is_file() else {}
    if not segments:
        notes.append(f"no {segments_file}: whole takes, unlabelled")
    rows: list[tuple[SkeletonSequence, str | None]] = []
    for take in takes:
        listed = segments.get(take.name)
        if not listed:
            rows.append((take, None))
            if segments:
                notes.append(f"{take.name} is not in {segments_file}: kept whole, unlabelled")
            continue
        if listed[-1][2] != take.num_frames:
            notes.append(f"{take.name}: {segments_file} ends at frame {listed[-1][2]}, the take has "
                         f"{take.num_frames}")
        for k, (action, first, last) in enumerate(listed):
            last = min(last, take.num_frames)
            if last < first:
                continue
            # each segment faces the camera at its own start (the take's walks turn the subject around)
            joints, pose = to_camera_space(take.data[:, first - 1:last, :, 0].transpose(1, 2, 0), take.fps)
            data = frames_to_sequence_array(joints[:, None])
            meta = {**take.meta, **pose, "frames": (first, last), "segment": k, "action": action}
            rows.append((replace(take, data=data, name=f"{take.name}_{k:02d}_{action}", meta=meta), action))
    codes = sorted({a for _, a in rows if a is not None})
    sequences = tuple(replace(s, label=codes.index(a)) if a is not None else s for s, a in rows)
    if segments:
        notes.append("segment bounds are the middle of the segments file's three estimates per boundary; "
                     "a segment starts and ends in the transition to its neighbours")
    return SkeletonDataset("cmu-mocap", tuple(class_name(c) for c in codes), sequences, tuple(notes))


def read_amc_file(path: str | Path) -> SkeletonDataset:
    """One AMC take as a dataset of one unlabelled sequence; ``meta["segments"]`` lists the labelled
    segments of the take where a mocap_segments.txt beside it has them."""
    from dataclasses import replace

    path = Path(path)
    seq = read_amc(path)
    seg_path = path.parent / "mocap_segments.txt"
    if seg_path.is_file():
        listed = parse_segments(seg_path).get(path.stem)
        if listed:
            seq = replace(seq, meta={**seq.meta, "segments": [(class_name(a), f, la) for a, f, la in listed]})
    return SkeletonDataset("cmu-mocap", (), (seq,))


__all__ = [
    "CMU_FPS", "amc_forward_kinematics", "bvh_forward_kinematics", "cmu_description", "find_asf",
    "fix_cmu_cgspeed", "is_cmu_cgspeed", "parse_amc", "parse_asf",
    "parse_bvh", "parse_segments", "read_amc", "read_amc_file", "read_bvh", "read_bvh_file",
    "read_bvh_folder", "read_cmu_folder", "to_camera_space",
]
