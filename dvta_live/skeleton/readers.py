"""Readers for the skeleton datasets users hold. Every reader returns NTU-25 joints as float32
[3, T, 25, 2] in NTU camera axes (metres, x to the subject's right, y up, z away from the camera).

Axis conventions, checked on the data in ../shared (tests/test_readers.py keeps the checks):

- NTU RGB+D: Kinect v2 camera space, already the target convention.
- UTD-MHAD, NW-UCLA, MSR Action3D: Kinect v1 skeleton space, metres, y up, z = 2.5-3.5 m away, and the
  subject's right at larger x (UTD's "right arm" classes move the joints its joint-order file calls
  right, and those sit at larger x). So only the joint order changes, no axis flip.
- MSR Action3D: in the one-limb classes (a01-a07 arm, a14/a15 kicks; the protocol asked subjects to use
  their right limb) the limb that moves is rows 10/12/18, at larger x: layouts.MSR_ACTION3D names the
  rows by the subject's sides accordingly (its release notes name them from the sensor's view).
- Preprocessed NTU arrays keep NTU axes except 2s-AGCN's ``pre_normalization`` output (spine along +z),
  which is detected and rotated back (y = z', z = -y').

- Motion capture (BVH, CMU ASF/AMC): forward kinematics and retargeting to NTU-25 in mocap.py, turned to
  face the camera; see that module for the joint mapping, units and the CMU segment labels.

NTU body selection follows 2s-AGCN / MS-G3D ``data_gen/ntu_gendata.py`` ``read_xyz``: bodies fill up to
4 slots in their order within each frame, and the 2 slots with the largest spread over their non-zero
frames (sum over x, y, z of the std over frames and joints, ``get_nonzero_std``) are kept, larger first.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import numpy as np

from dvta_live.errors import DataError
from dvta_live.skeleton import classnames as cn
from dvta_live.skeleton import mocap
from dvta_live.skeleton.convert import to_ntu25
from dvta_live.skeleton.fileio import (
    SUPPORTED_FORMATS,
    SUPPORTED_TEXT,
    find_files,
    is_empty,
    read_bytes,
    read_folder,
)
from dvta_live.skeleton.layouts import KINECT_V1, MSR_ACTION3D, UTD_MHAD, Layout
from dvta_live.skeleton.sequence import (
    MAX_BODIES,
    NUM_JOINTS,
    SkeletonDataset,
    SkeletonSequence,
    frames_to_sequence_array,
)
from dvta_live.skeleton.store import load_dataset

NTU_FPS = 30.0
UTD_MHAD_FPS = 30.0
MSR_ACTION3D_FPS = 15.0
_NTU_KINECT_SLOTS = 4  # 2s-AGCN max_body_kinect: bodies beyond the 4th in a frame are ignored

_NTU_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")
_UTD_NAME = re.compile(r"a(\d+)_s(\d+)_t(\d+)", re.IGNORECASE)
_NW_UCLA_NAME = re.compile(r"a(\d+)_s(\d+)_e(\d+)_v(\d+)", re.IGNORECASE)
_MSR_NAME = re.compile(r"a(\d+)_s(\d+)_e(\d+)", re.IGNORECASE)


# --- helpers ---------------------------------------------------------------------------------------------

def _kinect_v1_sequence(joints: np.ndarray, layout: Layout) -> np.ndarray:
    """[T, 20, 3] Kinect v1 joints (already NTU axes) -> [3, T, 25, 2] with the second body empty."""
    ntu = to_ntu25(joints.astype(np.float32, copy=False), layout)
    return frames_to_sequence_array(ntu[:, None])


def _finite(joints: np.ndarray, path: Path) -> np.ndarray:
    if not np.isfinite(joints).all():
        raise DataError("the file holds NaN or infinite joint coordinates", path,
                        "re-download it, or leave it out")
    return joints


def _ntu_classes(max_label: int) -> tuple[str, tuple[str, ...]]:
    return ("ntu60", cn.NTU60_CLASSES) if max_label < 60 else ("ntu120", cn.NTU120_CLASSES)


def _classes_from_txt(candidates: Sequence[Path], codes: Sequence[int], bundled: tuple[str, ...],
                      notes: list[str]) -> tuple[str, ...]:
    """Class names in ``codes`` order from the first readable classes.txt, else the bundled list."""
    for txt in candidates:
        if not txt.is_file():
            continue
        parsed = cn.read_classes_txt(txt)
        if parsed is not None and all(c in parsed for c in codes) and len(parsed) == len(codes):
            return tuple(parsed[c] for c in codes)
        notes.append(f"{txt} does not list the {len(codes)} expected classes; used the bundled names")
        break
    return bundled


# --- NTU RGB+D .skeleton -------------------------------------------------------------------------------

def _get_nonzero_std(body: np.ndarray) -> float:
    """2s-AGCN's body energy: per-channel std over the body's non-zero frames, summed. body [T, 25, 3]."""
    valid = body[np.abs(body).sum(axis=(1, 2)) != 0]
    if len(valid) == 0:
        return 0.0
    return float(sum(valid[:, :, c].std() for c in range(3)))


def read_ntu_skeleton(path: str | Path) -> SkeletonSequence:
    """One raw NTU RGB+D ``.skeleton`` text file -> a labelled sequence.

    Label = ``A###`` - 1, subject = ``P###`` (both from the file name; -1/None when it has none).
    ``meta["color_xy"]``: the colour-image joints (pixels in the 1920x1080 video) as float32
    [2, T, 25, 2] = (x/y, frame, joint, body), same bodies and order as ``data``; a body absent from a
    frame is zeros there. ``meta["tracking_state"]``: int8 [T, 25, 2] (0 not tracked, 1 inferred, 2 tracked).
    """
    path = Path(path)
    text = read_bytes(path).decode("ascii", errors="replace")
    lines = text.splitlines()
    fix = "the file looks truncated or is not an NTU RGB+D .skeleton file; re-download or re-extract it"

    def integer(i: int, what: str) -> int:
        if i >= len(lines):
            raise DataError(f"file ends at line {len(lines)} where the {what} was expected", path, fix)
        try:
            return int(lines[i].strip())
        except ValueError:
            found = lines[i][:40]
            raise DataError(f"line {i + 1} should be the {what}, found {found!r}", path, fix) from None

    num_frames = integer(0, "frame count")
    if num_frames <= 0:
        raise DataError(f"the frame count is {num_frames}", path, fix)
    i = 1
    joint_rows: list[str] = []  # all joint lines, parsed to floats in one go (fast)
    where: list[tuple[int, int]] = []  # (frame, slot) of each body's 25 rows
    body_counts = np.zeros(num_frames, dtype=np.int64)
    body_ids: set[str] = set()
    for t in range(num_frames):
        count = integer(i, f"body count of frame {t + 1}/{num_frames}")
        i += 1
        if count < 0:
            raise DataError(f"line {i}: negative body count {count}", path, fix)
        body_counts[t] = count
        for m in range(count):
            if i >= len(lines):
                raise DataError(f"file ends in frame {t + 1}/{num_frames} (body {m + 1} info missing)",
                                path, fix)
            body_ids.add(lines[i].split(maxsplit=1)[0] if lines[i].strip() else "")
            joints = integer(i + 1, f"joint count of frame {t + 1}, body {m + 1}")
            if joints != NUM_JOINTS:
                raise DataError(f"line {i + 2}: {joints} joints, NTU RGB+D bodies have 25", path, fix)
            i += 2
            if i + NUM_JOINTS > len(lines):
                raise DataError(f"file ends in frame {t + 1}/{num_frames} (body {m + 1} has "
                                f"{len(lines) - i} of 25 joint lines)", path, fix)
            if m < _NTU_KINECT_SLOTS:
                joint_rows.extend(lines[i:i + NUM_JOINTS])
                where.append((t, m))
            i += NUM_JOINTS
    tokens = " ".join(joint_rows).split()
    if len(tokens) != len(where) * NUM_JOINTS * 12:
        raise DataError("joint lines should hold 12 numbers each "
                        "(x y z depthX depthY colorX colorY 4 x orientation trackingState)", path, fix)
    try:
        values = np.array(tokens, dtype=np.float64).reshape(len(where), NUM_JOINTS, 12)
    except ValueError:
        raise DataError("a joint line holds something that is not a number", path, fix) from None
    _finite(values, path)

    slots = np.zeros((_NTU_KINECT_SLOTS, num_frames, NUM_JOINTS, 12), dtype=np.float64)
    if where:
        frames, slot = np.array(where).T
        slots[slot, frames] = values
    xyz = slots[..., 0:3]
    energy = np.array([_get_nonzero_std(b) for b in xyz])
    keep = np.argsort(-energy, kind="stable")[:MAX_BODIES]
    data = frames_to_sequence_array(np.transpose(xyz[keep], (1, 0, 2, 3)).astype(np.float32))
    color_xy = np.ascontiguousarray(np.transpose(slots[keep][..., 5:7], (3, 1, 2, 0)), dtype=np.float32)
    tracking = np.ascontiguousarray(np.transpose(slots[keep][..., 11], (1, 2, 0)), dtype=np.int8)

    match = _NTU_NAME.search(path.name)
    meta: dict = {
        "color_xy": color_xy,
        "tracking_state": tracking,
        "bodies_in_file": len(body_ids),
        "max_bodies_per_frame": int(body_counts.max()),
        "frames_without_body": int((body_counts == 0).sum()),
    }
    label, subject = -1, None
    if match:
        setup, camera, subject, replication, action = (int(g) for g in match.groups())
        label = action - 1
        meta.update(setup=setup, camera=camera, replication=replication)
    return SkeletonSequence(data=data, label=label, name=path.name.removesuffix(".skeleton"),
                            source=str(path), fps=NTU_FPS, subject=subject, meta=meta)


def read_ntu_folder(folder: str | Path) -> SkeletonDataset:
    """A folder of NTU ``.skeleton`` files (or a folder of such folders, e.g. the two NTU-120 parts)."""
    folder = Path(folder)
    files = find_files(folder, "*.skeleton")
    notes: list[str] = []
    sequences = read_folder(files, read_ntu_skeleton, folder, notes)
    unlabelled = [s.name for s in sequences if s.label < 0]
    if unlabelled:
        raise DataError(f"{len(unlabelled)} file name(s) lack the A### action code, e.g. {unlabelled[0]}",
                        folder, "keep NTU's SsssCcccPpppRrrrAaaa file names")
    name, classes = _ntu_classes(max(s.label for s in sequences))
    return SkeletonDataset(name, classes, tuple(sequences), tuple(notes))


# --- UTD-MHAD .mat --------------------------------------------------------------------------------------

def read_utd_mhad_mat(path: str | Path) -> SkeletonSequence:
    """One UTD-MHAD ``a#_s#_t#_skeleton.mat`` (key ``d_skel``, 20 x 3 x T) -> a labelled sequence."""
    import scipy.io

    path = Path(path)
    read_bytes(path)
    try:
        mat = scipy.io.loadmat(str(path), variable_names=["d_skel", "d_depth"])
    except Exception as exc:  # noqa: BLE001 - scipy raises many types for a damaged file
        raise DataError(f"not a readable MATLAB file ({type(exc).__name__}: {exc})", path,
                        "re-download or re-extract it") from None
    if "d_skel" not in mat:
        hint = "it is a UTD-MHAD depth file; pass the Skeleton/ folder" if "d_depth" in mat else \
            "UTD-MHAD skeleton files hold a d_skel variable"
        raise DataError("no d_skel variable in the file", path, hint)
    skel = np.asarray(mat["d_skel"])
    if skel.ndim != 3 or skel.shape[:2] != (20, 3) or skel.shape[2] == 0:
        raise DataError(f"d_skel has shape {list(skel.shape)}, expected [20, 3, frames]", path,
                        "re-download it from the UTD-MHAD site")
    joints = _finite(np.transpose(skel, (2, 0, 1)), path)
    match = _UTD_NAME.search(path.name)
    label, subject, meta = -1, None, {}
    if match:
        action, subject, trial = (int(g) for g in match.groups())
        label = action - 1
        meta["trial"] = trial
    return SkeletonSequence(data=_kinect_v1_sequence(joints, UTD_MHAD), label=label,
                            name=path.stem.removesuffix("_skeleton"), source=str(path),
                            fps=UTD_MHAD_FPS, subject=subject, meta=meta)


