"""Readers for the 2-D keypoint datasets of real video: each returns COCO-17 keypoints [3, T, 17, 2]
(x, y, score; see ``coco17`` and ``sequence``) in a ``SkeletonDataset``, one body (slot 1 empty).

Datasets (folder names as in ../shared/data/real-video-2d; ``read_real2d`` dispatches on them):

- ``penn-action``: Penn Action ``labels/NNNN.mat`` (hand-annotated, 13 joints, pixels of <= 640 x 480
  YouTube video). 2,326 clips, 15 classes. Score = the annotated visibility (0/1; an invisible joint is
  missing); head -> nose, eyes and ears missing. The files' sides are swapped against the order the
  Penn README gives (head, L shoulder, R shoulder, ...): measured here, the "left" joints are the
  subject's right ones -- on front-view clips they sit on the image's left in 97 % of the frames where
  both shoulders are visible (and on the image's right on back-view clips, 82 %), and the "left" wrist
  is the one that travels further in 70-77 % of baseball pitches, bowls and tennis forehands (mostly
  right-handed players). ``meta``: ``train`` (the official split), ``view``, ``bbox`` [T, 4],
  ``image_size`` (w, h), ``scene`` (the clip id: Penn gives neither performers nor source videos).
  fps: not stored; 30 assumed (YouTube video).
- ``jhmdb-ddnet``: J-HMDB ground-truth puppet joints as pickled by DD-Net (``GT_{train,test}_{1,2,3}``),
  the 609 clips of the 14 classes present, read once each. Units: J-HMDB's ``pos_world`` (the puppet's
  scale-normalised frame, y down), not pixels. Face -> nose; neck and belly dropped; eyes and ears
  missing; score 1. ``meta["splits"]`` {1: "train"/"test", ...} and ``meta["train"]`` (split 1). The
  pickles keep no video names (DD-Net lists the clips in directory order), so the film/title of a clip
  is known only up to the clips of its class with the same train/test pattern over the three official
  splits (``splits.zip``); no title has clips in two such groups, so ``meta["scene"]`` = that group
  ("<class>/<n>") keeps every title whole, and ``meta["scene_titles"]`` lists the titles it may be (one
  title, with ``meta["video"]`` the file name, for the few groups of one clip). A title shared by
  several classes (a feature film) is not joined across them. fps: 30 assumed (HMDB51 clips).
- ``berkeley-mhad-2d``: MMPose COCO-17 pixels of Berkeley MHAD RGB (640 x 480), 3 subjects x 11 actions
  x 5 repetitions = 165; scores were dropped upstream, so present keypoints score 1 and frames where no
  person was found (all zeros) are empty. fps 22 (Berkeley MHAD's cameras; the README's figure).
- ``utd-mhad-openpose``: OpenPose COCO-18 (drop the neck) of UTD-MHAD RGB video, 195 trials, 7 actions,
  8 subjects. Units: the upstream script's normalisation (neck at the origin, shoulder-to-shoulder
  distance 1, y down), not pixels; score 1. Frames where any keypoint fell under OpenPose's threshold
  were skipped upstream, so rows are not evenly timed: fps None (the trials hold 0.74 (0.62-0.83) rows
  per Kinect frame of the same trial, ~22 a second). ``meta["pairing_key"]`` = ``a{A}_s{S}_t{T}`` = the
  stem of the paired Kinect skeleton in ``utd-mhad/Skeleton``; ``meta["action"]`` the UTD action number.
  ``selectedGesturesUTD/`` repeats 5 trials of ``poseCSVs/`` (identical values) and is skipped.
- ``pushfit-mediapipe``: MediaPipe Pose image landmarks of push-up videos, 265 clips, one class "push
  up"; ``meta["form"]`` "correct"/"wrong". Landmarks are scaled to 640 x 360 pixels (the size of the
  videos checked upstream); score = MediaPipe's visibility; frames with no person are empty. fps 25.
- ``md4fd-mediapipe-falls``: MD4FD 3-s windows (90 frames) of MediaPipe Holistic landmarks from UR Fall
  and Le2i, labelled "daily activity" / "falling": ``URFD_normalized.json`` (201; its normalisation only
  rescales the body aspect ratio, the coordinates are raw) and ``le2i_home_01/02.json`` (18 + 49);
  ``ur_fall_FALL.json`` is skipped (its 35 windows are the falls of ``URFD_normalized.json``, identical
  coordinates). 11 points: nose, shoulders, hips, knees, ankles, wrists (from the hand models; [0, 0] =
  hand not found = missing); eyes, ears and elbows missing. Scaled to pixels of UR Fall (640 x 480) and
  Le2i (320 x 240) video; score 1. Consecutive windows overlap by 75 frames: ``meta["scene"]`` is the
  source file, keep a file's windows on one side of a split. fps 30 (the extractor's ``cam_fps``).

A file that cannot be read raises ``DataError`` (a ``UserError``) naming it and the fix; in a folder of
per-clip files a broken file is a note of the dataset and the rest is read.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dvta_live.errors import DataError
from dvta_live.skeleton import classnames as cn
from dvta_live.skeleton.coco17 import COCO17, NUM_KEYPOINTS, frames_to_coco_array, from_mediapipe
from dvta_live.skeleton.fileio import read_bytes, read_folder
from dvta_live.skeleton.readers import _ArrayUnpickler, _natural_key
from dvta_live.skeleton.sequence import SkeletonDataset, SkeletonSequence

_K = COCO17.index
PENN_FPS = 30.0
JHMDB_FPS = 30.0
BERKELEY_MHAD_FPS = 22.0
PUSHFIT_FPS = 25.0
MD4FD_FPS = 30.0
PUSHFIT_IMAGE_SIZE = (640, 360)
MD4FD_IMAGE_SIZE = {"ur-fall": (640, 480), "le2i": (320, 240)}


def _sequence(frames: np.ndarray, **kwargs) -> SkeletonSequence:
    """[T, 17, 3] one body's keypoints -> a sequence (slot 1 empty)."""
    return SkeletonSequence(data=frames_to_coco_array(frames[:, None]), **kwargs)


