"""The one compact file training reads: a standard safetensors file (``*.dvta.safetensors``).

Tensors (little-endian, in this order in the data buffer):

- ``frames``   float32 [sum of T, 3, 25, 2]: every sequence's frames, one after another (frame-major so
  the file can be written sequence by sequence, and each sequence is one contiguous byte range).
- ``offsets``  int64 [N + 1]: sequence i is ``frames[offsets[i]:offsets[i + 1]]``.
- ``labels``   int64 [N] (-1 = unlabelled); ``subjects`` int64 [N] (-1 = unknown).

``__metadata__`` holds ``format`` = ``dvta-skeleton``, ``format_version`` and ``dvta``: a JSON object with
the dataset name, class names, layout ``ntu25``, the axis convention, notes, and per sequence its name,
source, fps and the JSON-able scalars of its ``meta`` (arrays such as NTU's ``color_xy`` are not kept).

Any safetensors reader opens the file; ``load_dataset`` parses the 8-byte length + JSON header itself so
that ``frames`` can be memory-mapped (``safe_open`` copies each tensor into memory) and every sequence is a
zero-copy view [3, T, 25, 2] into it.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from dvta_live.errors import DataError
from dvta_live.outputs import atomic_path
from dvta_live.skeleton.sequence import MAX_BODIES, NUM_COORDS, NUM_JOINTS, SkeletonDataset, SkeletonSequence

FORMAT_NAME = "dvta-skeleton"
FORMAT_VERSION = 1
SUFFIX = ".dvta.safetensors"
AXES = "ntu-camera: metres, x to the subject's right, y up, z away from the camera (right-handed)"
_FRAME_SHAPE = (NUM_COORDS, NUM_JOINTS, MAX_BODIES)
_MAX_HEADER = 100_000_000  # safetensors' own limit
_DTYPES = {"F32": np.dtype("<f4"), "I64": np.dtype("<i8")}
_FIX_OTHER = "this is not a dvta skeleton store; create one with `dvta data convert SOURCE --out FILE" \
             f"{SUFFIX}`"


def _json_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, bool, int, float))


def _portable_meta(meta: dict) -> dict:
    """The meta entries that survive a JSON round trip unchanged (numpy scalars become Python ones)."""
    out = {}
    for key, value in meta.items():
        if isinstance(value, np.generic) and value.ndim == 0:
            value = value.item()
        if isinstance(key, str) and _json_scalar(value):
            out[key] = value
    return out


def save_dataset(dataset: SkeletonDataset, path: str | Path) -> Path:
    """Write ``dataset`` as a ``.dvta.safetensors`` store (streamed: frames are not concatenated in memory).

    The file is written beside the target and renamed into place, so a failed write leaves no half file.
    """
    path = Path(path)
    lengths = np.array([s.num_frames for s in dataset.sequences], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype("<i8")
    labels = np.array([s.label for s in dataset.sequences], dtype="<i8")
    subjects = np.array([-1 if s.subject is None else s.subject for s in dataset.sequences], dtype="<i8")
    info = {
        "dataset": dataset.name,
        "class_names": list(dataset.class_names),
        "layout": "ntu25",
        "axes": AXES,
        "frames_axes": "[frame, xyz, joint, body]; a sequence's data is frames[a:b].transpose(1, 0, 2, 3)",
        "notes": list(dataset.notes),
        "names": [s.name for s in dataset.sequences],
        "sources": [s.source for s in dataset.sequences],
        "fps": [s.fps for s in dataset.sequences],
        "meta": [_portable_meta(s.meta) for s in dataset.sequences],
    }
    frame_bytes = int(np.prod(_FRAME_SHAPE)) * 4
    sizes = {"frames": int(offsets[-1]) * frame_bytes, "offsets": offsets.nbytes, "labels": labels.nbytes,
             "subjects": subjects.nbytes}
    shapes = {"frames": [int(offsets[-1]), *_FRAME_SHAPE], "offsets": [len(offsets)],
              "labels": [len(labels)], "subjects": [len(subjects)]}
    header: dict[str, Any] = {"__metadata__": {"format": FORMAT_NAME, "format_version": str(FORMAT_VERSION),
                                               "dvta": json.dumps(info, ensure_ascii=False)}}
    start = 0
    for key in ("frames", "offsets", "labels", "subjects"):
        header[key] = {"dtype": "F32" if key == "frames" else "I64", "shape": shapes[key],
                       "data_offsets": [start, start + sizes[key]]}
        start += sizes[key]
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    head += b" " * (-(8 + len(head)) % 8)  # safetensors pads the header so the data is 8-byte aligned


    with atomic_path(path) as tmp, tmp.open("wb") as fh:  # a failed write leaves no half file
        fh.write(struct.pack("<Q", len(head)))
        fh.write(head)
        for seq in dataset.sequences:
            fh.write(np.ascontiguousarray(np.transpose(seq.data, (1, 0, 2, 3)), dtype="<f4").tobytes())
        for array in (offsets, labels, subjects):
            fh.write(array.tobytes())
    return path


def _read_header(path: Path) -> tuple[dict, int, int]:
    """(header, data start, file size); DataError for anything that is not a safetensors file."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            prefix = fh.read(8)
            if len(prefix) < 8:
                raise DataError("too short to be a safetensors file", path, _FIX_OTHER)
            (n,) = struct.unpack("<Q", prefix)
            if n > min(_MAX_HEADER, size - 8):
                raise DataError("not a safetensors file (bad header length)", path, _FIX_OTHER)
            raw = fh.read(n)
    except OSError as exc:
        raise DataError(f"cannot read the file: {exc.strerror or exc}", path, "check the path") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DataError("not a safetensors file (the header is not JSON)", path, _FIX_OTHER) from None
    if not isinstance(header, dict):
        raise DataError("not a safetensors file (the header is not a JSON object)", path, _FIX_OTHER)
    return header, 8 + n, size


