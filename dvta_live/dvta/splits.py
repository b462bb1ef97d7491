"""Named seen/unseen class splits of the zero-shot skeleton literature (0-based class ids).

The ids are published facts, written here as constants (checked against the split files beside the data
by ``tests/test_dvta_train.py``):

* SynSE (Gupta et al., ICIP 2021; skelemoa/synse-zsl ``label_splits/ru*.npy``): NTU-60 55/5 and 48/12,
  NTU-120 110/10 and 96/24. The same ids are in SMIE's and DVTA's ``config.py`` ("sota" track) and in
  PURLS's ``supplements/label_splits``. SynSE also published the validation classes it held out of the
  seen classes (``rv5_0``, ``rv24_0``) for 55/5 and 96/24; they are ``Split.val_unseen`` here. (Its
  ``rv12_0`` belongs to an older 48/12 split and overlaps the canonical unseen classes, so it is not used.)
* SMIE (Zhou et al., ACM MM 2023; YujieOuO/SMIE ``config.py`` ``split_1``..``split_9``, identical in DVTA's
  ``custom_splits``): three random splits each of NTU-60 (55/5), NTU-120 (110/10) and PKU-MMD (46/5).
* PURLS (Zhu et al., CVPR 2024; azzh1/PURLS ``supplements/label_splits``): NTU-60 40/20 and 30/30,
  NTU-120 80/40 and 60/60, NW-UCLA 8/2 and 5/5, UTD-MHAD 22/5, 18/9 and 14/13, UWA3D II 24/6, 20/10 and
  15/15. In every PURLS pair the ``rs`` file is the complement of the ``ru`` file.

Names are ``<dataset>-<seen>/<unseen>`` (``ntu60-55/5``, ``utd-mhad-14/13``) and ``smie-1``..``smie-9``;
``get_split`` ignores case and treats any run of ``-``, ``_``, ``/``, ``:`` or spaces alike, so
``NTU60_55_5`` finds ``ntu60-55/5``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dvta_live.errors import UserError

DATASET_CLASSES: dict[str, int] = {
    "ntu60": 60, "ntu120": 120, "pku51": 51, "nw-ucla": 10, "utd-mhad": 27, "uwa3dii": 30,
    "msr-action3d": 20,
}


@dataclass(frozen=True)
class Split:
    """One seen/unseen split: 0-based class ids into the dataset's standard class order (sorted tuples).

    ``val_unseen``: seen classes a published protocol holds out as pseudo-unseen for validation (empty
    when the source published none; training then draws its own, seeded).
    """

    name: str
    dataset: str
    num_classes: int
    unseen: tuple[int, ...]
    seen: tuple[int, ...]
    source: str = ""
    val_unseen: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        unseen, seen = set(self.unseen), set(self.seen)
        if unseen & seen:
            raise ValueError(f"{self.name}: classes both seen and unseen: {sorted(unseen & seen)}")
        if not all(0 <= c < self.num_classes for c in unseen | seen):
            raise ValueError(f"{self.name}: class ids outside 0..{self.num_classes - 1}")
        if not set(self.val_unseen) <= seen:
            raise ValueError(f"{self.name}: validation classes must be seen classes")
        object.__setattr__(self, "unseen", tuple(sorted(unseen)))
        object.__setattr__(self, "seen", tuple(sorted(seen)))
        object.__setattr__(self, "val_unseen", tuple(sorted(set(self.val_unseen))))

    @property
    def classes(self) -> tuple[int, ...]:
        """Seen and unseen together (the generalised zero-shot candidates), sorted."""
        return tuple(sorted(set(self.seen) | set(self.unseen)))

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "dataset": self.dataset, "num_classes": self.num_classes,
                "unseen": list(self.unseen), "seen": list(self.seen), "source": self.source,
                "val_unseen": list(self.val_unseen)}


def make_split(name: str, dataset: str, unseen: tuple[int, ...] | list[int], source: str = "",
               val_unseen: tuple[int, ...] = (), num_classes: int | None = None) -> Split:
    """A split whose seen classes are all the dataset's other classes."""
    n = DATASET_CLASSES[dataset] if num_classes is None else num_classes
    held = set(unseen)
    return Split(name, dataset, n, tuple(unseen), tuple(c for c in range(n) if c not in held), source,
                 tuple(val_unseen))


_SYNSE = "SynSE (skelemoa/synse-zsl label_splits; also SMIE/DVTA config.py sota track, PURLS label_splits)"
_SMIE = "SMIE random split (YujieOuO/SMIE config.py split_{}; DVTA config.py custom_splits)"
_PURLS = "PURLS (azzh1/PURLS supplements/label_splits/{})"

