"""Recorded examples of an action (``examples:`` in a labels file): the ``path[#start-end]`` syntax,
and where a labels file's stored examples live (``teach.save_example`` stores one there).

An example is ``path[#start-end]`` (seconds), relative to the labels file. Examples the commands add
(``dvta labels add --example``, ``dvta teach``: :mod:`dvta_live.teach`) are stored as
``.dvta.safetensors`` clips in ``<labels stem>.examples/`` beside the labels file, so they outlive a change
of model or a moved source video. Reading an example (videos through the live pose path) is
:func:`dvta_live.pose.clips.load_example`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from dvta_live.errors import UserError
from dvta_live.labels.schema import Example

CLIP_SUFFIX = ".dvta.safetensors"
_RANGE = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*-\s*([0-9]*\.?[0-9]+)\s*")
RANGE_FIX = "write the stretch in seconds as FILE#START-END with 0 <= START < END, e.g. wave.mp4#2-5.5"


# --- the `path[#start-end]` syntax ---------------------------------------------------------------------

def split_source(text: str) -> tuple[str, float | None, float | None]:
    """``"takes/wave.mp4#2-5.5"`` -> ``("takes/wave.mp4", 2.0, 5.5)``; no ``#``: no range. ValueError
    (message; ``RANGE_FIX`` says the fix) for a bad range."""
    path, hash_, rng = text.strip().rpartition("#")
    if not hash_:
        return text.strip(), None, None
    m = _RANGE.fullmatch(rng)
    if not path.strip():
        raise ValueError(f"`{text}` names no file before '#'")
    if m is None:
        raise ValueError(f"`#{rng}` in `{text}` is not a range of seconds START-END")
    start, end = float(m.group(1)), float(m.group(2))
    if not start < end:
        raise ValueError(f"the range #{rng} in `{text}` is empty: it must end after it starts")
    return path.strip(), start, end


def parse_example(text: str, base_dir: str | Path = ".", line: int = 0) -> Example:
    """A ``--example`` option (or an ``examples:`` entry) as an Example, its path resolved against
    ``base_dir`` (the current folder for a command-line option; the labels file's folder for an entry).
    Raises UserError naming the entry and the fix; the file must exist."""
    try:
        path_text, start, end = split_source(text)
    except ValueError as exc:
        raise UserError(str(exc), None, RANGE_FIX) from None
    path = Path(os.path.abspath(Path(base_dir) / Path(path_text).expanduser()))
    if not path.exists():
        raise UserError("no such example file", path_text, f"check the path; looked for {path}")
    if not path.is_file():
        raise UserError("an example must be a file (a video or a skeleton clip), not a folder", path,
                        "name one file")
    return Example(text.strip(), path, start, end, line)


def examples_folder(labels_path: str | Path) -> Path:
    """Where a labels file's stored examples live: ``my-labels.examples/`` beside ``my-labels.yaml``."""
    p = Path(labels_path)
    stem = p.name[: -len(p.suffix)] if p.suffix.lower() in (".yaml", ".yml") else p.name
    return p.parent / f"{stem}.examples"


# --- storing examples -----------------------------------------------------------------------------------


__all__ = ["CLIP_SUFFIX", "RANGE_FIX", "examples_folder", "parse_example", "split_source"]
