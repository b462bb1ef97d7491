"""A features folder: backbone features of a zero-shot split, in SynSE's file layout.

SynSE (skelemoa/synse-zsl ``synse/data_cnn60.py``, the layout SMIE, DVTA and PURLS reuse for their
"sota" track) keeps one folder per split:

=================  ==============================================================================
``train.npy``      [N, 256] float: features of the training samples of the SEEN classes
``train_label.npy`` [N] int: their class ids, global (0-based into the dataset's full class list)
``ztest.npy``      [M, 256]: test samples of the UNSEEN classes only (zero-shot test)
``z_label.npy``    [M]: their global class ids (SynSE maps predictions back through ``unseen_inds``)
``gtest.npy``      [K, 256]: test samples of ALL classes, seen and unseen (generalised zero-shot test)
``g_label.npy``    [K]: their global class ids
=================  ==============================================================================

SynSE's GZSL evaluation (``gating_synse_model_eval.py``) splits ``g_label`` into seen and unseen by
membership in the unseen class list. SMIE/DVTA's layout names the zero-shot pair ``test.npy`` /
``test_label.npy``; it is accepted when ``ztest.npy`` is absent. ``gtest`` is optional (no generalised
zero-shot figures without it). ``ztest.npy`` may hold zero rows: a folder for a head trained on every
class (no unseen class, e.g. the bundled default model); such a head has no zero-shot test figures.

An optional ``features.json`` (or ``meta.json``) describes where the features came from (backbone,
checkpoint, preprocessing recipe, dataset, split name); it is passed through into a trained head's
metadata, and its ``dataset`` / ``split`` keys serve as defaults for training.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dvta_live.conventions import FEATURE_DIM
from dvta_live.errors import UserError
from dvta_live.labels import Action, Labels, bundled_labels, get_encoder, load_labels
from dvta_live.outputs import atomic_path, check_output, write_text_atomic
from dvta_live.skeleton import classnames as cn

META_FILES = ("features.json", "meta.json", "metadata.json")
# (features file, labels file, required); the zero-shot pair also accepts SMIE/DVTA's test.npy names
TRAIN = ("train.npy", "train_label.npy")
ZTEST = ("ztest.npy", "z_label.npy")
ZTEST_ALT = ("test.npy", "test_label.npy")
GTEST = ("gtest.npy", "g_label.npy")


@dataclass(frozen=True)
class FeatureSet:
    """The arrays of a features folder. Labels are global class ids (int64), features float32 [N, 256]."""

    folder: Path
    train: np.ndarray
    train_labels: np.ndarray
    ztest: np.ndarray
    z_labels: np.ndarray
    gtest: np.ndarray | None = None
    g_labels: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # role -> file name actually read

    @property
    def seen_classes(self) -> tuple[int, ...]:
        """Classes with training samples (sorted)."""
        return tuple(int(c) for c in np.unique(self.train_labels))

    @property
    def unseen_classes(self) -> tuple[int, ...]:
        """Classes of the zero-shot test set (sorted)."""
        return tuple(int(c) for c in np.unique(self.z_labels))

    @property
    def max_class(self) -> int:
        arrays = [self.train_labels, self.z_labels] + ([self.g_labels] if self.g_labels is not None else [])
        return int(max(int(a.max()) for a in arrays if a.size))

    def summary(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder), "train": len(self.train_labels),
            "ztest": len(self.z_labels),
            "gtest": None if self.g_labels is None else len(self.g_labels),
            "seen_classes": len(self.seen_classes), "unseen_classes": len(self.unseen_classes),
            "files": dict(self.files),
        }


def _load_array(path: Path) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "pickle" in str(exc).lower():
            raise UserError("holds Python objects, not a plain numeric array", path,
                            "save it with np.save(path, np.asarray(x, dtype=np.float32))") from None
        raise UserError(f"not a readable .npy array ({exc})", path, "re-save it with np.save") from None
    except (OSError, EOFError) as exc:
        raise UserError(f"cannot read ({exc.__class__.__name__}: {exc})", path,
                        "re-save it with np.save; the file may be truncated") from None
    if not isinstance(arr, np.ndarray):
        raise UserError("is an .npz archive, not a single .npy array", path, "save one array per file")
    return arr


def _features(path: Path, allow_empty: bool = False) -> np.ndarray:
    arr = _load_array(path)
    if allow_empty and arr.ndim == 2 and arr.shape[0] == 0 and arr.shape[1] in (0, FEATURE_DIM):
        return np.zeros((0, FEATURE_DIM), np.float32)
    if arr.ndim != 2 or arr.shape[1] != FEATURE_DIM:
        raise UserError(f"features must be [N, {FEATURE_DIM}], got shape {tuple(arr.shape)}", path,
                        f"store one {FEATURE_DIM}-d backbone feature per sample (the GCN's pooled output)")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise UserError(f"features must be numbers, got dtype {arr.dtype}", path,
                        "save them as float32")
    arr = arr.astype(np.float32, copy=False)
    if arr.shape[0] == 0:
        raise UserError("holds no samples", path, "extract features for this split first")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=1).sum())
        raise UserError(f"{bad} sample(s) contain NaN or inf", path,
                        "re-extract the features; check the backbone input for empty sequences")
    return np.ascontiguousarray(arr)


def _labels(path: Path, n: int, features_name: str) -> np.ndarray:
    arr = _load_array(path)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    elif arr.ndim == 2 and arr.shape[0] == n and arr.shape[1] > 1:
        # one-hot rows (SynSE's h5 splits store y one-hot): accept exactly one-hot only
        if not (np.isin(arr, (0, 1)).all() and (arr.sum(axis=1) == 1).all()):
            raise UserError(f"2-D labels must be one-hot rows, got shape {tuple(arr.shape)}", path,
                            "store one integer class id per sample")
        arr = arr.argmax(axis=1)
    if arr.ndim != 1:
        raise UserError(f"labels must be one class id per sample, got shape {tuple(arr.shape)}", path,
                        "store a 1-D array of integer class ids")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise UserError(f"labels must be integer class ids, got dtype {arr.dtype}", path,
                        "store 0-based integer class ids")
    if np.issubdtype(arr.dtype, np.floating) and (not np.isfinite(arr).all()
                                                  or not np.array_equal(arr, np.round(arr))):
        raise UserError("labels must be whole numbers (class ids)", path, "store 0-based integer class ids")
    out = arr.astype(np.int64)
    if len(out) != n:
        raise UserError(f"{len(out)} labels for {n} samples in {features_name}", path,
                        f"{path.name} and {features_name} must list the same samples in the same order")
    if out.size and out.min() < 0:
        raise UserError(f"negative class id {int(out.min())}", path,
                        "class ids are 0-based indices into the dataset's class list")
    return out


def _read_meta(folder: Path) -> tuple[dict[str, Any], str | None]:
    for name in META_FILES:
        path = folder / name
        if path.is_file():
            try:
                meta = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise UserError(f"not valid JSON ({exc})", path, "fix the file or delete it") from None
            if not isinstance(meta, dict):
                raise UserError("must be a JSON object", path, 'write {"backbone": ..., "dataset": ...}')
            return meta, name
    return {}, None


def load_features(folder: str | Path) -> FeatureSet:
    """Read and check a features folder (see the module docstring); every problem names its file."""
    root = Path(folder)
    if not root.exists():
        raise UserError("no such features folder", root,
                        "give the folder holding train.npy, train_label.npy, ztest.npy, z_label.npy")
    if not root.is_dir():
        raise UserError("is a file, not a features folder", root,
                        "give the folder holding train.npy, train_label.npy, ztest.npy, z_label.npy")
    files: dict[str, str] = {}

    def pair(names: tuple[str, str], role: str, required: bool,
             alt: tuple[str, str] | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        feat_name, label_name = names
        if not (root / feat_name).exists() and alt is not None and (root / alt[0]).exists():
            feat_name, label_name = alt
        fp, lp = root / feat_name, root / label_name
        if not fp.exists():
            if (root / label_name).exists() or required:
                raise UserError(f"missing {feat_name} ({role} features)", root / feat_name,
                                f"a features folder needs {', '.join(TRAIN + ZTEST)} (+ optional "
                                f"{', '.join(GTEST)})")
            return None
        if not lp.exists():
            raise UserError(f"missing {label_name}, the class ids of {feat_name}", lp,
                            f"save the labels of {feat_name} as {label_name}")
        # an empty zero-shot test set is allowed: a head trained on every class (no unseen class)
        x = _features(fp, allow_empty=role == "ztest")
        y = _labels(lp, len(x), feat_name)
        files[role] = feat_name
        files[role + "_labels"] = label_name
        return x, y

    train = pair(TRAIN, "train", True)
    ztest = pair(ZTEST, "ztest", True, ZTEST_ALT)
    gtest = pair(GTEST, "gtest", False)
    assert train is not None and ztest is not None
    meta, meta_name = _read_meta(root)
    if meta_name:
        files["metadata"] = meta_name

    seen = set(np.unique(train[1]).tolist())
    unseen = set(np.unique(ztest[1]).tolist())
    overlap = sorted(seen & unseen)
    if overlap:
        raise UserError(f"class(es) {overlap[:10]} have training samples, so they are not unseen",
                        root / files["ztest_labels"],
                        f"{files['ztest']} must hold only classes absent from {TRAIN[0]} (zero-shot)")
    if gtest is not None:
        extra = sorted(set(np.unique(gtest[1]).tolist()) - seen - unseen)
        if extra:
            raise UserError(f"class(es) {extra[:10]} are neither seen ({TRAIN[0]}) nor unseen "
                            f"({files['ztest']})", root / GTEST[1],
                            "gtest must hold test samples of the split's seen and unseen classes")
    return FeatureSet(root, train[0], train[1], ztest[0], ztest[1],
                      None if gtest is None else gtest[0], None if gtest is None else gtest[1], meta, files)


FEATURE_FILES = (*TRAIN, *ZTEST, *GTEST, META_FILES[0])  # what save_features writes


def check_features_out(folder: str | Path, inputs: Sequence[str | Path | None] = ()) -> Path:
    """Refuse a features folder to write before any work: not over an input, writable (outputs.py)."""

    expanded: list[str | Path | None] = []
    for item in inputs:  # a features folder given as an input stands for the files in it
        if item is not None and Path(item).is_dir():
            expanded += [Path(item) / name for name in (*FEATURE_FILES, *ZTEST_ALT, *META_FILES[1:])]
        else:
            expanded.append(item)
    return check_output(folder, inputs=expanded, folder=True, files=FEATURE_FILES)


def save_features(folder: str | Path, train: np.ndarray, train_labels: np.ndarray, ztest: np.ndarray,
                  z_labels: np.ndarray, gtest: np.ndarray | None = None, g_labels: np.ndarray | None = None,
                  metadata: Mapping[str, Any] | None = None) -> Path:
    """Write a features folder in the layout ``load_features`` reads; returns the folder.

    Each file is written atomically; a gtest pair left from an earlier extraction is removed when this
    one has none, so the folder never mixes two extractions."""

    root = Path(folder)
    arrays = {TRAIN: (train, train_labels), ZTEST: (ztest, z_labels)}
    if gtest is not None and g_labels is not None:
        arrays[GTEST] = (gtest, g_labels)
    for (feat_name, label_name), (x, y) in arrays.items():
        for name, value in ((feat_name, np.asarray(x, dtype=np.float32)),
                            (label_name, np.asarray(y, dtype=np.int64))):
            with atomic_path(root / name) as tmp:
                np.save(tmp, value)
    if GTEST not in arrays:
        for name in GTEST:
            (root / name).unlink(missing_ok=True)
    if metadata is not None:
        write_text_atomic(root / META_FILES[0], json.dumps(dict(metadata), indent=2) + "\n")
    return root


__all__ = ["FEATURE_DIM", "FEATURE_FILES", "FeatureSet", "check_features_out", "load_features", "save_features"]


# ------------------------------------------------------------------------------------------ class texts

BUILTIN_CLASS_LISTS = ("ntu60", "ntu120", "pku51", "utd-mhad", "nw-ucla", "msr-action3d")


@dataclass(frozen=True)
class ClassTexts:
    """The text side a head is trained and evaluated with: per class id, a name and its context sentences.

    ``embeddings`` [C, 2, D] float32 as ``TextTensor`` holds them (0: name, 1: context). ``kind`` is
    "labels" (a labels file) or "class-names" (a name list; the context is then the name itself).
    """

    names: tuple[str, ...]
    contexts: tuple[tuple[str, ...], ...]
    embeddings: np.ndarray
    model: str
    source: str
    kind: str

    @property
    def num_classes(self) -> int:
        return len(self.names)

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[2])

    def to_dict(self) -> dict[str, Any]:
        """What a head's metadata records (no embeddings: they are recomputed from the texts)."""
        return {"model": self.model, "dim": self.dim, "source": self.source, "kind": self.kind,
                "classes": [{"id": i, "name": n, "context": list(c)}
                            for i, (n, c) in enumerate(zip(self.names, self.contexts))]}