def read_utd_mhad(folder: str | Path) -> SkeletonDataset:
    """UTD-MHAD's Skeleton/ folder or the dataset root (27 classes, 8 subjects, 861 sequences)."""
    folder = Path(folder)
    skeleton_dir = folder / "Skeleton" if (folder / "Skeleton").is_dir() else folder
    files = sorted(skeleton_dir.glob("*_skeleton.mat"), key=_natural_key)
    notes: list[str] = []
    sequences = read_folder(files, read_utd_mhad_mat, skeleton_dir, notes)
    classes = _classes_from_txt([skeleton_dir / "classes.txt", skeleton_dir.parent / "classes.txt"],
                                range(1, len(cn.UTD_MHAD_CLASSES) + 1), cn.UTD_MHAD_CLASSES, notes)
    _check_labels(sequences, len(classes), skeleton_dir)
    return SkeletonDataset("utd-mhad", classes, tuple(sequences), tuple(notes))


# --- NW-UCLA JSON ---------------------------------------------------------------------------------------

def read_nw_ucla_json(path: str | Path) -> SkeletonSequence:
    """One NW-UCLA ``a##_s##_e##_v##.json`` ({file_name, skeletons [T, 20, 3], label 1..10})."""
    path = Path(path)
    raw = read_bytes(path)
    try:
        record = json.loads(raw)
        joints = np.asarray(record["skeletons"], dtype=np.float32)
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"not an NW-UCLA skeleton JSON ({type(exc).__name__}: {exc})", path,
                        "expected {file_name, skeletons [T,20,3], label}; re-download it") from None
    if joints.ndim != 3 or joints.shape[1:] != (20, 3) or joints.shape[0] == 0:
        raise DataError(f"skeletons has shape {list(joints.shape)}, expected [frames, 20, 3]", path,
                        "re-download it")
    _finite(joints, path)
    match = _NW_UCLA_NAME.search(path.name)
    code_label = -1
    subject, meta = None, {}
    if match:
        action, subject, repetition, view = (int(g) for g in match.groups())
        meta.update(view=view, repetition=repetition)
        if action in cn.NW_UCLA_ACTION_CODES:
            code_label = cn.NW_UCLA_ACTION_CODES.index(action)
    label = code_label
    if "label" in record:
        try:
            label = int(record["label"]) - 1  # the JSON labels are 1-based (1..10, classes.txt order)
        except (TypeError, ValueError):
            raise DataError(f"label {record['label']!r} is not a number", path, "re-download it") from None
        if code_label >= 0 and label != code_label:
            raise DataError(f"label {label + 1} disagrees with the file name's action a{action:02d}", path,
                            "re-download the file")
    return SkeletonSequence(data=_kinect_v1_sequence(joints, KINECT_V1), label=label,
                            name=str(record.get("file_name") or path.stem), source=str(path),
                            subject=subject, meta=meta)