def _keypoints(t: int) -> np.ndarray:
    return np.zeros((t, NUM_KEYPOINTS, 3), dtype=np.float32)


def _check_finite(values: np.ndarray, path: Path) -> np.ndarray:
    if not np.isfinite(values).all():
        raise DataError("the file holds NaN or infinite coordinates", path, "re-download it, or leave it out")
    return values


def _need_folder(folder: Path, what: str, fix: str) -> None:
    if not folder.is_dir():
        raise DataError(f"not a folder ({what} expected)", folder, fix)


# --- Penn Action -----------------------------------------------------------------------------------------

PENN_ACTION_CODES: tuple[str, ...] = (
    "baseball_pitch", "baseball_swing", "bench_press", "bowl", "clean_and_jerk", "golf_swing", "jump_rope",
    "jumping_jacks", "pullup", "pushup", "situp", "squat", "strum_guitar", "tennis_forehand", "tennis_serve",
)
_PENN_NAMES = {"bowl": "bowling", "pullup": "pull up", "pushup": "push up", "situp": "sit up"}
PENN_ACTION_CLASSES: tuple[str, ...] = tuple(_PENN_NAMES.get(c, c.replace("_", " ")) for c in PENN_ACTION_CODES)
# COCO index of each of Penn's 13 columns, sides as measured (see the module docstring): column 1 is the
# subject's right shoulder, column 2 the left one, and so on.
_PENN_TO_COCO = (_K("nose"), *(_K(f"{s}_{j}") for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
                               for s in ("right", "left")))


def read_penn_action_mat(path: str | Path) -> SkeletonSequence:
    """One Penn Action ``labels/NNNN.mat`` -> a labelled sequence (see the module docstring)."""
    import scipy.io

    path = Path(path)
    read_bytes(path)
    fix = "re-download the Penn Action labels (labels/NNNN.mat from the dataset's archive)"
    try:
        mat = scipy.io.loadmat(str(path), squeeze_me=True)
    except Exception as exc:  # noqa: BLE001 - scipy raises many types for a damaged file
        raise DataError(f"not a readable MATLAB file ({type(exc).__name__}: {exc})", path, fix) from None
    missing = [k for k in ("action", "x", "y", "visibility", "train", "pose") if k not in mat]
    if missing:
        raise DataError(f"no {', '.join(missing)} in the file (not a Penn Action label file)", path, fix)
    x, y, vis = (np.atleast_2d(np.asarray(mat[k], dtype=np.float64)) for k in ("x", "y", "visibility"))
    if x.shape[-1] != 13 or x.shape != y.shape or x.shape != vis.shape:
        raise DataError(f"x, y, visibility have shapes {list(x.shape)}, {list(y.shape)}, {list(vis.shape)}; "
                        "expected [frames, 13] each", path, fix)
    _check_finite(np.stack([x, y]), path)
    action = str(mat["action"])
    if action not in PENN_ACTION_CODES:
        raise DataError(f"unknown action {action!r}", path, f"Penn Action's classes are {', '.join(PENN_ACTION_CODES)}")
    kp = _keypoints(len(x))
    kp[:, _PENN_TO_COCO] = np.stack([x, y, np.clip(vis, 0.0, 1.0)], axis=-1)
    meta: dict = {"train": int(mat["train"]) == 1, "view": str(mat["pose"]), "scene": path.stem,
                  "action_code": action}
    if "bbox" in mat:
        meta["bbox"] = np.atleast_2d(np.asarray(mat["bbox"], dtype=np.float32))
    if "dimensions" in mat and np.size(mat["dimensions"]) >= 2:
        h, w = (int(v) for v in np.ravel(mat["dimensions"])[:2])
        meta["image_size"] = (w, h)
    return _sequence(kp, label=PENN_ACTION_CODES.index(action), name=path.stem, source=str(path),
                     fps=PENN_FPS, meta=meta)


