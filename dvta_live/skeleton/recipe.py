"""The one preprocessing recipe per model family: training, evaluation, export metadata and the live loop
all call ``Recipe.apply`` so a model never sees data prepared differently from what it was trained on.

Input: one sequence [3, T, 25, 2] (NTU-25 order and axes, zeros for absent bodies/frames, T any).
Output: the model input [3, window, 25, 2] float32. ``apply_batch`` does the same for [N, 3, T, 25, 2].

Two named recipes reproduce the published pipelines step for step (vectorised; the upstream code loops):

``smie50`` -- the ``*_position.npy`` (N, 3, 50, 25, 2) arrays that SMIE (YujieOuO/SMIE split.py reads
``{dataset}_frame50/xsub/train_position.npy``) and DVTA (jidongkuang/DVTA config.py, data_root = SMIE's
data) train on, made by AimCLR's Levigty/AimCLR feeder/preprocess_ntu.py (identical in
LinguoLi/CrosSCLR feeder/NTUDatasets.py): ``NTUMotionProcessor(data_type='relative', t_length=50,
y_rotation=True, sampling='resize')`` over tools/ntu_gendata.py's 300-frame zero-padded arrays
(first two bodies by their slot in each frame). Per sample:
  1. length = number of frames in which body 0's joint 0 (spine base) is non-zero (``get_length``);
     the first ``length`` frames are kept. This is a count, not a span: a gap (or leading empty frames)
     in body 0 keeps zeros and cuts as many real frames off the end. ``drop_empty_frames=True`` instead
     removes frames with no body first (identical on gap-free data; what a live window needs).
  2. every body, every frame, minus its own spine-shoulder joint (index 20) in that frame.
  3. ``cv2.resize(..., INTER_LINEAR)`` of the kept frames to 50: half-pixel centres,
     src = (d + 0.5) * length / 50 - 0.5, clamped at both ends (so frame 0 of the output is not the
     first input frame when downsampling).
  4. per body (``parallel_skeleton``), per frame: rotate about y so that the right-minus-left shoulder
     vector (joints 8 - 4, y zeroed) points along +x, angle = arccos(v_x / (|v| + 1e-4)); one sign for
     the whole body track, from the sum of v_z over all frames. Quirks kept: the 1e-4 leaves a residual
     of up to ~1.5 deg, frames whose v_z sign disagrees with the track's sum end at twice their angle,
     and so the recipe is neither exactly rotation-invariant nor idempotent.

``shiftgcn300`` -- Shift-GCN's ``*_data_joint.npy`` (kchengiva/Shift-GCN data_gen/ntu_gendata.py +
data_gen/preprocess.py ``pre_normalization``, the same as lshiwjx/2s-AGCN data_gen/preprocess.py and
rotation.py), with Shift-GCN's test feeder an identity (feeders/feeder.py; the NTU configs give the test
feeder no random_choose/shift/move, window_size -1, normalization False). Per sample:
  0. (ntu_gendata ``read_xyz``) bodies ordered by "energy" (sum over x, y, z of the std over valid
     frames and joints), highest first; the sequence sits in a 300-frame zero array.
  1. per body: if its first frame is empty, its non-empty frames are moved to the front; then the
     empty tail is filled by repeating the body's frames [0, last valid] cyclically.
  2. every frame, both bodies minus body 0's spine-mid (joint 1) in that frame; joints that were
     zero stay zero (mask).
  3. from body 0's first frame only: rotate so spine base -> spine mid is parallel to +z, then
     (in a second rotation) right shoulder - left shoulder parallel to +x, both rotations applied to
     every frame and body. Exactly invariant to any rigid motion when that frame's spine and shoulder
     line are perpendicular; otherwise up to a rotation about x. (The energy order is a sum of per-axis
     stds, not rotation-invariant: two bodies of similar energy can swap when the scene turns.)

``shiftgcn64`` -- the live form of shiftgcn300, for the official Shift-GCN weights on a CPU: the same
energy body order, spine-mid centring and first-frame rotation, but the valid frames (empty ones
dropped) linearly resized to 64 (AimCLR's resize) instead of padded and repeated to 300. A 3 s live
window costs ~28 ms instead of ~300 ms through Shift-GCN on one core (its two stride-2 stages need a
multiple of 4). Measured: the official NTU-120 X-sub classifier still gives all six NTU samples in
../shared their true class at top-1 (as with shiftgcn300); a resize to 52 loses one.

Body order comes from the reader: ``dvta_live.skeleton.readers`` keeps Shift-GCN's two highest-energy
of four slots, AimCLR keeps the first two slots; on two-person clips smie50 then sees the bodies swapped
(its models average over bodies; only ``length``, counted on body 0, can change).

Deviations, all on input the upstream code never sees or crashes on: an all-zero input (or, for
smie50, an empty body 0) gives zeros instead of a cv2 error / NaN; T > window for shiftgcn300 keeps the
last ``window`` frames (upstream cannot hold more than 300); "empty" means all coordinates zero where
upstream tests a coordinate sum == 0; energy ties keep the given order.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from dvta_live.errors import UserError
from dvta_live.skeleton.coco17 import front_view_keypoints
from dvta_live.skeleton.layouts import NTU25, SPINE_MID, SPINE_SHOULDER
from dvta_live.skeleton.posec3d import NUM_KEYPOINTS, keypoints_to_model_input
from dvta_live.skeleton.retarget import to_ntu_proportions
from dvta_live.skeleton.sequence import MAX_BODIES, NUM_COORDS, NUM_JOINTS

SPINE_BASE = NTU25.index("spine_base")
LEFT_SHOULDER = NTU25.index("left_shoulder")
RIGHT_SHOULDER = NTU25.index("right_shoulder")

TEMPORAL_KINDS = ("resize_linear", "pad_repeat", "uniform_sample")
CENTRING_KINDS = ("per_body", "first_body_masked", "compact_box")
VIEW_KINDS = ("shoulders_x_per_frame", "spine_z_shoulders_x_first_frame", "none")
BODY_ORDERS = ("as_given", "energy")
PLANES = ("xyz", "image", "auto", "keypoints2d")
PROPORTIONS = ("as_given", "ntu")

# Bones whose 2-D lengths, summed over a frame, measure a body's size in an image-plane skeleton: the
# trunk, shoulders, hips and limbs (not the head or hands, which MediaPipe places least reliably).
SIZE_BONES = ((0, 1), (1, 20), (20, 4), (20, 8), (4, 5), (8, 9), (5, 6), (9, 10), (0, 12), (0, 16),
              (12, 13), (16, 17), (13, 14), (17, 18))
# The same sum for an adult standing upright, facing the camera, in metres (median over the NTU, UTD-MHAD,
# NW-UCLA and MSR skeletons here): "image" recipes scale a window so its body has this size.
BODY_SIZE_M = 3.5
SIZE_PERCENTILE = 90  # of the per-frame sums: robust to frames where limbs point at the camera

_AIMCLR_EPS = 1e-4  # parallel_skeleton's `l2_norm + 0.0001`
_AGCN_TINY = 1e-6  # rotation.py: identity below this axis length / angle


@dataclass(frozen=True)
class Recipe:
    """A named, serialisable preprocessing recipe. Build one with ``get_recipe`` or ``from_dict``."""

    name: str
    window: int
    centre_joint: int
    temporal: str  # "resize_linear" (AimCLR cv2 resize) | "pad_repeat" (2s-AGCN pad + repeat)
    centring: str  # "per_body" (own joint, every frame) | "first_body_masked" (body 0's joint)
    view: str  # see VIEW_KINDS
    body_order: str = "as_given"  # "energy": most active body first (Shift-GCN read_xyz)
    drop_empty_frames: bool = False  # remove frames with no body before the temporal step
    # "image": an image-plane skeleton (z dropped, body scaled to BODY_SIZE_M, no view step); "auto":
    # per window, "image" when it has no depth (all z zero: a camera's 2-D landmarks), else "xyz"
    # "keypoints2d": COCO-17 image keypoints with scores [3, T, 17, 2] (x, y pixels, score), the camera
    # path's 2-D models (posec3d48: pyskl's uniform_sample + compact_box to a heatmap grid of ``size``)
    plane: str = "xyz"
    # "ntu": 3-D input gets NTU Kinect v2 bone proportions first (skeleton.retarget), as MediaPipe's are
    proportions: str = "as_given"
    size: int = 0  # keypoints2d: the heatmap grid the compact box is resized to (pixels)

    @property
    def num_joints(self) -> int:
        """Joints per body of the recipe's input and output: 17 (COCO) for keypoints2d, else 25 (NTU)."""
        return NUM_KEYPOINTS if self.plane == "keypoints2d" else NUM_JOINTS

    @property
    def layout(self) -> str:
        return "coco17" if self.plane == "keypoints2d" else "ntu25"

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """One model input: [3, window, joints, bodies]."""
        return (NUM_COORDS, self.window, self.num_joints, MAX_BODIES)

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.name, str) or not self.name:
            problems.append(f"name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.window, int) or isinstance(self.window, bool) or self.window < 1:
            problems.append(f"window must be a positive integer, got {self.window!r}")
        if (not isinstance(self.centre_joint, int) or isinstance(self.centre_joint, bool)
                or not 0 <= self.centre_joint < NUM_JOINTS):
            problems.append(f"centre_joint must be an NTU-25 joint index 0..24, got {self.centre_joint!r}")
        for field, value, allowed in (("temporal", self.temporal, TEMPORAL_KINDS),
                                      ("centring", self.centring, CENTRING_KINDS),
                                      ("view", self.view, VIEW_KINDS),
                                      ("body_order", self.body_order, BODY_ORDERS),
                                      ("plane", self.plane, PLANES),
                                      ("proportions", self.proportions, PROPORTIONS)):
            if value not in allowed:
                problems.append(f"{field} must be one of {', '.join(allowed)}; got {value!r}")
        if self.plane == "keypoints2d" and (self.temporal, self.centring) != ("uniform_sample", "compact_box"):
            problems.append("plane keypoints2d takes temporal uniform_sample and centring compact_box")
        if self.plane == "keypoints2d" and (not isinstance(self.size, int) or self.size < 8):
            problems.append(f"size must be the heatmap grid (>= 8 pixels) for keypoints2d, got {self.size!r}")
        if not isinstance(self.drop_empty_frames, bool):
            problems.append(f"drop_empty_frames must be true or false, got {self.drop_empty_frames!r}")
        if problems:
            raise UserError(f"invalid preprocessing recipe {self.name!r}: " + "; ".join(problems))

    # --- serialisation -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only, every field written so old metadata stays exact if defaults change."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Recipe:
        """Inverse of ``to_dict``. Missing keys take the named recipe's values; unknown ones are refused."""
        if not isinstance(data, dict):
            raise UserError(f"preprocessing recipe must be a mapping, got {type(data).__name__}")
        name = data.get("name")
        if not isinstance(name, str) or name not in RECIPES:
            raise UserError(f"unknown preprocessing recipe {name!r}",
                            fix=f"known recipes: {', '.join(sorted(RECIPES))}")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise UserError(
                f"unknown key(s) {', '.join(map(repr, unknown))} in preprocessing recipe {name!r}",
                fix=f"allowed keys: {', '.join(sorted(fields))}")
        return dataclasses.replace(RECIPES[name], **{k: v for k, v in data.items() if k != "name"})

    # --- application ---------------------------------------------------------------------------------
    def apply(self, data: np.ndarray) -> np.ndarray:
        """One sequence [3, T, V, 2] (T >= 0) -> model input [3, window, V, 2] float32 (V: ``num_joints``)."""
        data = np.asarray(data)
        if data.ndim != 4:
            raise ValueError(f"expected one sequence [3, T, {self.num_joints}, 2], got shape {list(data.shape)}")
        return self.apply_batch(data[None])[0]

    def apply_batch(self, data: np.ndarray) -> np.ndarray:
        """[N, 3, T, 25, 2] -> [N, 3, window, 25, 2] float32; each sample exactly as ``apply`` would."""
        x = np.asarray(data)
        if self.plane == "keypoints2d":
            return self._apply_keypoints(x)
        if (x.ndim != 5 or x.shape[1] != NUM_COORDS or x.shape[3] != NUM_JOINTS
                or x.shape[4] != MAX_BODIES):
            raise ValueError(f"expected [N, 3, T, 25, 2] skeleton data, got shape {list(x.shape)}")
        if self.plane == "auto":
            depth = np.any(x[:, 2] != 0, axis=(1, 2, 3))
            out = np.zeros((x.shape[0], NUM_COORDS, self.window, NUM_JOINTS, MAX_BODIES), np.float32)
            for rows, plane in ((depth, "xyz"), (~depth, "image")):
                if rows.any():
                    out[rows] = dataclasses.replace(self, plane=plane).apply_batch(x[rows])
            return out
        x = x.astype(np.float32, copy=True)
        if not np.isfinite(x).all():
            raise UserError("skeleton data contains NaN or infinite coordinates",
                            fix="mark missing joints/frames with zeros, as the NTU tools do")
        x = np.ascontiguousarray(x.transpose(0, 4, 2, 3, 1))  # [N, M, T, V, C], as 2s-AGCN works
        if x.shape[2] == 0:  # nothing seen yet: one empty frame, which every step maps to zeros
            x = np.zeros(x.shape[:2] + (1,) + x.shape[3:], dtype=np.float32)
        if self.plane == "image":  # an orthographic view of 3-D data, or 2-D landmarks as given
            x[..., 2] = 0
        elif self.proportions == "ntu":
            x = np.stack([to_ntu_proportions(s.transpose(3, 1, 2, 0)).transpose(3, 1, 2, 0) for s in x])
        if self.drop_empty_frames:  # resize reads a prefix, pad_repeat keeps the last `window` frames
            x = _drop_empty_frames(x, at_end=self.temporal == "pad_repeat")
        if self.temporal == "resize_linear":
            if self.body_order == "energy":
                x = _order_bodies_by_energy(x)
            if self.drop_empty_frames:  # every frame left has a body: resize them all
                length = _frame_has_body(x).any(axis=1).sum(axis=1)
            else:
                length = _aimclr_length(x)
            x = self._centre(x)
            if self.plane == "image":
                x = _scale_body(x)
            x = _resize_linear(x, length, self.window)
        else:
            x = _fit_window(x, self.window)
            if self.body_order == "energy":  # over the frames the model will see, as upstream's 300
                x = _order_bodies_by_energy(x)
            x = _agcn_pad_repeat(x)
            x = self._centre(x)
            if self.plane == "image":
                x = _scale_body(x)
        if self.plane == "image":  # the view of an image is what it shows: a lifter learns it
            pass
        elif self.view == "shoulders_x_per_frame":
            x = _aimclr_parallel_skeleton(x)
        elif self.view == "spine_z_shoulders_x_first_frame":
            x = _agcn_rotate(x)
        return np.ascontiguousarray(x.transpose(0, 4, 2, 3, 1), dtype=np.float32)

    def random_input(self, batch: int, seed: int = 0) -> np.ndarray:
        """[batch, *input_shape] float32 of plausible model input with random values (tracing graphs,
        timing runtimes): joints ~ N(0, 0.5); keypoints inside the heatmap grid with scores in [0, 1]."""
        x = np.random.default_rng(seed).standard_normal((batch, *self.input_shape)) * 0.5
        if self.plane == "keypoints2d":
            x = np.abs(x).clip(max=1.0) * np.array([self.size - 1, self.size - 1, 1.0]).reshape(1, 3, 1, 1, 1)
        return x.astype(np.float32)

    def _apply_keypoints(self, x: np.ndarray) -> np.ndarray:
        if x.ndim == 5 and x.shape[3] == NUM_JOINTS:  # a 3-D skeleton: seen from straight ahead
            x = np.stack([front_view_keypoints(s) for s in x])
        if x.ndim != 5 or x.shape[1] != NUM_COORDS or x.shape[3] != NUM_KEYPOINTS or x.shape[4] != MAX_BODIES:
            raise ValueError(f"expected [N, 3, T, 17, 2] COCO-17 keypoints (x, y, score), got shape {list(x.shape)}")
        if not np.isfinite(x).all():
            raise UserError("keypoint data contains NaN or infinite values",
                            fix="mark missing keypoints with zeros (score 0)")
        out = np.zeros((x.shape[0], *self.input_shape), np.float32)
        for i, sample in enumerate(x):
            out[i] = keypoints_to_model_input(sample, self.window, self.size)
        return out

    def _centre(self, x: np.ndarray) -> np.ndarray:
        if self.centring == "per_body":  # AimCLR: data - data[:, :, 20, :] for every frame and body
            return x - x[:, :, :, self.centre_joint:self.centre_joint + 1, :]
        # 2s-AGCN: (person - body0[:, 1]) * (joint non-zero), so missing joints stay zero
        centre = x[:, :1, :, self.centre_joint:self.centre_joint + 1, :]
        return np.where(_joint_present(x)[..., None], x - centre, np.float32(0))


RECIPES: dict[str, Recipe] = {
    "smie50": Recipe(name="smie50", window=50, centre_joint=SPINE_SHOULDER, temporal="resize_linear",
                     centring="per_body", view="shoulders_x_per_frame"),
    "shiftgcn300": Recipe(name="shiftgcn300", window=300, centre_joint=SPINE_MID, temporal="pad_repeat",
                          centring="first_body_masked", view="spine_z_shoulders_x_first_frame",
                          body_order="energy"),
    "shiftgcn64": Recipe(name="shiftgcn64", window=64, centre_joint=SPINE_MID, temporal="resize_linear",
                         centring="first_body_masked", view="spine_z_shoulders_x_first_frame",
                         body_order="energy", drop_empty_frames=True),
    # shiftgcn64's window as an image-plane skeleton: the live path's MediaPipe image landmarks, or an
    # orthographic view of 3-D data, scaled to a body size; the view step is left to a lifter.
    "image64": Recipe(name="image64", window=64, centre_joint=SPINE_MID, temporal="resize_linear",
                      centring="first_body_masked", view="none", body_order="energy",
                      drop_empty_frames=True, plane="image"),
    # lifted backbones (dvta_live.backbone.lifted): image64 for 2-D windows (lifted to 3-D in the model),
    # shiftgcn64 for windows with depth (Kinect, mocap, a depth camera), which skip the lifter.
    "lift64": Recipe(name="lift64", window=64, centre_joint=SPINE_MID, temporal="resize_linear",
                     centring="first_body_masked", view="spine_z_shoulders_x_first_frame", body_order="energy",
                     drop_empty_frames=True, plane="auto", proportions="ntu"),
    # pyskl PoseC3D's test pipeline before the heatmaps (UniformSampleFrames clip_len 48, PoseCompact with
    # 25 % padding, square, resized to 64x64): COCO-17 keypoints in heatmap pixels, scores kept
    "posec3d48": Recipe(name="posec3d48", window=48, centre_joint=0, temporal="uniform_sample",
                        centring="compact_box", view="none", plane="keypoints2d", size=64),
}


def get_recipe(name: str, **overrides: Any) -> Recipe:
    """A named recipe, optionally with fields replaced (e.g. ``window=52`` for Shift-GCN live input)."""
    if name not in RECIPES:
        raise UserError(f"unknown preprocessing recipe {name!r}",
                        fix=f"known recipes: {', '.join(sorted(RECIPES))}")
    return Recipe.from_dict({"name": name, **overrides})


# --- steps, all on [N, M, T, V, C] ---------------------------------------------------------------------
def _joint_present(x: np.ndarray) -> np.ndarray:
    """[N, M, T, V] True where a joint has a non-zero coordinate (an OR of three slices: numpy's
    reductions over a trailing axis of length 3 are ~20x slower)."""
    return (x[..., 0] != 0) | (x[..., 1] != 0) | (x[..., 2] != 0)


def _frame_has_body(x: np.ndarray) -> np.ndarray:
    """[N, M, T] True where the body has any non-zero coordinate in that frame."""
    return np.any(x != 0, axis=(3, 4))


def _gather_frames(x: np.ndarray, index: np.ndarray) -> np.ndarray:
    """x[n, m, index[n, m, t]] for index [N, M, T'] (or [N, 1, T'] shared by the bodies)."""
    n, m, t = x.shape[:3]
    index = np.broadcast_to(index, (n, m, index.shape[-1]))
    rows = index + (np.arange(n * m) * t).reshape(n, m, 1)  # whole frames as rows: one fast take
    return np.take(x.reshape(n * m * t, -1), rows, axis=0).reshape(index.shape + x.shape[3:])


def _order_bodies_by_energy(x: np.ndarray) -> np.ndarray:
    # Shift-GCN ntu_gendata.get_nonzero_std: std of x, y and z over the valid frames' joints, summed.
    n, m, t, v, c = x.shape
    valid = _frame_has_body(x)  # [N, M, T]
    count = valid.sum(axis=2, keepdims=True) * v  # [N, M, 1] values per channel
    flat = x.reshape(n, m, t * v, c).astype(np.float64)  # empty frames are zeros: add nothing
    ones = np.ones(t * v)  # sums over T*V as a matrix product: fast, unlike a strided reduction
    mean = (ones @ flat) / np.maximum(count, 1)
    var = np.maximum((ones @ (flat * flat)) / np.maximum(count, 1) - mean * mean, 0.0)
    energy = np.where(count > 0, np.sqrt(var), 0.0).sum(axis=-1)  # [N, M]
    order = np.argsort(-energy, axis=1, kind="stable")  # ties keep the given order
    return x[np.arange(n)[:, None], order]


def _scale_body(x: np.ndarray) -> np.ndarray:
    """Scale each sample so body 0's size (SIZE_BONES' 2-D lengths summed, SIZE_PERCENTILE over its
    frames) is BODY_SIZE_M: image pixels, normalised image units and metres all come out alike."""
    bones = np.array(SIZE_BONES)
    body = x[:, 0, :, :, :2]  # [N, T, V, 2]
    lengths = np.linalg.norm(body[:, :, bones[:, 0]] - body[:, :, bones[:, 1]], axis=-1).sum(axis=-1)
    out = x.copy()
    for i, (frames, has) in enumerate(zip(lengths, _frame_has_body(x)[:, 0])):
        size = float(np.percentile(frames[has], SIZE_PERCENTILE)) if has.any() else 0.0
        if size > 1e-6:
            out[i] *= np.float32(BODY_SIZE_M / size)
    return out


def _drop_empty_frames(x: np.ndarray, at_end: bool) -> np.ndarray:
    """Frames with a body moved together (order kept) to the front, or to the end; empty ones around."""
    any_body = _frame_has_body(x).any(axis=1)  # [N, T]
    order = np.argsort(any_body if at_end else ~any_body, axis=1, kind="stable")
    return _gather_frames(x, order[:, None, :])  # the frames moved back are all-zero already


def _aimclr_length(x: np.ndarray) -> np.ndarray:
    """[N] NTUMotionProcessor.get_length: frames where body 0's joint 0 is non-zero (used as a prefix)."""
    return np.any(x[:, 0, :, SPINE_BASE, :] != 0, axis=-1).sum(axis=1)


def _resize_linear(x: np.ndarray, length: np.ndarray, window: int) -> np.ndarray:
    """cv2.resize(frames[:length], (V, window), INTER_LINEAR) along T, per sample; zeros when length 0."""
    safe_len = np.maximum(length, 1).astype(np.float64)[:, None]  # [N, 1]
    scale = 1.0 / (window / safe_len)  # cv2: scale_y = 1. / inv_scale_y, inv = dsize / ssize
    src = (np.arange(window)[None, :] + 0.5) * scale - 0.5
    s0 = np.floor(src).astype(np.int64)
    f = (src - s0).astype(np.float32)  # the fraction in double, then float: matches cv2 to 1 ulp
    last = np.maximum(length, 1)[:, None] - 1
    f = np.where((s0 < 0) | (s0 >= last), np.float32(0), f)  # cv2 clamps both borders to the edge frame
    s0 = np.clip(s0, 0, last)
    s1 = np.minimum(s0 + 1, last)
    w = f[:, None, :, None, None]
    out = (_gather_frames(x, s0[:, None, :]) * (np.float32(1) - w)
           + _gather_frames(x, s1[:, None, :]) * w)
    out[length == 0] = 0
    return out


def _fit_window(x: np.ndarray, window: int) -> np.ndarray:
    """Zero-pad at the end to ``window`` frames (ntu_gendata's 300-frame array); keep the last if longer."""
    t = x.shape[2]
    if t >= window:
        return x[:, :, t - window:]
    out = np.zeros(x.shape[:2] + (window,) + x.shape[3:], dtype=x.dtype)
    out[:, :, :t] = x
    return out


def _agcn_pad_repeat(x: np.ndarray) -> np.ndarray:
    """pre_normalization's first loop, per body: compact if the first frame is empty, then repeat."""
    t = x.shape[2]
    valid = _frame_has_body(x)  # [N, M, T]
    frames = np.arange(t)
    compact = np.argsort(~valid, axis=2, kind="stable")  # valid frames first, in order
    index = np.where(~valid[:, :, :1], compact, frames)  # only when frame 0 is empty
    x = _gather_frames(x, index)
    valid = np.take_along_axis(valid, index, axis=2)
    # first frame of the all-empty tail = last valid + 1; its frames t >= i_f become frame t % i_f
    i_f = np.where(valid.any(axis=2), t - np.argmax(valid[:, :, ::-1], axis=2), t)[..., None]  # [N, M, 1]
    index = np.where(frames < i_f, frames, frames % np.maximum(i_f, 1))
    return _gather_frames(x, index)


def _aimclr_parallel_skeleton(x: np.ndarray) -> np.ndarray:
    """Per body, per frame rotation about y putting the shoulder vector on +x (AimCLR parallel_skeleton)."""
    vec = x[:, :, :, RIGHT_SHOULDER, :].astype(np.float64) - x[:, :, :, LEFT_SHOULDER, :]  # [N, M, T, 3]
    vx, vz = vec[..., 0], vec[..., 2]
    theta = np.arccos(vx / (np.sqrt(vx * vx + vz * vz) + _AIMCLR_EPS))
    theta = np.where(vz.sum(axis=2, keepdims=True) >= 0, -theta, theta)  # one sign per body track
    c = np.cos(theta)[..., None].astype(np.float32)  # [N, M, T, 1]
    s = np.sin(theta)[..., None].astype(np.float32)
    out = x.copy()
    out[..., 0] = c * x[..., 0] - s * x[..., 2]
    out[..., 2] = s * x[..., 0] + c * x[..., 2]
    return out


def _agcn_rotation(axis: tuple[float, float, float], theta: float) -> np.ndarray:
    """2s-AGCN rotation.py rotation_matrix (Euler-Rodrigues, axis negated), identity when tiny."""
    if abs(axis[0]) + abs(axis[1]) + abs(axis[2]) < _AGCN_TINY or abs(theta) < _AGCN_TINY:
        return np.eye(3)
    norm = math.sqrt(axis[0] ** 2 + axis[1] ** 2 + axis[2] ** 2)
    a = math.cos(theta / 2.0)
    b, c, d = (-k / norm * math.sin(theta / 2.0) for k in axis)
    aa, bb, cc, dd = a * a, b * b, c * c, d * d
    bc, ad, ac, ab, bd, cd = b * c, a * d, a * c, a * b, b * d, c * d
    return np.array([[aa + bb - cc - dd, 2 * (bc + ad), 2 * (bd - ac)],
                     [2 * (bc - ad), aa + cc - bb - dd, 2 * (cd + ab)],
                     [2 * (bd + ac), 2 * (cd - ab), aa + dd - bb - cc]])


def _agcn_align(v: np.ndarray, target_axis: int) -> np.ndarray:
    """Rotation taking v onto a unit axis as pre_normalization builds it (v x axis, arccos angle).
    Plain floats: these 3-vectors are far too small for numpy's per-call overhead."""
    x, y, z = (float(k) for k in v)
    if abs(x) + abs(y) + abs(z) < _AGCN_TINY:  # angle_between returns 0 -> identity
        return np.eye(3)
    cos = min(1.0, max(-1.0, (x, y, z)[target_axis] / math.sqrt(x * x + y * y + z * z)))
    cross = (0.0, z, -y) if target_axis == 0 else (y, -x, 0.0)  # v x e_x, v x e_z
    return _agcn_rotation(cross, math.acos(cos))


def _agcn_rotate(x: np.ndarray) -> np.ndarray:
    """Spine (0 -> 1) of body 0's first frame onto +z, then its shoulders (8 - 4) onto +x; whole sample."""
    n = x.shape[0]
    rotations = np.empty((n, 3, 3))
    for i, first in enumerate(x[:, 0, 0].astype(np.float64)):  # [V, C] per sample; N is small
        rz = _agcn_align(first[SPINE_MID] - first[SPINE_BASE], 2)
        rotations[i] = _agcn_align(rz @ (first[RIGHT_SHOULDER] - first[LEFT_SHOULDER]), 0) @ rz
    out = np.empty_like(x)
    for i in range(n):  # one [M*T*V, 3] @ [3, 3] product per sample (BLAS), not a stacked matmul
        out[i] = (x[i].reshape(-1, 3) @ rotations[i].T.astype(np.float32)).reshape(x.shape[1:])
    return out