def read_nw_ucla(folder: str | Path) -> SkeletonDataset:
    """NW-UCLA's all_sqe/ folder or the dataset root (10 classes, 10 subjects, 3 views, 1,484 sequences)."""
    folder = Path(folder)
    json_dir = folder / "all_sqe" if (folder / "all_sqe").is_dir() else folder
    files = sorted(p for p in json_dir.glob("*.json") if _NW_UCLA_NAME.match(p.name))
    notes: list[str] = []
    sequences = read_folder(files, read_nw_ucla_json, json_dir, notes)
    classes = _classes_from_txt([json_dir / "classes.txt", json_dir.parent / "classes.txt"],
                                cn.NW_UCLA_ACTION_CODES, cn.NW_UCLA_CLASSES, notes)
    _check_labels(sequences, len(classes), json_dir)
    return SkeletonDataset("nw-ucla", classes, tuple(sequences), tuple(notes))


# --- MSR Action3D text ----------------------------------------------------------------------------------

def read_msr_action3d_txt(path: str | Path) -> SkeletonSequence:
    """One MSR Action3D ``a##_s##_e##_skeleton3D.txt`` (20 rows of ``x y z confidence`` per frame)."""
    path = Path(path)
    text = read_bytes(path).decode("ascii", errors="replace")
    try:
        values = np.array(text.split(), dtype=np.float32)
    except ValueError:
        fix = "MSR Action3D skeleton3D files hold 20 rows of 'x y z confidence' per frame"
        raise DataError("holds something that is not a number", path, fix) from None
    if values.size % 80:
        raise DataError(f"{values.size} numbers is not a whole number of frames (80 per frame)", path,
                        "the file looks truncated; re-download it")
    rows = _finite(values.reshape(-1, 20, 4), path)
    match = _MSR_NAME.search(path.name)
    label, subject, meta = -1, None, {}
    if match:
        action, subject, repetition = (int(g) for g in match.groups())
        label = action - 1
        meta["repetition"] = repetition
    name = path.stem.removesuffix("_skeleton3D")
    return SkeletonSequence(data=_kinect_v1_sequence(rows[..., :3], MSR_ACTION3D), label=label,
                            name=name, source=str(path), fps=MSR_ACTION3D_FPS, subject=subject, meta=meta)


