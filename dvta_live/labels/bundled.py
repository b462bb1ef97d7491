"""The labels files shipped inside the package (dvta_live/assets/labels/*.yaml)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from dvta_live.errors import UserError

DEFAULT_BUNDLED = "everyday"


def bundled_labels_dir() -> Path:
    """The folder holding the bundled labels files (a real folder: the package is installed unzipped)."""
    return Path(str(files("dvta_live").joinpath("assets", "labels")))


def bundled_labels() -> dict[str, Path]:
    """Every bundled labels file by name: {"everyday": .../everyday.yaml, "ntu120": .../ntu120.yaml}."""
    folder = bundled_labels_dir()
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def bundled_labels_path(name: str = DEFAULT_BUNDLED) -> Path:
    """The path of one bundled labels file ("everyday" or "ntu120")."""
    found = bundled_labels()
    if name not in found:
        raise UserError(f"no bundled labels file {name!r}",
                        fix=f"choose one of: {', '.join(found) or 'none'}")
    return found[name]


def is_bundled(path: str | Path) -> bool:
    """True for a file inside the installed package's labels folder (not to be edited in place)."""
    try:
        return Path(path).resolve().parent == bundled_labels_dir().resolve()
    except OSError:
        return False
