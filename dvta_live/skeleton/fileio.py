"""File and folder helpers every skeleton reader shares (``readers`` and ``mocap``): reading bytes with a
clear error, reading a folder where one broken file is a note, finding a dataset's files. Its own module so
neither reader module imports the other for them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from dvta_live.errors import DataError
from dvta_live.skeleton.sequence import SkeletonSequence

SUPPORTED_FORMATS: tuple[str, ...] = (
    "NTU RGB+D .skeleton file, or a folder of them",
    "UTD-MHAD a*_s*_t*_skeleton.mat, its Skeleton/ folder or the dataset root",
    "NW-UCLA a*_s*_e*_v*.json, its all_sqe/ folder or the dataset root",
    "MSR Action3D a*_s*_e*_skeleton3D.txt, its skeleton3D/ folder or the dataset root",
    "AimCLR/SMIE/CrosSCLR *_position.npy or 2s-AGCN *_data_joint.npy (N,3,T,25,2) with *_label.pkl/.npy",
    "CTR-GCN .npz (x_train, y_train, x_test, y_test)",
    "this project's .dvta.safetensors store",
    "BVH motion capture .bvh (Bandai Namco naming gives the class), or a folder of them",
    "CMU mocap <subject>_<take>.amc (its .asf beside it), or the folder (mocap_segments.txt labels segments)",
)
SUPPORTED_TEXT = "supported: " + "; ".join(SUPPORTED_FORMATS)


def read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read the file: {exc.strerror or exc}", path,
                        "check the path and its permissions") from None
    if not raw.strip():
        raise DataError("the file is empty", path, "re-download or re-extract it")
    return raw


def is_empty(seq: SkeletonSequence) -> bool:
    return not np.any(seq.data)


def read_folder(files: Sequence[Path], read_one: Callable[[Path], SkeletonSequence], folder: Path,
                 notes: list[str]) -> list[SkeletonSequence]:
    """Read every file; one broken file becomes a note (the rest of a dataset stays usable)."""
    sequences: list[SkeletonSequence] = []
    first_error: DataError | None = None
    for f in files:
        try:
            sequences.append(read_one(f))
        except DataError as exc:
            first_error = first_error or exc
            notes.append(f"skipped {f.name}: {exc}")
    if not sequences:
        if first_error is not None:
            raise first_error
        raise DataError("no skeleton files found", folder, SUPPORTED_TEXT)
    empty = [s.name for s in sequences if is_empty(s)]
    if empty:
        shown = ", ".join(empty[:10]) + (f" and {len(empty) - 10} more" if len(empty) > 10 else "")
        notes.append(f"{len(empty)} sequence(s) are all zeros upstream (no skeleton tracked): {shown}; "
                     "kept as empty sequences, leave them out of training")
    gaps = sum(1 for s in sequences if not is_empty(s) and not np.any(s.data, axis=(0, 2, 3)).all())
    if gaps:
        notes.append(f"{gaps} sequence(s) have frames without any skeleton (all-zero frames, kept as zeros)")
    return sequences


def find_files(folder: Path, pattern: str) -> list[Path]:
    """Matches in the folder, else in its direct subfolders (datasets shipped as several parts)."""
    files = sorted(folder.glob(pattern))
    if not files:
        files = sorted(p for sub in sorted(folder.iterdir()) if sub.is_dir() for p in sub.glob(pattern))
    return files