def read_msr_action3d(folder: str | Path) -> SkeletonDataset:
    """MSR Action3D's skeleton3D/ folder or the dataset root (20 classes, 10 subjects, 567 sequences)."""
    folder = Path(folder)
    txt_dir = folder / "skeleton3D" if (folder / "skeleton3D").is_dir() else folder
    all_files = sorted(txt_dir.glob("*_skeleton3D*.txt"))
    files = [p for p in all_files if p.name.endswith("_skeleton3D.txt")]
    notes: list[str] = []
    if len(all_files) > len(files):
        notes.append(f"left out {len(all_files) - len(files)} *_seg.txt files: they are segments of "
                     "sequences already read, not separate sequences")
    sequences = read_folder(files, read_msr_action3d_txt, txt_dir, notes)
    classes = _classes_from_txt([txt_dir / "classes.txt", txt_dir.parent / "classes.txt"],
                                range(1, len(cn.MSR_ACTION3D_CLASSES) + 1), cn.MSR_ACTION3D_CLASSES, notes)
    _check_labels(sequences, len(classes), txt_dir)
    return SkeletonDataset("msr-action3d", classes, tuple(sequences), tuple(notes))


# --- preprocessed NTU arrays ----------------------------------------------------------------------------

class _ArrayUnpickler(pickle.Unpickler):
    """Label pickles hold lists, strings and numbers; refuse anything that could run code."""

    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy", "dtype"), ("numpy", "ndarray"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("builtins", "list"), ("builtins", "tuple"), ("builtins", "dict"), ("builtins", "set"),
    }

    def find_class(self, module: str, name: str):  # type: ignore[no-untyped-def]
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _load_labels(path: Path, n: int) -> tuple[list[str] | None, np.ndarray]:
    """(sample names or None, labels [n]) from an AimCLR/2s-AGCN ``*_label.pkl`` or a ``*_label.npy``."""
    fix = "expected a pickle of (sample_names, labels) as written by the AimCLR/2s-AGCN gendata scripts"
    names: list[str] | None = None
    try:
        if path.suffix == ".npy":
            labels = np.load(path, allow_pickle=False)
        else:
            with path.open("rb") as fh:
                obj = _ArrayUnpickler(fh).load()
            if isinstance(obj, (tuple, list)) and len(obj) == 2 and len(obj[0]) == len(obj[1]) \
                    and not np.isscalar(obj[0]):
                names, labels = [str(x) for x in obj[0]], obj[1]
            else:
                labels = obj
        labels = np.asarray(labels).reshape(-1)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - pickle/np.load raise many types for a foreign file
        raise DataError(f"cannot read the labels ({type(exc).__name__}: {exc})", path, fix) from None
    if labels.dtype.kind not in "iuf" or len(labels) != n:
        raise DataError(f"{len(labels)} labels of type {labels.dtype} for {n} sequences", path, fix)
    return names, labels.astype(np.int64)