def read_penn_action(folder: str | Path) -> SkeletonDataset:
    """Penn Action's ``labels/`` folder or the dataset root: 2,326 clips, 15 classes."""
    folder = Path(folder)
    labels = folder / "labels" if (folder / "labels").is_dir() else folder
    _need_folder(labels, "Penn Action's labels/ folder", "pass the Penn Action folder holding labels/")
    files = sorted(labels.glob("*.mat"), key=_natural_key)
    notes: list[str] = ["units: image pixels; sides measured swapped against the Penn README (see readers2d)"]
    sequences = read_folder(files, read_penn_action_mat, labels, notes)
    return SkeletonDataset("penn-action", PENN_ACTION_CLASSES, tuple(sequences), tuple(notes))


# --- J-HMDB (DD-Net pickles) ----------------------------------------------------------------------------

JHMDB_CODES: tuple[str, ...] = (
    "brush_hair", "catch", "clap", "climb_stairs", "golf", "jump", "kick_ball", "pick", "pour", "pullup",
    "push", "run", "shoot_ball", "shoot_bow", "shoot_gun", "sit", "stand", "swing_baseball", "throw", "walk",
    "wave",
)
_JHMDB_NAMES = {"golf": "golf swing", "pick": "pick up", "pullup": "pull up", "sit": "sit down",
                "stand": "stand up", "swing_baseball": "baseball swing"}
# J-HMDB joint order: neck, belly, face, R shoulder, L shoulder, R hip, L hip, R elbow, L elbow, R knee,
# L knee, R wrist, L wrist, R ankle, L ankle (checked: the right wrist travels further in 85 % of the
# throw clips and 71 % of the wave clips). COCO index per column, -1 = dropped.
_JHMDB_TO_COCO = (-1, -1, _K("nose"), _K("right_shoulder"), _K("left_shoulder"), _K("right_hip"), _K("left_hip"),
                  _K("right_elbow"), _K("left_elbow"), _K("right_knee"), _K("left_knee"), _K("right_wrist"),
                  _K("left_wrist"), _K("right_ankle"), _K("left_ankle"))
_JHMDB_SPLIT = re.compile(r"(?:^|/)([a-z_]+)_test_split(\d)\.txt$")
_JHMDB_FLAG = {"1": "train", "2": "test"}


def _jhmdb_title(video: str, action: str) -> str:
    """``<title>_<action>_<body>_<camera>_<people>_<view>_<quality>_<n>.avi`` -> title."""
    head = video.removesuffix(".avi").rsplit("_", 6)[0]
    return head.removesuffix(f"_{action}")


def _jhmdb_split_files(path: Path) -> dict[tuple[str, str], dict[int, str]]:
    """(class, video) -> {split: "train"/"test"} from J-HMDB's ``splits.zip``."""
    fix = "re-download J-HMDB's splits (the 63 <class>_test_split<n>.txt files, zipped)"
    out: dict[tuple[str, str], dict[int, str]] = defaultdict(dict)
    try:
        with zipfile.ZipFile(path) as z:
            for member in z.namelist():
                m = _JHMDB_SPLIT.search(member)
                if not m:
                    continue
                action, split = m.group(1), int(m.group(2))
                for line in z.read(member).decode("utf-8", errors="replace").splitlines():
                    parts = line.split()
                    if len(parts) == 2 and parts[1] in _JHMDB_FLAG:
                        out[(action, parts[0])][split] = _JHMDB_FLAG[parts[1]]
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read the zip ({exc})", path, fix) from None
    if not out:
        raise DataError("no <class>_test_split<n>.txt lists in the zip", path, fix)
    return out


