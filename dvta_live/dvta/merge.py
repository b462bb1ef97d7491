"""Merge features folders of several datasets into one, in the class list of one labels file.

Datasets name the same action differently ("hand clap", "two hand front clap", "clap"). A merged labels
file lists each action once; an action's ``aliases`` name the dataset classes that are that action. Each
source folder (written by ``dvta extract-features``, whose ``features.json`` records the dataset's class
names) has its samples relabelled to the merged class ids by name or alias (case- and space-insensitive).
A source class with samples that the labels file does not name is an error: nothing is dropped silently.

``unseen`` classes (merged names or ids) go to the zero-shot test set (``ztest``) whatever their source;
every other sample is a training sample. With no unseen class the folder trains a head on every class.

    dvta merge-features feats/utd feats/nw-ucla feats/msr --labels default-training -o feats/all
    dvta merge-features feats/utd feats/msr --labels merged.yaml --unseen "clap,bow" -o feats/held-out
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dvta_live.dvta.features import check_features_out, load_features, save_features
from dvta_live.errors import UserError
from dvta_live.labels import bundled_labels, load_labels
from dvta_live.skeleton.splits import parse_classes


@dataclass(frozen=True)
class MergeResult:
    folder: Path
    class_names: tuple[str, ...]
    train: int
    ztest: int
    unseen: tuple[int, ...]
    per_source: tuple[dict[str, Any], ...]


def _labels_path(spec: str | Path) -> Path:

    path = Path(spec)
    if not path.exists() and str(spec) in bundled_labels():
        return bundled_labels()[str(spec)]
    return path


def _source_samples(folder: Path) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Every sample of a features folder (train + ztest; gtest repeats them) and its metadata."""

    feats = load_features(folder)
    names = feats.metadata.get("class_names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise UserError("its features.json lists no class_names", folder,
                        "write the folder with `dvta extract-features` (it records the dataset's classes)")
    x = np.concatenate([feats.train, feats.ztest])
    y = np.concatenate([feats.train_labels, feats.z_labels])
    return x, y, feats.metadata


def merge_features(sources: Sequence[str | Path], labels: str | Path, out: str | Path,
                   unseen: str | None = None) -> MergeResult:
    """Write one features folder from ``sources`` with class ids of the ``labels`` file (see module doc)."""

    if not sources:
        raise UserError("no features folders to merge", fix="give one or more folders")
    labels_path = _labels_path(labels)
    check_features_out(out, [*sources, labels_path])
    merged = load_labels(labels_path)
    names = tuple(merged.names)
    unseen_ids = tuple(parse_classes(unseen, names)) if unseen else ()
    xs, ys, per_source = [], [], []
    backbone: tuple[Any, Any] | None = None
    for src in sources:
        folder = Path(src)
        x, y, meta = _source_samples(folder)
        source_names = meta["class_names"]
        this = (meta.get("backbone_architecture"), json.dumps(meta.get("recipe"), sort_keys=True))
        if backbone is None:
            backbone = this
        elif this != backbone:
            raise UserError("its features come from another backbone or recipe than the first folder's",
                            folder, "extract every dataset's features with the same backbone")
        mapping: dict[int, int] = {}
        counts: dict[str, int] = {}
        for c in sorted(set(y.tolist())):
            if not 0 <= c < len(source_names):
                raise UserError(f"class id {c} is outside its {len(source_names)} class names", folder)
            action = merged.find(source_names[c])
            if action is None:
                raise UserError(f"class {source_names[c]!r} ({meta.get('dataset', folder.name)}) is not in "
                                "the merged labels file", labels_path,
                                f"add an action named {source_names[c]!r}, or add it to the aliases of the "
                                "action it is")
            mapping[c] = names.index(action.name)
            counts[action.name] = counts.get(action.name, 0) + int((y == c).sum())
        xs.append(x)
        ys.append(np.array([mapping[int(c)] for c in y], dtype=np.int64))
        per_source.append({"folder": str(folder), "dataset": meta.get("dataset"), "samples": len(y),
                           "classes": {source_names[c]: names[m] for c, m in mapping.items()},
                           "backbone": meta.get("backbone")})
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    missing = sorted(set(unseen_ids) - set(y.tolist()))
    if missing:
        raise UserError(f"unseen class(es) {[names[c] for c in missing]} have no sample in the sources",
                        fix="hold out classes that some source has samples of")
    is_unseen = np.isin(y, unseen_ids)
    assert backbone is not None
    first = json.loads((Path(sources[0]) / "features.json").read_text(encoding="utf-8")) \
        if (Path(sources[0]) / "features.json").is_file() else {}
    meta = {"dataset": merged_name(labels_path), "class_names": list(names), "labels": str(labels_path),
            "unseen": list(unseen_ids), "split": None, "test_subjects": [],
            "backbone": first.get("backbone"), "backbone_architecture": backbone[0],
            "recipe": first.get("recipe"), "merged_from": per_source}
    folder = save_features(out, x[~is_unseen], y[~is_unseen], x[is_unseen].reshape(-1, x.shape[1]),
                           y[is_unseen], metadata=meta)
    return MergeResult(folder, names, int((~is_unseen).sum()), int(is_unseen.sum()), unseen_ids,
                       tuple(per_source))


def merged_name(labels_path: Path) -> str:
    name = labels_path.name
    for suffix in (".yaml", ".yml"):
        name = name.removesuffix(suffix)
    return name


__all__ = ["MergeResult", "merge_features"]
