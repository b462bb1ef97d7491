"""The shapes a TensorRT build accepts: one source for the engine builder, the engine runner, ONNX Runtime's
TensorRT execution provider and the CLI defaults. Imports nothing heavy (the CLI reads its defaults here).

Three axes are dynamic: B (windows per call), C (classes of the labels file) and K (example windows of
the labels' recorded examples, at least 1: an all-zero row when there are none). Every runtime with bounds
splits a larger batch into calls of at most ``max_batch``, pads a smaller one up to ``min_batch``, and a
labels file outside ``min_classes..max_classes`` is refused when it is loaded (a hot reload keeps the last
good labels), never inside the inference thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dvta_live.errors import UserError

# TextSide field names, in order: the text graph's outputs and the window graph's extra inputs.
TEXT_SIDE_NAMES = ("keys", "sq_ctx", "dot_ctx_delta", "sq_delta", "metric_base", "metric_delta", "context")
# The example side (dvta.examples): K example keys [K, F + 1] and their class weights [K, C]
EXAMPLE_SIDE_NAMES = ("example_keys", "example_values")
# The window graph's inputs, in order ("context" last: a head without a bridge has no such input)
WINDOW_INPUTS = ("skeleton", *TEXT_SIDE_NAMES[:-1], *EXAMPLE_SIDE_NAMES, "context")
FEATURE_DIM = 256  # the backbone feature every dvta-live head takes


@dataclass(frozen=True)
class ProfileBounds:
    """min / opt / max of the dynamic axes: B (windows per call), C (classes), K (example windows).

    opt is what TensorRT tunes its kernels for: B=1, what the live loop sends every stride.
    """

    min_batch: int = 1
    opt_batch: int = 1
    max_batch: int = 64
    min_classes: int = 1
    opt_classes: int = 60
    max_classes: int = 256
    min_examples: int = 1
    opt_examples: int = 1
    max_examples: int = 1024

    def validate(self) -> None:
        for axis, lo, mid, hi in (("batch", self.min_batch, self.opt_batch, self.max_batch),
                                  ("classes", self.min_classes, self.opt_classes, self.max_classes),
                                  ("examples", self.min_examples, self.opt_examples, self.max_examples)):
            if not 1 <= lo <= mid <= hi:
                raise UserError(f"profile {axis} needs 1 <= min <= opt <= max, got {lo}, {mid}, {hi}",
                                fix=f"fix --min-{axis} / --opt-{axis} / --max-{axis}")

    def to_dict(self) -> dict[str, list[int]]:
        return {"batch": [self.min_batch, self.opt_batch, self.max_batch],
                "classes": [self.min_classes, self.opt_classes, self.max_classes],
                "examples": [self.min_examples, self.opt_examples, self.max_examples]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProfileBounds:
        b, c = data["batch"], data["classes"]
        k = data.get("examples", [cls.min_examples, cls.opt_examples, cls.max_examples])
        return cls(int(b[0]), int(b[1]), int(b[2]), int(c[0]), int(c[1]), int(c[2]), int(k[0]), int(k[1]), int(k[2]))

    def fits_classes(self, num_classes: int) -> bool:
        return self.min_classes <= num_classes <= self.max_classes

    def fits_examples(self, num_examples: int) -> bool:
        return self.min_examples <= num_examples <= self.max_examples

    def classes_fix(self, num_classes: int) -> str:
        """How to make a labels file of ``num_classes`` fit (an engine rebuilt, or the file edited)."""
        if num_classes > self.max_classes:
            return (f"rebuild it with --max-classes {num_classes} (dvta export --format engine), or remove "
                    f"{num_classes - self.max_classes} actions")
        return f"rebuild it with --min-classes {num_classes} (dvta export --format engine), or add actions"

    def shapes(self, name: str, window: int, text_dim: int, *, joints: int = 25,
               feature_dim: int = FEATURE_DIM) -> tuple[tuple[int, ...], ...]:
        """(min, opt, max) shape of one input of the window or recogniser graph."""
        return tuple(input_shape(name, b, c, window, text_dim, k, joints=joints, feature_dim=feature_dim)
                     for b, c, k in
                     ((self.min_batch, self.min_classes, self.min_examples),
                      (self.opt_batch, self.opt_classes, self.opt_examples),
                      (self.max_batch, self.max_classes, self.max_examples)))


def input_shape(name: str, batch: int, classes: int, window: int, text_dim: int,
                examples: int = 1, *, joints: int = 25, feature_dim: int = FEATURE_DIM) -> tuple[int, ...]:
    """The shape of a graph input for B windows, C classes and K example windows (the graphs
    ``export_onnx`` writes); ``joints`` per body: 25 (NTU skeletons) or 17 (COCO keypoints)."""
    d = text_dim
    table = {"skeleton": (batch, 3, window, joints, 2), "text": (classes, 2, d), "keys": (3, classes, d),
             "sq_ctx": (classes,), "dot_ctx_delta": (classes,), "sq_delta": (classes,),
             "metric_base": (classes, 2 * d), "metric_delta": (classes, 2 * d), "context": (classes, d),
             "example_keys": (examples, feature_dim + 1), "example_values": (examples, classes)}
    if name not in table:
        raise KeyError(f"{name!r} is not an input of a dvta-live graph")
    return table[name]


def fast_fp16(compute_capability: tuple[int, int]) -> bool:
    """Whether a GPU runs fp16 at least as fast as fp32 (tensor cores from 7.0; 5.3, 6.0 and 6.2 too,
    not the consumer Pascal 6.1 cards). What TensorRT's deprecated ``platform_has_fast_fp16`` answered."""
    major, minor = compute_capability
    return major >= 7 or (major, minor) in ((5, 3), (6, 0), (6, 2))


__all__ = ["EXAMPLE_SIDE_NAMES", "FEATURE_DIM", "TEXT_SIDE_NAMES", "WINDOW_INPUTS", "ProfileBounds", "fast_fp16", "input_shape"]