def _tensor(path: Path, header: dict, key: str, data_start: int, size: int, mmap: bool) -> np.ndarray:
    fix = "the file is damaged or truncated; convert the source again"
    entry = header.get(key)
    if not isinstance(entry, dict) or entry.get("dtype") not in _DTYPES:
        raise DataError(f"tensor {key!r} is missing or has an unexpected type", path, fix)
    dtype = _DTYPES[entry["dtype"]]
    try:
        shape = tuple(int(d) for d in entry["shape"])
        begin, end = (int(o) for o in entry["data_offsets"])
    except (KeyError, TypeError, ValueError):
        raise DataError(f"tensor {key!r} has a malformed header entry", path, fix) from None
    if end - begin != int(np.prod(shape)) * dtype.itemsize or begin < 0 or data_start + end > size:
        raise DataError(f"tensor {key!r} does not fit the file ({size} bytes)", path, fix)
    if end == begin:
        return np.zeros(shape, dtype=dtype)
    if mmap:
        return np.memmap(path, dtype=dtype, mode="r", offset=data_start + begin, shape=shape)
    with path.open("rb") as fh:
        fh.seek(data_start + begin)
        return np.frombuffer(fh.read(end - begin), dtype=dtype).reshape(shape)


def load_dataset(path: str | Path, mmap: bool = True) -> SkeletonDataset:
    """Open a ``.dvta.safetensors`` store; with ``mmap`` the frames stay on disk and sequences are views.

    A file from another program, a newer format version or a damaged file raises DataError.
    """
    path = Path(path)
    header, data_start, size = _read_header(path)
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise DataError("a safetensors file from another program (model weights?), not a dvta skeleton store",
                        path, _FIX_OTHER)
    try:
        version = int(meta.get("format_version", "0"))
        info = json.loads(meta["dvta"])
    except (KeyError, TypeError, ValueError):
        raise DataError("the store's metadata is damaged", path, "convert the source again") from None
    if version > FORMAT_VERSION:
        raise DataError(f"store format version {version} is newer than this dvta-live reads "
                        f"({FORMAT_VERSION})", path, "upgrade dvta-live")
    frames = _tensor(path, header, "frames", data_start, size, mmap)
    offsets, labels, subjects = (np.asarray(_tensor(path, header, k, data_start, size, mmap=False))
                                 for k in ("offsets", "labels", "subjects"))
    n = len(labels)
    try:
        names, sources, fps, seq_meta = info["names"], info["sources"], info["fps"], info["meta"]
        class_names = tuple(str(c) for c in info["class_names"])
        dataset_name, notes = str(info["dataset"]), tuple(str(x) for x in info.get("notes", ()))
    except (KeyError, TypeError):
        raise DataError("the store's metadata lacks names or classes", path,
                        "convert the source again") from None
    consistent = (frames.shape[1:] == _FRAME_SHAPE and len(offsets) == n + 1 and len(subjects) == n
                  and len(names) == len(sources) == len(fps) == len(seq_meta) == n
                  and (n == 0 or (offsets[0] == 0 and offsets[-1] == frames.shape[0]
                                  and bool(np.all(np.diff(offsets) >= 0)))))
    if not consistent:
        raise DataError("the store's tensors disagree with each other", path, "convert the source again")
    sequences = tuple(
        SkeletonSequence(
            data=frames[offsets[i]:offsets[i + 1]].transpose(1, 0, 2, 3),
            label=int(labels[i]), name=names[i], source=sources[i], fps=fps[i],
            subject=None if subjects[i] < 0 else int(subjects[i]), meta=dict(seq_meta[i]))
        for i in range(n))
    return SkeletonDataset(dataset_name, class_names, sequences, notes)
