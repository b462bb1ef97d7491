"""Choosing classes (seen / unseen) and subjects from user input: ids, names, or split files.

A class spec is any of: a path to a `.npy` of 0-based class ids (the PURLS `rs*.npy` / `ru*.npy`
files), a `.txt` with one class id or name per line, a `.json` list of ids or names, or a comma-separated
list of ids / names on the command line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dvta_live.errors import UserError


def _norm(name: str) -> str:
    return " ".join(name.lower().replace("_", " ").split())


def _items_from_spec(spec: str) -> tuple[list[object], str | None]:
    path = Path(spec)
    if path.suffix in (".npy", ".txt", ".json") or path.exists():
        if not path.is_file():
            raise UserError("class split file not found", path, "pass an existing .npy/.txt/.json or a list")
        try:
            if path.suffix == ".npy":
                return [int(v) for v in np.load(path, allow_pickle=False).ravel()], str(path)
            if path.suffix == ".json":
                items = json.loads(path.read_text())
                if not isinstance(items, list):
                    raise ValueError("expected a JSON list")
                return items, str(path)
            return [line.strip() for line in path.read_text().splitlines() if line.strip()
                    and not line.lstrip().startswith("#")], str(path)
        except (ValueError, OSError) as exc:
            raise UserError(f"cannot read class split: {exc}", path,
                            "use a .npy of ids, a .json list, or one id/name per line") from None
    return [item.strip() for item in spec.split(",") if item.strip()], None


def parse_classes(spec: str, class_names: Sequence[str]) -> list[int]:
    """Class ids (sorted, unique) named by ``spec`` among ``class_names``."""
    items, source = _items_from_spec(spec)
    lookup = {_norm(name): i for i, name in enumerate(class_names)}
    ids: set[int] = set()
    for item in items:
        text = str(item)
        if text.lstrip("-").isdigit():
            index = int(text)
            if not 0 <= index < len(class_names):
                raise UserError(f"class id {index} is out of range 0..{len(class_names) - 1}", source,
                                "class ids are 0-based indices into the dataset's class list")
            ids.add(index)
        elif _norm(text) in lookup:
            ids.add(lookup[_norm(text)])
        else:
            raise UserError(f"unknown class {text!r}", source,
                            "see `dvta data inspect` for this dataset's class names")
    if not ids:
        raise UserError("the class list is empty", source, "name at least one class")
    return sorted(ids)


def seen_classes(class_names: Sequence[str], seen: str | None = None, unseen: str | None = None) -> list[int]:
    """The seen class ids from either a seen spec or an unseen spec (its complement); all if neither."""
    if seen and unseen:
        raise UserError("give either --seen or --unseen, not both")
    if seen:
        return parse_classes(seen, class_names)
    if unseen:
        held_out = set(parse_classes(unseen, class_names))
        return [i for i in range(len(class_names)) if i not in held_out]
    return list(range(len(class_names)))


def parse_ids(spec: str | None) -> set[int]:
    """`1,3,5` or `1-4,8` -> {1, 3, 5} / {1, 2, 3, 4, 8} (subject ids)."""
    out: set[int] = set()
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(v) for v in part.split("-", 1))
                out.update(range(lo, hi + 1))
            else:
                out.add(int(part))
        except ValueError:
            raise UserError(f"bad id list {spec!r}", fix="write ids like 1,3,5 or ranges like 1-4") from None
    return out