def _valid_lengths(batch: np.ndarray) -> np.ndarray:
    """Frames up to the last non-zero one, per sequence of [n, 3, T, 25, M] (padding is trailing zeros)."""
    nonzero = np.abs(batch).max(axis=(1, 3, 4)) > 0  # [n, T]
    any_frame = nonzero.any(axis=1)
    last = nonzero.shape[1] - 1 - np.argmax(nonzero[:, ::-1], axis=1)
    return np.where(any_frame, last + 1, 0)


def _spine_along_z(sample: np.ndarray) -> bool:
    """True for 2s-AGCN ``pre_normalization`` output: spine_base -> spine_shoulder along +z, not +y."""
    spine = sample[:, :, :, 20, 0] - sample[:, :, :, 0, 0]  # [n, 3, T]
    spine = spine.transpose(0, 2, 1).reshape(-1, 3)
    spine = spine[np.linalg.norm(spine, axis=1) > 1e-6]
    if not len(spine):
        return False
    mean = (spine / np.linalg.norm(spine, axis=1, keepdims=True)).mean(axis=0)
    return bool(mean[2] > 0.7 and abs(mean[1]) < 0.5)


def _label_space(labels: np.ndarray, names: list[str] | None, path: Path) -> tuple[str, tuple[str, ...]]:
    top = int(labels.max()) if len(labels) else 0
    if labels.min(initial=0) < 0:
        raise DataError("negative labels", path, "labels must be 0-based class indices")
    ntu_named = bool(names) and _NTU_NAME.search(names[0]) is not None
    if "pku" in str(path).lower() and not ntu_named and top < len(cn.PKU_MMD51_CLASSES):
        return "pku-mmd", cn.PKU_MMD51_CLASSES
    if top >= len(cn.NTU120_CLASSES):
        raise DataError(f"labels go up to {top}, more than NTU RGB+D 120's classes", path,
                        "only NTU-60/120 and PKU-MMD label spaces are known for preprocessed arrays")
    return _ntu_classes(top)


def _sequences_from_array(arr: np.ndarray, labels: np.ndarray, names: Sequence[str], path: Path,
                          notes: list[str], extra_meta: Sequence[dict] | None = None,
                          fps: float | None = NTU_FPS) -> list[SkeletonSequence]:
    """[N, 3, T, 25, M] (a memmap view is kept where no copy is needed) -> trimmed sequences."""
    n = arr.shape[0]
    rotate = _spine_along_z(np.asarray(arr[np.linspace(0, n - 1, min(n, 64)).astype(int)])) if n else False
    if rotate:
        notes.append("the arrays have the spine along +z (2s-AGCN pre_normalization); rotated back to "
                     "NTU axes (y up)")
    needs_copy = rotate or arr.dtype != np.float32 or arr.shape[-1] != MAX_BODIES
    sequences: list[SkeletonSequence] = []
    chunk = 256
    for start in range(0, n, chunk):
        block = arr[start:start + chunk]
        lengths = _valid_lengths(block)
        for k, length in enumerate(lengths):
            i = start + k
            data = block[k, :, :length]
            if needs_copy:
                data = np.asarray(data, dtype=np.float32)
                if rotate:  # pre_normalization turned NTU (x, y, z) into (x, -z, y)
                    data = np.stack([data[0], data[2], -data[1]])
                if data.shape[-1] != MAX_BODIES:
                    padded = np.zeros(data.shape[:-1] + (MAX_BODIES,), dtype=np.float32)
                    m = min(MAX_BODIES, data.shape[-1])
                    padded[..., :m] = data[..., :m]
                    data = padded
            match = _NTU_NAME.search(names[i])
            meta = dict(extra_meta[i]) if extra_meta is not None else {}
            sequences.append(SkeletonSequence(
                data=data, label=int(labels[i]), name=names[i], source=str(path), fps=fps,
                subject=int(match.group(3)) if match else None, meta=meta))
    return sequences