def _encode(names: list[str], contexts: list[tuple[str, ...]], model: str | None, source: str, kind: str,
            cache_dir: str | Path | None = None, base_dir: Path | None = None) -> ClassTexts:

    labels = Labels(tuple(Action(n, c) for n, c in zip(names, contexts)), model)
    encoder = get_encoder(model, base_dir=base_dir, cache_dir=cache_dir)
    tensor = encoder.encode_labels(labels)
    return ClassTexts(tuple(names), tuple(contexts), np.asarray(tensor.embeddings), tensor.model, source,
                      kind)


def class_texts_from_labels(spec: str | Path, *, model: str | None = None,
                            cache_dir: str | Path | None = None) -> ClassTexts:
    """A labels file (path) or a bundled labels name ("ntu120", "utd-mhad", ...), encoded."""

    path = Path(spec)
    if not path.exists() and str(spec) in bundled_labels():
        path = bundled_labels()[str(spec)]
    labels = load_labels(path)
    spec_model = model if model is not None else labels.text_model
    return _encode(list(labels.names), [a.context for a in labels.actions], spec_model, str(path), "labels",
                   cache_dir, path.parent if model is None else None)


def read_class_names(spec: str | Path) -> tuple[list[str], str]:
    """Class names in id order from a built-in list name, a .txt (one per line, or ``a12 name`` lines as
    in a dataset's classes.txt) or a .json list. Returns (names, source)."""

    builtin = {"ntu60": cn.NTU60_CLASSES, "ntu120": cn.NTU120_CLASSES, "pku51": cn.PKU_MMD51_CLASSES,
               "utd-mhad": cn.UTD_MHAD_CLASSES, "nw-ucla": cn.NW_UCLA_CLASSES,
               "msr-action3d": cn.MSR_ACTION3D_CLASSES}
    path = Path(spec)
    if not path.exists() and str(spec).lower() in builtin:
        return list(builtin[str(spec).lower()]), f"builtin:{str(spec).lower()}"
    if not path.is_file():
        raise UserError("no such class-names file", path,
                        f"give a .txt (one name per line) or .json list, or one of: "
                        f"{', '.join(BUILTIN_CLASS_LISTS)}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read: {exc}", path, "save it as UTF-8 text") from None
    if path.suffix.lower() == ".json":
        try:
            names = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"not valid JSON ({exc})", path, 'write a list: ["clap", "wave"]') from None
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise UserError("must be a JSON list of class names", path, 'write a list: ["clap", "wave"]')
        names = [n.strip() for n in names]
    else:
        coded = cn.read_classes_txt(path)
        if coded is not None:
            names = [coded[k] for k in sorted(coded)]
        else:
            names = [line.strip() for line in text.splitlines()
                     if line.strip() and not line.lstrip().startswith("#")]
    if not names:
        raise UserError("lists no class names", path, "write one class name per line, in class-id order")
    return names, str(path)