_DEFS: list[Split] = [
    # --- SynSE / "sota" splits --------------------------------------------------------------------
    make_split("ntu60-55/5", "ntu60", (10, 11, 19, 26, 56), _SYNSE,
               val_unseen=(16, 21, 25, 31, 48)),  # SynSE rv5_0
    make_split("ntu60-48/12", "ntu60", (3, 5, 9, 12, 15, 40, 42, 47, 51, 56, 58, 59), _SYNSE),
    make_split("ntu120-110/10", "ntu120", (4, 13, 37, 43, 49, 65, 88, 95, 99, 106), _SYNSE),
    make_split("ntu120-96/24", "ntu120",
               (5, 9, 11, 16, 18, 20, 22, 29, 35, 39, 45, 49, 59, 68, 70, 81, 84, 87, 93, 94, 104, 113,
                114, 119), _SYNSE,
               val_unseen=(1, 3, 4, 10, 17, 19, 27, 47, 48, 53, 58, 63, 66, 79, 83, 86, 89, 92, 97, 98, 100,
                           103, 105, 108)),  # SynSE rv24_0
    # --- SMIE random splits 1-9 -------------------------------------------------------------------
    make_split("smie-1", "ntu60", (4, 19, 31, 47, 51), _SMIE.format(1)),
    make_split("smie-2", "ntu60", (12, 29, 32, 44, 59), _SMIE.format(2)),
    make_split("smie-3", "ntu60", (7, 20, 28, 39, 58), _SMIE.format(3)),
    make_split("smie-4", "ntu120", (3, 18, 26, 38, 41, 60, 87, 99, 102, 110), _SMIE.format(4)),
    make_split("smie-5", "ntu120", (5, 12, 14, 15, 17, 42, 67, 82, 100, 119), _SMIE.format(5)),
    make_split("smie-6", "ntu120", (6, 20, 27, 33, 42, 55, 71, 97, 104, 118), _SMIE.format(6)),
    make_split("smie-7", "pku51", (1, 9, 20, 34, 50), _SMIE.format(7)),
    make_split("smie-8", "pku51", (3, 14, 29, 31, 49), _SMIE.format(8)),
    make_split("smie-9", "pku51", (2, 15, 39, 41, 43), _SMIE.format(9)),
    # --- PURLS extra splits -----------------------------------------------------------------------
    make_split("ntu60-40/20", "ntu60",
               (0, 12, 13, 14, 15, 16, 17, 22, 23, 26, 29, 30, 31, 35, 36, 42, 43, 48, 56, 57),
               _PURLS.format("ntu60/ru20.npy")),
    make_split("ntu60-30/30", "ntu60",
               (0, 1, 2, 6, 7, 8, 10, 12, 13, 15, 16, 18, 20, 21, 25, 26, 27, 31, 32, 33, 39, 42, 45, 47, 48,
                51, 52, 55, 58, 59), _PURLS.format("ntu60/ru30.npy")),
    make_split("ntu120-80/40", "ntu120",
               (11, 12, 18, 22, 23, 26, 28, 34, 37, 38, 42, 44, 46, 47, 48, 57, 59, 64, 66, 70, 73, 74, 75,
                83, 86, 90, 92, 93, 95, 96, 102, 104, 107, 108, 110, 112, 115, 116, 118, 119),
               _PURLS.format("ntu120/ru40.npy")),
    make_split("ntu120-60/60", "ntu120",
               (0, 1, 4, 6, 7, 8, 9, 17, 18, 21, 23, 25, 26, 28, 30, 32, 33, 34, 37, 38, 39, 40, 41, 42, 44,
                45, 50, 51, 52, 53, 56, 61, 62, 65, 67, 68, 69, 70, 74, 77, 78, 81, 83, 87, 89, 90, 91, 92,
                94, 95, 96, 97, 100, 101, 109, 111, 114, 115, 116, 118), _PURLS.format("ntu120/ru60.npy")),
    make_split("nw-ucla-8/2", "nw-ucla", (1, 4), _PURLS.format("nw-ucla/ru2.npy")),
    make_split("nw-ucla-5/5", "nw-ucla", (1, 3, 4, 6, 8), _PURLS.format("nw-ucla/ru5.npy")),
    make_split("utd-mhad-22/5", "utd-mhad", (4, 14, 17, 23, 24), _PURLS.format("utd-mhad/ru5.npy")),
    make_split("utd-mhad-18/9", "utd-mhad", (0, 1, 3, 6, 7, 11, 13, 16, 18),
               _PURLS.format("utd-mhad/ru9.npy")),
    make_split("utd-mhad-14/13", "utd-mhad", (0, 1, 6, 8, 9, 10, 12, 13, 19, 20, 21, 23, 24),
               _PURLS.format("utd-mhad/ru13.npy")),
    make_split("uwa3dii-24/6", "uwa3dii", (2, 12, 15, 22, 26, 27), _PURLS.format("uwa3dii/ru6.npy")),
    make_split("uwa3dii-20/10", "uwa3dii", (0, 2, 6, 7, 9, 10, 14, 15, 25, 28),
               _PURLS.format("uwa3dii/ru10.npy")),
    make_split("uwa3dii-15/15", "uwa3dii", (1, 3, 5, 6, 7, 11, 12, 18, 21, 22, 23, 24, 26, 27, 28),
               _PURLS.format("uwa3dii/ru15.npy")),
]


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")


SPLITS: dict[str, Split] = {s.name: s for s in _DEFS}
_BY_KEY: dict[str, Split] = {_key(s.name): s for s in _DEFS}
assert len(_BY_KEY) == len(SPLITS), "split names must stay distinct after normalisation"


def get_split(name: str) -> Split:
    """The named split (case, ``-``/``_``/``/`` insensitive); a UserError listing the names otherwise."""
    found = _BY_KEY.get(_key(name))
    if found is None:
        raise UserError(f"unknown split {name!r}",
                        fix=f"choose one of: {', '.join(SPLITS)} (or see `dvta train-head --help`)")
    return found


def list_splits(dataset: str | None = None) -> list[Split]:
    """All splits, or those of one dataset, in registry order."""
    return [s for s in _DEFS if dataset is None or s.dataset == dataset]


__all__ = ["DATASET_CLASSES", "SPLITS", "Split", "get_split", "list_splits", "make_split"]
