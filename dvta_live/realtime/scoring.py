"""Scores of one window -> a ``Prediction``, and the class side they are scored against: one way for the live
loop (``realtime.live.recognize``) and the public API (``Recognizer.predict``).

    side = ClassSide(runtime, examples)                 # the labels' class side, prepared once per version
    text = side.get(watcher.state)
    prediction = make_prediction(runtime.scores(x, text)[0], watcher.state, index=..., timestamp_s=...,
                                 people=..., span_s=..., top_k=5, threshold=0.25)

Light on purpose (numpy only, no runtime or pose code): ``LiveConfig`` gives ``dvta run`` its option
defaults, so the command line imports this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from dvta_live.conventions import DEFAULT_FPS, MAX_GAP_S, WINDOW_S
from dvta_live.errors import UserError

if TYPE_CHECKING:
    from dvta_live.labels.watcher import LabelsState
    from dvta_live.realtime.example_bank import ExampleBank
    from dvta_live.runtimes import PreparedText, Runtime

IDLE = "idle"  # nobody (or too short a track) in the window: nothing is scored
UNKNOWN = "unknown"  # scored, but no action is confident enough
ACTION = "action"

# LiveConfig's rules, checked in this order: (field, in range, what it takes, whether the fix gives an example)
_RULES: tuple[tuple[str, Callable[[Mapping[str, Any]], bool], str, bool], ...] = (
    ("window_s", lambda v: v["window_s"] > 0, "seconds > 0", True),
    ("stride_s", lambda v: v["stride_s"] > 0, "seconds > 0", True),
    ("threshold", lambda v: 0 <= v["threshold"] <= 1, "a probability from 0 to 1", True),
    ("smoothing", lambda v: 0 < v["smoothing"] <= 1, "above 0 and at most 1; 1 = no smoothing", False),
    ("top_k", lambda v: v["top_k"] >= 1, "1 or more", True),
    ("rate_hz", lambda v: v["rate_hz"] > 0, "frames per second > 0", True),
    ("frame_queue", lambda v: v["frame_queue"] >= 1, "1 or more", True),
    ("min_span_s", lambda v: 0 <= v["min_span_s"] <= v["window_s"], "seconds from 0 to the window's", True),
)


@dataclass(frozen=True)
class LiveConfig:
    """How the loop windows, scores and smooths. Times are seconds of media time."""

    window_s: float = WINDOW_S  # NTU clips last 2-4 s; the recipe resizes whatever span it gets
    rate_hz: float = DEFAULT_FPS  # the training data's frame rate (Kinect v2): the window is resampled to it
    max_gap_s: float = MAX_GAP_S  # shorter holes in a track are interpolated
    stride_s: float = 0.5  # score every half second
    min_span_s: float = 1.0  # a track shorter than this is not scored (idle)
    smoothing: float = 0.6  # weight of the newest probabilities in the moving average (1 = none)
    threshold: float = 0.25  # smoothed top probability below this -> unknown
    top_k: int = 5
    frame_queue: int = 2

    def __post_init__(self) -> None:
        self.check(vars(self))

    @classmethod
    def check(cls, values: Mapping[str, Any], names: Mapping[str, str] | None = None) -> None:
        """A ``UserError`` naming the first of ``values`` (fields; the others at their defaults) out of range.
        ``names``: what the caller calls the fields (the command line's options: ``{"window_s": "--window"}``)."""
        defaults = {f.name: f.default for f in fields(cls)}
        merged = {**defaults, **values}
        for name, ok, takes, example in _RULES:
            if not ok(merged):
                shown = names.get(name, name) if names else name
                fix = takes
                if example:
                    fix += f", e.g. {shown} {defaults[name]:g}" if names else f", e.g. {name}={defaults[name]:g}"
                raise UserError(f"{shown} {merged[name]:g} is out of range", fix=fix)


@dataclass(frozen=True)
class Prediction:
    """Scores of one window. ``top`` holds (name, smoothed probability) best first; ``raw`` the newest
    unsmoothed probabilities of all C labels in labels-file order."""

    index: int  # the newest frame in the window
    timestamp_s: float
    state: str  # ACTION, UNKNOWN or IDLE
    top: tuple[tuple[str, float], ...]
    names: tuple[str, ...]
    raw: np.ndarray | None
    people: int
    span_s: float
    labels_generation: int
    inference_ms: float  # recipe + runtime
    latency_ms: float  # capture of the newest frame -> this prediction

    @property
    def label(self) -> str:
        return self.top[0][0] if self.state == ACTION and self.top else self.state

    @property
    def probability(self) -> float:
        return self.top[0][1] if self.top else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "t": round(self.timestamp_s, 4), "state": self.state, "label": self.label,
                "top": [{"name": n, "p": round(p, 4)} for n, p in self.top], "people": self.people,
                "span_s": round(self.span_s, 3), "labels_generation": self.labels_generation,
                "inference_ms": round(self.inference_ms, 2), "latency_ms": round(self.latency_ms, 2)}