def _label_candidates(path: Path) -> list[Path]:
    stem = path.name.removesuffix(".npy")
    bases = [stem[: -len(s)] for s in ("_position", "_data_joint", "_data") if stem.endswith(s)] or [stem]
    return [path.with_name(f"{b}_label{ext}") for b in bases for ext in (".pkl", ".npy")]


def read_position_npy(path: str | Path, label_path: str | Path | None = None) -> SkeletonDataset:
    """AimCLR/SMIE/CrosSCLR ``*_position.npy`` or 2s-AGCN ``*_data_joint.npy`` [N, 3, T, 25, M].

    Labels come from ``label_path`` or the sibling ``<part>_label.pkl`` ((sample_names, labels) pickle)
    or ``<part>_label.npy``. The array is memory-mapped; sequences are views into it where no axis fix
    is needed. Trailing all-zero frames (2s-AGCN's padding to 300) are cut off.
    """
    path = Path(path)
    fix = "expected an (N, 3, T, 25, 2) float array as written by the AimCLR/2s-AGCN gendata scripts"
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"not a readable .npy array ({type(exc).__name__}: {exc})", path, fix) from None
    if arr.ndim != 5 or arr.shape[1] != 3 or arr.shape[3] != NUM_JOINTS or arr.dtype.kind != "f":
        raise DataError(f"array of shape {list(arr.shape)} and type {arr.dtype}", path, fix)
    if label_path is None:
        found = [p for p in _label_candidates(path) if p.is_file()]
        if not found:
            raise DataError("no label file beside it", path, "expected one of: " +
                            ", ".join(p.name for p in _label_candidates(path)))
        label_path = found[0]
    label_path = Path(label_path)
    names, labels = _load_labels(label_path, arr.shape[0])
    notes = [f"labels from {label_path.name}"]
    seq_names = names or [f"{path.stem}_{i}" for i in range(arr.shape[0])]
    dataset_name, classes = _label_space(labels, names, path)
    if path.stem.endswith("_position"):
        notes.append("AimCLR/SMIE arrays are centred on spine_shoulder, turned about y to face the camera "
                     "and resized in time: not raw camera space, and fps is unknown")
    fps = None if path.stem.endswith("_position") else NTU_FPS
    sequences = _sequences_from_array(arr, labels, seq_names, path, notes, fps=fps)
    return SkeletonDataset(f"{dataset_name}:{path.parent.name}/{path.stem}", classes, tuple(sequences),
                           tuple(notes))