def _jhmdb_load(path: Path) -> tuple[list[np.ndarray], list[str]]:
    fix = "expected DD-Net's JHMDB pickle: {'pose': [(T, 15, 2) arrays], 'label': [class names]}"
    try:
        with path.open("rb") as fh:
            obj = _ArrayUnpickler(fh).load()
    except Exception as exc:  # noqa: BLE001 - pickle raises many types for a foreign file
        raise DataError(f"cannot read the pickle ({type(exc).__name__}: {exc})", path, fix) from None
    if not isinstance(obj, dict) or "pose" not in obj or "label" not in obj \
            or len(obj["pose"]) != len(obj["label"]):
        raise DataError("not a dict of equally long 'pose' and 'label' lists", path, fix)
    poses = []
    for i, (pose, label) in enumerate(zip(obj["pose"], obj["label"], strict=True)):
        pose = np.asarray(pose, dtype=np.float64)
        if pose.ndim != 3 or pose.shape[1:] != (15, 2) or len(pose) == 0:
            raise DataError(f"clip {i} has shape {list(pose.shape)}, expected [T, 15, 2]", path, fix)
        if str(label) not in JHMDB_CODES:
            raise DataError(f"clip {i} has the unknown class {label!r}", path, fix)
        poses.append(_check_finite(pose, path))
    return poses, [str(label) for label in obj["label"]]