def softmax(scores: np.ndarray) -> np.ndarray:
    z = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class Smoother:
    """Exponential moving average of probabilities, reset when the labels change."""

    def __init__(self, weight: float) -> None:
        self.weight = weight
        self.value: np.ndarray | None = None
        self.generation = -1

    def update(self, probs: np.ndarray, generation: int) -> np.ndarray:
        if self.value is None or generation != self.generation or self.value.shape != probs.shape:
            self.value, self.generation = probs.copy(), generation
        else:
            self.value = self.weight * probs + (1.0 - self.weight) * self.value
        return self.value

    def reset(self) -> None:
        self.value = None


def make_prediction(scores: np.ndarray | None, state: LabelsState, *, index: int, timestamp_s: float,
                    people: int, span_s: float, top_k: int, threshold: float, inference_ms: float = 0.0,
                    captured: float | None = None, smoother: Smoother | None = None) -> Prediction:
    """The ``Prediction`` of one window's logits [C] over ``state``'s labels (None: nothing was scored, an
    IDLE prediction). Softmax, then ``smoother`` (None: the newest probabilities as they are), the best
    ``top_k``, and ``unknown`` below ``threshold``. ``captured``: ``time.perf_counter()`` at the capture of
    the newest frame, for ``latency_ms`` (None: the latency is ``inference_ms``)."""
    names = state.text.names
    if scores is None:
        if smoother is not None:
            smoother.reset()
        top: tuple[tuple[str, float], ...] = ()
        kind, raw = IDLE, None
    else:
        probs = softmax(scores.astype(np.float64))
        shown = probs if smoother is None else smoother.update(probs, state.generation)
        order = np.argsort(-shown)[:top_k]
        top = tuple((names[i], float(shown[i])) for i in order)
        kind, raw = (ACTION if top[0][1] >= threshold else UNKNOWN), probs.astype(np.float32)
    latency_ms = inference_ms if captured is None else (time.perf_counter() - captured) * 1e3
    return Prediction(index=index, timestamp_s=timestamp_s, state=kind, top=top, names=names, raw=raw,
                      people=people, span_s=span_s, labels_generation=state.generation,
                      inference_ms=inference_ms, latency_ms=latency_ms)


class ClassSide:
    """The runtime's class side for a labels state: its text and, with ``examples``, the labels' recorded
    examples. Prepared again only when the text (the state's generation), the examples listed or the
    examples ready (``examples.version``) change. ``wait``: compute every example's features before scoring
    (the public API); otherwise the examples missing are queued for the bank's thread and join when ready
    (the live loop, which must not stall). One ``ClassSide`` per labels watcher: generations count per
    watcher."""

    def __init__(self, runtime: Runtime, examples: ExampleBank | None = None, *, wait: bool = False) -> None:
        self.runtime, self.examples, self.wait = runtime, examples, wait
        self._prepared: tuple[Any, PreparedText] | None = None

    def get(self, state: LabelsState) -> PreparedText:
        examples = self.examples
        version: Any = state.generation
        if examples is not None:
            if not self.wait:
                examples.request(state.labels)
            version = (state.generation, examples.version, [a.examples for a in state.labels.actions])
        if self._prepared is None or self._prepared[0] != version:
            side = None if examples is None else examples.side(state.labels, len(state.text.names), wait=self.wait)
            self._prepared = (version, self.runtime.prepare_text(state.text.embeddings, side))
        return self._prepared[1]


__all__ = ["ACTION", "IDLE", "UNKNOWN", "ClassSide", "LiveConfig", "Prediction", "Smoother", "make_prediction",
           "softmax"]
