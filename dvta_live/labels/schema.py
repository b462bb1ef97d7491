"""Immutable result types of the labels package: actions, a labels file, the encoded text tensor.

Everything here is a frozen dataclass so a live reader can hold one without it changing under it; a
reload builds new objects and swaps one reference.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dvta_live.outputs import atomic_path

_SPACES = re.compile(r"\s+")
# Curly quotes and dashes a user cannot easily type in a shell (NTU uses "person’s"); fold them so
# `dvta labels remove "grab other person's stuff"` finds the entry.
_FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                       "\u2013": "-", "\u2014": "-"})


def name_key(name: str) -> str:
    """An action name's identity, ignoring case, spaces, curly quotes ("Drink  Water" = "drink water")."""
    text = unicodedata.normalize("NFKC", name).translate(_FOLD)
    return _SPACES.sub(" ", text).strip().casefold()


@dataclass(frozen=True)
class Example:
    """One recorded example of an action (``examples:`` in a labels file): a clip file, or the stretch
    ``start_s``-``end_s`` (seconds) of it. ``source`` is the entry as written (``path[#start-end]``);
    ``path`` is resolved against the labels file's folder."""

    source: str
    path: Path
    start_s: float | None = None
    end_s: float | None = None
    line: int = 0


@dataclass(frozen=True)
class Action:
    """One action of a labels file. `context` is one or more sentences; `line` is 1-based in the file;
    `examples` are recorded clips of it that the recogniser matches windows against, beside the text."""

    name: str
    context: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    line: int = 0
    examples: tuple[Example, ...] = ()

    @property
    def key(self) -> str:
        return name_key(self.name)

    def matches(self, name: str) -> bool:
        """True when `name` is this action's name or one of its aliases (case/space-insensitive)."""
        key = name_key(name)
        return key == self.key or any(key == name_key(a) for a in self.aliases)


@dataclass(frozen=True)
class Labels:
    """A validated labels file: its actions in file order, the text model it asks for, where it came from."""

    actions: tuple[Action, ...]
    text_model: str | None = None
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.actions)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.actions)

    def find(self, name: str) -> Action | None:
        """The action called `name` (or with that alias), or None."""
        for action in self.actions:
            if action.matches(name):
                return action
        return None


@dataclass(frozen=True, eq=False)
class TextTensor:
    """The encoded labels the DVTA head scores against.

    embeddings: float32 [C, 2, D], read-only; [:, 0] = the encoded action name, [:, 1] = the encoded
    context (a list of sentences is encoded one by one, mean-pooled, then L2-normalised). Every row is
    unit-length. `model` records which text model produced it (a name or an absolute path).
    """

    names: tuple[str, ...]
    embeddings: np.ndarray
    model: str
    dim: int
    path: Path | None = field(default=None)

    def __post_init__(self) -> None:
        emb = np.array(self.embeddings, dtype=np.float32, copy=True)  # own copy: nobody else can write it
        if emb.ndim != 3 or emb.shape[1] != 2 or emb.shape[0] != len(self.names) or emb.shape[2] != self.dim:
            raise ValueError(f"text tensor must be [C={len(self.names)}, 2, D={self.dim}], got {emb.shape}")
        emb.setflags(write=False)  # immutable in fact, not only by convention
        object.__setattr__(self, "embeddings", emb)

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def save(self, path: str | Path) -> Path:
        """Write to .safetensors (names and model in the metadata) or .npz; returns the path."""

        p = Path(path)
        if p.suffix.lower() not in (".safetensors", ".npz"):
            raise ValueError(f"{p}: use a .safetensors or .npz file name")
        with atomic_path(p) as tmp:
            if p.suffix.lower() == ".safetensors":
                import json

                from safetensors.numpy import save_file

                save_file({"embeddings": np.ascontiguousarray(self.embeddings)}, str(tmp),
                          metadata={"names": json.dumps(list(self.names)), "model": self.model})
            else:
                np.savez(tmp, embeddings=self.embeddings, names=np.array(self.names), model=np.array(self.model))
        return p

    @classmethod
    def load(cls, path: str | Path) -> TextTensor:
        """Read a file written by `save`."""
        p = Path(path)
        if p.suffix.lower() == ".safetensors":
            import json

            from safetensors import safe_open

            with safe_open(str(p), framework="numpy") as fh:
                meta = fh.metadata() or {}
                emb = fh.get_tensor("embeddings")
            names, model = tuple(json.loads(meta["names"])), meta["model"]
        else:
            with np.load(p) as data:
                emb, model = data["embeddings"], str(data["model"])
                names = tuple(str(n) for n in data["names"])
        return cls(names, emb, model, int(emb.shape[2]), p)

    def index(self, name: str) -> int:
        """Row of the action called `name` (case/space-insensitive); ValueError when absent."""
        key = name_key(name)
        for i, n in enumerate(self.names):
            if name_key(n) == key:
                return i
        raise ValueError(f"no action {name!r} in the text tensor")