def read_jhmdb(folder: str | Path) -> SkeletonDataset:
    """DD-Net's J-HMDB folder (``GT_{train,test}_{1,2,3}.pkl``, ``splits.zip``): the 609 clips once each,
    split membership and scene groups in ``meta`` (see the module docstring)."""
    folder = Path(folder)
    _need_folder(folder, "DD-Net's JHMDB folder", "pass the folder holding GT_train_1.pkl")
    clips: dict[tuple, dict] = {}
    found = []
    for split in (1, 2, 3):
        for part in ("train", "test"):
            path = folder / f"GT_{part}_{split}.pkl"
            if not path.is_file():
                continue
            found.append(path.name)
            for pose, action in zip(*_jhmdb_load(path), strict=True):
                key = (action, pose.shape, pose.tobytes())
                clip = clips.setdefault(key, {"pose": pose, "action": action, "splits": {}, "source": path})
                clip["splits"][split] = part
    if not clips:
        raise DataError("no GT_{train,test}_{1,2,3}.pkl here", folder, "pass DD-Net's data/JHMDB folder")
    notes = [f"read {', '.join(found)}; units: J-HMDB pos_world (scale-normalised puppet frame), not pixels"]
    # scene groups: clips of a class with the same split pattern, matched to the split files' videos
    groups: dict[tuple, list[str]] = defaultdict(list)
    zpath = folder / "splits.zip"
    if zpath.is_file():
        for (action, video), splits in _jhmdb_split_files(zpath).items():
            groups[(action, tuple(sorted(splits.items())))].append(video)
    else:
        notes.append("no splits.zip: no scene groups (meta['scene'] is None)")
    split_ids = sorted({s for c in clips.values() for s in c["splits"]})
    by_group: dict[tuple, list[dict]] = defaultdict(list)
    for clip in clips.values():
        pattern = tuple((s, clip["splits"][s]) for s in split_ids if s in clip["splits"])
        by_group[(clip["action"], pattern)].append(clip)
    scene_of: dict[int, tuple[str | None, tuple[str, ...], str | None]] = {}
    counters: Counter[str] = Counter()
    mismatched = 0
    for (action, pattern), members in sorted(by_group.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        videos = sorted(v for (a, pat), vs in groups.items() if a == action
                        and tuple(p for p in pat if p[0] in split_ids) == pattern for v in vs)
        if groups and len(videos) != len(members):
            mismatched += len(members)
            videos = []
        counters[action] += 1
        scene = f"{action}/{counters[action]}" if videos else None
        titles = tuple(sorted({_jhmdb_title(v, action) for v in videos}))
        for clip in members:
            scene_of[id(clip)] = (scene, titles, videos[0] if len(videos) == 1 else None)
    if mismatched:
        notes.append(f"{mismatched} clip(s) match no split-file group of the same size: no scene for them")
    present = sorted({c["action"] for c in clips.values()})
    classes = tuple(_JHMDB_NAMES.get(a, a.replace("_", " ")) for a in present)
    sequences = []
    for i, clip in enumerate(clips.values()):
        pose = clip["pose"]
        kp = _keypoints(len(pose))
        cols = [c for c, k in enumerate(_JHMDB_TO_COCO) if k >= 0]
        kp[:, [_JHMDB_TO_COCO[c] for c in cols], :2] = pose[:, cols]
        kp[:, [_JHMDB_TO_COCO[c] for c in cols], 2] = 1.0
        scene, titles, video = scene_of[id(clip)]
        meta = {"splits": dict(sorted(clip["splits"].items())), "train": clip["splits"].get(1) == "train",
                "scene": scene, "scene_titles": titles, "video": video, "action_code": clip["action"],
                "units": "jhmdb_pos_world"}
        name = f"jhmdb_{clip['action']}_{i:03d}"
        sequences.append(_sequence(kp, label=present.index(clip["action"]), name=name,
                                   source=str(clip["source"]), fps=JHMDB_FPS, meta=meta))
    return SkeletonDataset("jhmdb", classes, tuple(sequences), tuple(notes))


# --- Berkeley MHAD (MMPose COCO-17) -----------------------------------------------------------------------

BERKELEY_MHAD_CLASSES: tuple[str, ...] = (
    "jumping in place", "jumping jacks", "bending (hands up all the way down)", "punching (boxing)",
    "waving two hands", "waving one hand (right)", "clapping hands", "throwing a ball",
    "sit down then stand up", "sit down", "stand up",
)
_BERKELEY_PATH = re.compile(r"s(\d+)/a(\d+)/r(\d+)/x\.csv$")


def _read_csv(path: Path, columns: int, fix: str) -> np.ndarray:
    raw = read_bytes(path).decode("utf-8", errors="replace")
    try:
        values = np.loadtxt(raw.splitlines(), delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError as exc:
        raise DataError(f"not a comma-separated table of numbers ({exc})", path, fix) from None
    if values.shape[1] != columns:
        raise DataError(f"{values.shape[1]} numbers a row, expected {columns}", path, fix)
    return _check_finite(values, path)


def read_berkeley_mhad_csv(path: str | Path) -> SkeletonSequence:
    """One ``coordinates/sSS/aAA/rRR/x.csv`` (a row a frame: COCO-17 x, y pixels) -> a sequence."""
    path = Path(path)
    m = _BERKELEY_PATH.search(path.as_posix())
    fix = "keep the coordinates/sSS/aAA/rRR/x.csv layout of the export (34 numbers a row)"
    if not m:
        raise DataError("the path does not end in sSS/aAA/rRR/x.csv", path, fix)
    subject, action, rep = (int(g) for g in m.groups())
    if not 1 <= action <= len(BERKELEY_MHAD_CLASSES):
        raise DataError(f"action a{action:02d} is not one of a01-a11", path, fix)
    xy = _read_csv(path, 2 * NUM_KEYPOINTS, fix).reshape(-1, NUM_KEYPOINTS, 2)
    kp = _keypoints(len(xy))
    kp[..., :2] = xy
    kp[..., 2] = np.any(xy != 0, axis=-1)  # (0, 0): no person found in the frame
    return _sequence(kp, label=action - 1, name=f"s{subject:02d}_a{action:02d}_r{rep:02d}", source=str(path),
                     fps=BERKELEY_MHAD_FPS, subject=subject, meta={"repetition": rep, "image_size": (640, 480)})


def read_berkeley_mhad_2d(folder: str | Path) -> SkeletonDataset:
    """The Berkeley MHAD 2-D export (``coordinates/`` or its parent): 165 sequences, 11 classes."""
    folder = Path(folder)
    root = folder / "coordinates" if (folder / "coordinates").is_dir() else folder
    _need_folder(root, "the coordinates/ folder", "pass the folder holding coordinates/sSS/aAA/rRR/x.csv")
    files = sorted(root.glob("s*/a*/r*/x.csv"))
    notes: list[str] = ["units: image pixels (640 x 480); scores dropped upstream, present keypoints score 1"]
    sequences = read_folder(files, read_berkeley_mhad_csv, root, notes)
    return SkeletonDataset("berkeley-mhad-2d", BERKELEY_MHAD_CLASSES, tuple(sequences), tuple(notes))


# --- UTD-MHAD (OpenPose COCO-18) --------------------------------------------------------------------------

# OpenPose COCO-18: nose, neck, R sho, R elb, R wri, L sho, L elb, L wri, R hip, R knee, R ank, L hip,
# L knee, L ank, R eye, L eye, R ear, L ear -> COCO index (-1: the neck, dropped).
_OPENPOSE18_TO_COCO = (_K("nose"), -1, _K("right_shoulder"), _K("right_elbow"), _K("right_wrist"),
                       _K("left_shoulder"), _K("left_elbow"), _K("left_wrist"), _K("right_hip"), _K("right_knee"),
                       _K("right_ankle"), _K("left_hip"), _K("left_knee"), _K("left_ankle"), _K("right_eye"),
                       _K("left_eye"), _K("right_ear"), _K("left_ear"))
_UTD_TRIAL = re.compile(r"^a(\d+)_s(\d+)_t(\d+)", re.IGNORECASE)
UTD_OPENPOSE_ACTIONS: tuple[int, ...] = (1, 6, 7, 8, 9, 24, 26)
UTD_OPENPOSE_CLASSES: tuple[str, ...] = tuple(cn.UTD_MHAD_CLASSES[a - 1] for a in UTD_OPENPOSE_ACTIONS)


def read_utd_openpose_csv(path: str | Path) -> SkeletonSequence:
    """One ``aA_sS_tT_color.avi.csv`` (a row a frame: 18 OpenPose x, y, normalised) -> a sequence."""
    path = Path(path)
    m = _UTD_TRIAL.match(path.name)
    fix = "keep the aA_sS_tT_color.avi.csv names and the 36 numbers a row of PoseFromVideo.py"
    if not m:
        raise DataError("the name does not start with aA_sS_tT", path, fix)
    action, subject, trial = (int(g) for g in m.groups())
    if action not in UTD_OPENPOSE_ACTIONS:
        raise DataError(f"action a{action} is not one of the OpenPose export's {UTD_OPENPOSE_ACTIONS}", path, fix)
    xy = _read_csv(path, 36, fix).reshape(-1, 18, 2)
    kp = _keypoints(len(xy))
    cols = [c for c, k in enumerate(_OPENPOSE18_TO_COCO) if k >= 0]
    kp[:, [_OPENPOSE18_TO_COCO[c] for c in cols], :2] = xy[:, cols]
    kp[:, [_OPENPOSE18_TO_COCO[c] for c in cols], 2] = 1.0
    key = f"a{action}_s{subject}_t{trial}"
    return _sequence(kp, label=UTD_OPENPOSE_ACTIONS.index(action), name=key, source=str(path), fps=None,
                     subject=subject, meta={"pairing_key": key, "action": action, "trial": trial,
                                            "units": "openpose_shoulder_widths"})


def read_utd_mhad_openpose(folder: str | Path) -> SkeletonDataset:
    """The UTD-MHAD OpenPose export (``poseCSVs/`` and ``posesSubject1/``): 195 trials, 7 classes."""
    folder = Path(folder)
    _need_folder(folder, "the UTD-MHAD OpenPose folder", "pass the folder holding poseCSVs/")
    files = [p for sub in ("poseCSVs", "posesSubject1") for p in sorted((folder / sub).glob("*.csv"))]
    if not files:
        files = sorted(folder.glob("a*_s*_t*.csv"))
    seen: set[str] = set()
    unique = []
    for f in sorted(files, key=_natural_key):
        stem = f.name.split("_color")[0].lower()
        if stem not in seen:
            seen.add(stem)
            unique.append(f)
    notes: list[str] = [("units: neck at the origin, shoulder-to-shoulder distance 1 (upstream normalisation), "
                        "not pixels; rows of frames where OpenPose missed a keypoint were skipped upstream")]
    if len(unique) < len(files):
        notes.append(f"{len(files) - len(unique)} duplicate trial file(s) skipped")
    sequences = read_folder(unique, read_utd_openpose_csv, folder, notes)
    return SkeletonDataset("utd-mhad-openpose", UTD_OPENPOSE_CLASSES, tuple(sequences), tuple(notes))


# --- push-ups (MediaPipe) ---------------------------------------------------------------------------------

def read_pushfit(path: str | Path) -> SkeletonDataset:
    """``mediapipe_pushups.npz`` (or its folder): 265 push-up clips, form correct/wrong in ``meta``."""
    path = Path(path)
    if path.is_dir():
        path = path / "mediapipe_pushups.npz"
    read_bytes(path)
    fix = "expected mediapipe_pushups.npz: clip name -> float32 (T, 33, 4) MediaPipe x, y, z, visibility"
    try:
        npz = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - np.load raises many types for a foreign file
        raise DataError(f"cannot read the npz ({type(exc).__name__}: {exc})", path, fix) from None
    width, height = PUSHFIT_IMAGE_SIZE
    sequences = []
    with npz:
        for key in sorted(npz.files, key=lambda k: [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", k)]):
            arr = npz[key]
            if arr.ndim != 3 or arr.shape[1:] != (33, 4) or len(arr) == 0:
                raise DataError(f"clip {key!r} has shape {list(arr.shape)}, expected [T, 33, 4]", path, fix)
            form = re.sub(r"\d+$", "", key)
            kp = from_mediapipe(arr[..., :2], width, height, visibility=arr[..., 3])
            sequences.append(_sequence(kp, label=0, name=key, source=str(path), fps=PUSHFIT_FPS,
                                       meta={"form": form, "image_size": PUSHFIT_IMAGE_SIZE}))
    if not sequences:
        raise DataError("the npz holds no clips", path, fix)
    notes = ("units: pixels of a 640 x 360 frame (MediaPipe's normalised landmarks scaled)",)
    return SkeletonDataset("pushfit-mediapipe", ("push up",), tuple(sequences), notes)


# --- MD4FD falls (MediaPipe Holistic, 11 points) ----------------------------------------------------------

MD4FD_CLASSES: tuple[str, ...] = ("daily activity", "falling")
# landmark_extractor.py order: front_face (pose 0), L/R shoulder, L/R hip, L/R knee, R ankle, L ankle,
# L wrist, R wrist (hand models' wrists), then the body aspect ratio.
_MD4FD_TO_COCO = (_K("nose"), _K("left_shoulder"), _K("right_shoulder"), _K("left_hip"), _K("right_hip"),
                  _K("left_knee"), _K("right_knee"), _K("right_ankle"), _K("left_ankle"), _K("left_wrist"),
                  _K("right_wrist"))
MD4FD_FILES: dict[str, str] = {"URFD_normalized.json": "ur-fall", "le2i_home_01.json": "le2i",
                               "le2i_home_02.json": "le2i"}
MD4FD_SKIPPED = {"ur_fall_FALL.json": "its 35 windows are the falls of URFD_normalized.json (same coordinates)"}


def read_md4fd_json(path: str | Path, camera: str | None = None) -> list[SkeletonSequence]:
    """One MD4FD window file (a JSON list of 90 frames of 23 numbers + a 0/1 label) -> its windows.
    ``camera`` ("ur-fall" or "le2i") picks the pixel size; default from the file name."""
    path = Path(path)
    fix = "expected an MD4FD JSON list of windows: frames of 23 numbers (11 x, y pairs + BAR), then a 0/1 label"
    camera = camera or MD4FD_FILES.get(path.name) or ("le2i" if "le2i" in path.name.lower() else "ur-fall")
    if camera not in MD4FD_IMAGE_SIZE:
        raise ValueError(f"camera must be one of {sorted(MD4FD_IMAGE_SIZE)}, got {camera!r}")
    try:
        windows = json.loads(read_bytes(path))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"not valid JSON ({exc})", path, fix) from None
    if not isinstance(windows, list) or not windows:
        raise DataError("not a non-empty JSON list", path, fix)
    width, height = MD4FD_IMAGE_SIZE[camera]
    sequences = []
    for i, window in enumerate(windows):
        if not isinstance(window, list) or len(window) < 2 or window[-1] not in (0, 1):
            raise DataError(f"window {i} is not frames followed by a 0/1 label", path, fix)
        frames = window[:-1]
        if any(not isinstance(f, list) or len(f) != 23 for f in frames):
            raise DataError(f"window {i} has a frame that is not 23 numbers", path, fix)
        try:
            xy = np.array([[np.nan if v is None else v for v in f[:22]] for f in frames], dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"window {i} holds something that is not a number", path, fix) from None
        xy = xy.reshape(-1, 11, 2)
        kp = _keypoints(len(xy))
        kp[:, list(_MD4FD_TO_COCO), :2] = xy * np.array([width, height])
        found = np.isfinite(xy).all(axis=-1) & np.any(xy != 0, axis=-1)  # [0, 0]: a hand not found
        kp[:, list(_MD4FD_TO_COCO), 2] = found
        sequences.append(_sequence(kp, label=int(window[-1]), name=f"{path.stem}_{i:03d}", source=str(path),
                                   fps=MD4FD_FPS, meta={"scene": path.stem, "window": i, "camera": camera,
                                                        "image_size": (width, height)}))
    return sequences


def read_md4fd(folder: str | Path) -> SkeletonDataset:
    """The MD4FD folder: 268 windows (201 UR Fall + 67 Le2i), "daily activity" / "falling"."""
    folder = Path(folder)
    _need_folder(folder, "the MD4FD folder", "pass the folder holding URFD_normalized.json")
    files = [folder / n for n in MD4FD_FILES if (folder / n).is_file()]
    if not files:
        raise DataError(f"none of {', '.join(MD4FD_FILES)} here", folder, "pass the MD4FD folder")
    notes = [("11 points (nose, shoulders, hips, knees, ankles, wrists); eyes, ears and elbows missing; "
             "windows overlap by 75 of 90 frames within a file (meta['scene'])")]
    notes += [f"skipped {n}: {why}" for n, why in MD4FD_SKIPPED.items() if (folder / n).is_file()]
    sequences: list[SkeletonSequence] = []
    for f in files:
        try:
            sequences.extend(read_md4fd_json(f))
        except DataError as exc:
            notes.append(f"skipped {f.name}: {exc}")
    if not sequences:
        raise DataError("no readable MD4FD window file", folder, "re-download URFD_normalized.json")
    return SkeletonDataset("md4fd-falls", MD4FD_CLASSES, tuple(sequences), tuple(notes))


# --- dispatch ----------------------------------------------------------------------------------------------

REAL2D_READERS: dict[str, Callable[[str | Path], SkeletonDataset]] = {
    "penn-action": read_penn_action,
    "jhmdb-ddnet": read_jhmdb,
    "berkeley-mhad-2d": read_berkeley_mhad_2d,
    "utd-mhad-openpose": read_utd_mhad_openpose,
    "pushfit-mediapipe": read_pushfit,
    "md4fd-mediapipe-falls": read_md4fd,
}
REAL2D_DATASETS: tuple[str, ...] = tuple(REAL2D_READERS)  # the folder names under data/real-video-2d


def _detect(folder: Path) -> str | None:
    """The dataset a folder under another name holds, from its files."""
    checks = (("penn-action", lambda f: any((f / "labels").glob("*.mat"))),
              ("jhmdb-ddnet", lambda f: any(f.glob("GT_*_*.pkl"))),
              ("berkeley-mhad-2d", lambda f: any(f.glob("coordinates/s*/a*/r*/x.csv"))),
              ("utd-mhad-openpose", lambda f: any(f.glob("poseCSVs/*.csv"))),
              ("pushfit-mediapipe", lambda f: (f / "mediapipe_pushups.npz").is_file()),
              ("md4fd-mediapipe-falls", lambda f: any((f / n).is_file() for n in MD4FD_FILES)))
    return next((name for name, check in checks if check(folder)), None)


def read_real2d(name_or_folder: str | Path, root: str | Path | None = None) -> SkeletonDataset:
    """One dataset of ``REAL2D_DATASETS``: a folder (dispatched by its name, else by its files), or a
    dataset name looked up under ``root`` (e.g. ``../shared/data/real-video-2d``)."""
    path = Path(name_or_folder)
    if not path.exists() and root is not None and str(name_or_folder) in REAL2D_READERS:
        path = Path(root) / str(name_or_folder)
    fix = f"pass one of the folders {', '.join(REAL2D_DATASETS)} (or a dataset name with root=...)"
    if not path.exists():
        raise DataError("no such file or folder", path, fix)
    if path.is_file() and path.suffix == ".npz":
        return read_pushfit(path)
    kind = path.name if path.name in REAL2D_READERS else _detect(path) if path.is_dir() else None
    if kind is None:
        raise DataError("not one of the 2-D keypoint datasets this reads", path, fix)
    return REAL2D_READERS[kind](path)


__all__ = [
    "BERKELEY_MHAD_CLASSES", "MD4FD_CLASSES", "PENN_ACTION_CLASSES", "REAL2D_DATASETS", "REAL2D_READERS",
    "UTD_OPENPOSE_CLASSES", "read_berkeley_mhad_2d", "read_berkeley_mhad_csv", "read_jhmdb", "read_md4fd",
    "read_md4fd_json", "read_penn_action", "read_penn_action_mat", "read_pushfit", "read_real2d",
    "read_utd_mhad_openpose", "read_utd_openpose_csv",
]