def class_texts_from_names(spec: str | Path, *, model: str | None = None,
                           cache_dir: str | Path | None = None) -> ClassTexts:
    """Class names only (see ``read_class_names``): the context of each class is its name."""
    names, source = read_class_names(spec)
    return _encode(names, [(n,) for n in names], model, source, "class-names", cache_dir)


def class_texts_from_dict(meta: Mapping[str, Any], *, cache_dir: str | Path | None = None) -> ClassTexts:
    """Re-encode the texts a head's metadata recorded (``ClassTexts.to_dict``) with the model it names."""
    classes = sorted(meta["classes"], key=lambda c: int(c["id"]))
    names = [str(c["name"]) for c in classes]
    contexts = [tuple(str(s) for s in c["context"]) for c in classes]
    out = _encode(names, contexts, meta.get("model"), str(meta.get("source", "head metadata")),
                  str(meta.get("kind", "labels")), cache_dir)
    if "dim" in meta and out.dim != int(meta["dim"]):
        raise UserError(f"text model {out.model} gives {out.dim}-d embeddings, the head was trained "
                        f"with {meta['dim']}-d", fix="evaluate with the text model the head was trained with")
    return out


__all__ += ["BUILTIN_CLASS_LISTS", "ClassTexts", "class_texts_from_dict", "class_texts_from_labels",
            "class_texts_from_names", "read_class_names"]