def _npz_member(path: Path, key: str) -> np.ndarray:
    """One array of an .npz, memory-mapped when stored uncompressed (np.savez), else loaded."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(f"{key}.npy")
        if info.compress_type == zipfile.ZIP_STORED:
            with path.open("rb") as fh:
                fh.seek(info.header_offset)
                local = fh.read(30)
                name_len, extra_len = int.from_bytes(local[26:28], "little"), int.from_bytes(local[28:30],
                                                                                                "little")
                start = info.header_offset + 30 + name_len + extra_len
                fh.seek(start)
                version = np.lib.format.read_magic(fh)
                read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                               (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                if read_header is not None:
                    shape, fortran, dtype = read_header(fh)
                    if not fortran and not dtype.hasobject:
                        return np.memmap(path, dtype=dtype, mode="r", offset=fh.tell(), shape=shape)
        with zf.open(info) as member:  # compressed (np.savez_compressed): load it
            return np.lib.format.read_array(io.BufferedReader(member),  # type: ignore[arg-type]
                                            allow_pickle=False)


def read_ctrgcn_npz(path: str | Path) -> SkeletonDataset:
    """CTR-GCN / SGN ``NTU60_CS.npz``-style file: x_* [N, T, 150] (2 bodies x 25 joints x xyz), y_* one-hot.

    Train and test parts are both read, in that order, with ``meta["split"]``; names follow CTR-GCN's
    feeder (``train_0``, ``test_0``, ...). Trailing zero frames (padding to 300) are cut off.
    """
    path = Path(path)
    fix = "expected CTR-GCN's npz with x_train [N,T,150], y_train [N,C], x_test, y_test"
    try:
        with zipfile.ZipFile(path) as zf:
            keys = {n.removesuffix(".npy") for n in zf.namelist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"not a readable .npz file ({exc})", path, fix) from None
    parts = [p for p in ("train", "test") if f"x_{p}" in keys and f"y_{p}" in keys]
    if not parts:
        raise DataError(f"no x_train/y_train or x_test/y_test arrays (found {sorted(keys)})", path, fix)
    sequences: list[SkeletonSequence] = []
    notes: list[str] = []
    label_space: tuple[str, tuple[str, ...]] | None = None
    for part in parts:
        try:
            x, y = _npz_member(path, f"x_{part}"), np.asarray(_npz_member(path, f"y_{part}"))
        except Exception as exc:  # noqa: BLE001
            reason = f"{type(exc).__name__}: {exc}"
            raise DataError(f"cannot read x_{part}/y_{part} ({reason})", path, fix) from None
        if x.ndim != 3 or x.shape[2] != MAX_BODIES * NUM_JOINTS * 3 or len(y) != len(x):
            raise DataError(f"x_{part} has shape {list(x.shape)} and y_{part} {list(y.shape)}", path, fix)
        labels = y.argmax(axis=1) if y.ndim == 2 else y.reshape(-1)
        if y.ndim == 2 and not np.all(y.sum(axis=1) == 1):
            raise DataError(f"y_{part} is not one-hot", path, fix)
        num_classes = y.shape[1] if y.ndim == 2 else int(labels.max()) + 1
        label_space = _ntu_classes(num_classes - 1) if label_space is None else label_space
        # [N, T, 150] -> [N, T, 2, 25, 3] -> [N, 3, T, 25, 2]: views, no copy
        arr = x.reshape(x.shape[0], x.shape[1], MAX_BODIES, NUM_JOINTS, 3).transpose(0, 4, 1, 3, 2)
        names = [f"{part}_{i}" for i in range(len(x))]
        sequences += _sequences_from_array(arr, labels, names, path, notes,
                                           extra_meta=[{"split": part}] * len(x))
    assert label_space is not None
    notes.append("CTR-GCN arrays are translated to the first frame's spine_mid; NTU axes")
    return SkeletonDataset(f"{label_space[0]}:{path.stem}", label_space[1], tuple(sequences), tuple(notes))


# --- detection ------------------------------------------------------------------------------------------

def _natural_key(p: Path) -> list:
    return [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", p.name)]


def _check_labels(sequences: Sequence[SkeletonSequence], num_classes: int, folder: Path) -> None:
    bad = [s.name for s in sequences if not 0 <= s.label < num_classes]
    if bad:
        raise DataError(f"{len(bad)} file(s) have no valid class in their name, e.g. {bad[0]}", folder,
                        "keep the dataset's original file names")


def _single(seq: SkeletonSequence, dataset: str, classes: tuple[str, ...]) -> SkeletonDataset:
    notes = ("all joints are zero in this file",) if is_empty(seq) else ()
    return SkeletonDataset(dataset, classes, (seq,), notes)


def _folder_kind(folder: Path) -> str | None:
    """The dataset a folder is (its files, or the dataset's own subfolder for a dataset root), or None."""
    for kind, sub, pattern in (("utd-mhad", "Skeleton", "*_skeleton.mat"),
                               ("nw-ucla", "all_sqe", "a*_s*_e*_v*.json"),
                               ("msr-action3d", "skeleton3D", "*_skeleton3D.txt")):
        if any(folder.glob(pattern)) or any((folder / sub).glob(pattern)):
            return kind
    if any(folder.glob("*.skeleton")):
        return "ntu-skeleton-folder"
    if any(folder.glob("*.amc")) or any(folder.glob("*.AMC")):
        return "cmu-mocap"
    return "bvh-folder" if any(folder.glob("*.bvh")) else None


# file suffix -> format; a name that ends in one of these is skeleton data (the live sources ask too)
FILE_FORMATS: dict[str, str] = {
    ".skeleton": "ntu-skeleton", ".mat": "utd-mhad-mat", ".json": "nw-ucla-json", ".npy": "position-npy",
    ".npz": "ctrgcn-npz", ".safetensors": "store", ".bvh": "bvh", ".amc": "cmu-amc",
}


def file_format(path: str | Path) -> str | None:
    """The format a file's name says it is, or None when the name is no skeleton format's."""
    name = Path(path).name.lower()
    if name.endswith(".txt") and "skeleton3d" in name:
        return "msr-action3d-txt"
    return next((kind for suffix, kind in FILE_FORMATS.items() if name.endswith(suffix)), None)


def detect_format(path: str | Path) -> str:
    """The reader ``read_path`` would use (a key of ``READERS``). Raises DataError naming the path
    otherwise."""
    path = Path(path)
    if not path.exists():
        raise DataError("no such file or folder", path, SUPPORTED_TEXT)
    if path.is_file():
        kind = file_format(path)
        if kind:
            return kind
        name = path.name.lower()
        if name.endswith(".asf"):
            raise DataError("an ASF skeleton on its own (no motion)", path,
                            "pass one of the .amc takes beside it, or the folder")
        if name.endswith(".pkl"):
            raise DataError("a label file on its own", path, "pass the *_position.npy / *_data_joint.npy "
                            "array beside it; the labels are found automatically")
        raise DataError("unknown file type", path, SUPPORTED_TEXT)
    if not path.is_dir():
        raise DataError("neither a file nor a folder", path, SUPPORTED_TEXT)
    kind = _folder_kind(path)
    if kind:
        return kind
    # one level down: NTU-120 ships as two folders of .skeleton files; anything else is ambiguous
    found = {sub.name: k for sub in sorted(path.iterdir()) if sub.is_dir() and (k := _folder_kind(sub))}
    # and Bandai Namco as its dataset-1/ and dataset-2/ folders of BVH clips
    if found and set(found.values()) in ({"ntu-skeleton-folder"}, {"bvh-folder"}):
        return found.popitem()[1]
    if found:
        listing = ", ".join(f"{k} in {name}/" for name, k in found.items())
        raise DataError(f"this folder holds several datasets ({listing})", path, "pass one of them")
    arrays = sorted(p.name for p in path.iterdir() if p.suffix in (".npy", ".npz", ".safetensors"))
    hint = f"this folder holds {', '.join(arrays[:6])}: pass one of those files. " if arrays else ""
    raise DataError("no supported skeleton data in this folder", path, hint + SUPPORTED_TEXT)


def _read_ntu_file(path: Path) -> SkeletonDataset:
    seq = read_ntu_skeleton(path)
    name, classes = _ntu_classes(max(seq.label, 0))
    return _single(seq, name, classes)


def _store(path: Path) -> SkeletonDataset:

    return load_dataset(path)


# format (``detect_format``) -> the function that reads it as NTU-25 sequences
READERS: dict[str, Callable[[Path], SkeletonDataset]] = {
    "ntu-skeleton": _read_ntu_file,
    "ntu-skeleton-folder": read_ntu_folder,
    "utd-mhad-mat": lambda p: _single(read_utd_mhad_mat(p), "utd-mhad", cn.UTD_MHAD_CLASSES),
    "utd-mhad": read_utd_mhad,
    "nw-ucla-json": lambda p: _single(read_nw_ucla_json(p), "nw-ucla", cn.NW_UCLA_CLASSES),
    "nw-ucla": read_nw_ucla,
    "msr-action3d-txt": lambda p: _single(read_msr_action3d_txt(p), "msr-action3d", cn.MSR_ACTION3D_CLASSES),
    "msr-action3d": read_msr_action3d,
    "position-npy": read_position_npy,
    "ctrgcn-npz": read_ctrgcn_npz,
    "store": _store,
    "bvh": mocap.read_bvh_file,
    "bvh-folder": mocap.read_bvh_folder,
    "cmu-amc": mocap.read_amc_file,
    "cmu-mocap": mocap.read_cmu_folder,
}


def read_path(path: str | Path) -> SkeletonDataset:
    """Read any supported skeleton file or dataset folder (see SUPPORTED_FORMATS) as NTU-25 sequences."""
    path = Path(path)
    return READERS[detect_format(path)](path)


def merge_datasets(datasets: Sequence[SkeletonDataset], name: str | None = None) -> SkeletonDataset:
    """Concatenate datasets that share a label space (one class list a prefix of the other, as NTU-60
    is of NTU-120); the longer list wins. Different label spaces raise DataError."""
    if not datasets:
        raise DataError("nothing to merge", None, "pass at least one file or folder")
    classes = max((d.class_names for d in datasets), key=len)
    for d in datasets:
        if classes[: len(d.class_names)] != d.class_names:
            raise DataError(f"{d.name} has other class names than {datasets[0].name}", None,
                            "convert datasets with different classes into separate files")
    if len(datasets) == 1:
        return datasets[0] if name is None else replace(datasets[0], name=name)
    names = {d.name for d in datasets}
    if name is None:
        name = names.pop() if len(names) == 1 else "+".join(sorted(names))
    if classes == cn.NTU120_CLASSES and name == "ntu60":
        name = "ntu120"
    return SkeletonDataset(name, classes, tuple(s for d in datasets for s in d.sequences),
                           tuple(n for d in datasets for n in d.notes))


def read_paths(paths: Sequence[str | Path]) -> SkeletonDataset:
    """Read several files/folders and merge them (they must share their class names)."""
    return merge_datasets([read_path(p) for p in paths])


__all__ = [
    "FILE_FORMATS", "READERS", "SUPPORTED_FORMATS", "detect_format", "file_format", "merge_datasets", "read_ctrgcn_npz",
    "read_msr_action3d", "read_msr_action3d_txt", "read_ntu_folder", "read_ntu_skeleton", "read_nw_ucla",
    "read_nw_ucla_json", "read_path", "read_paths", "read_position_npy", "read_utd_mhad",
    "read_utd_mhad_mat",
]
