"""The live loop: source -> pose -> NTU-25 joints -> time window -> runtime -> scores, one way.

    for event in recognize(source, runtime, labels, LiveConfig()):
        if isinstance(event, Prediction): print(event.label, event.probability)

``recognize`` is a lazy generator of immutable events (faster-whisper style): a ``FrameResult`` for every
frame the pose stage handled (for overlays and the video writer) and a ``Prediction`` every
``stride_s`` seconds of media time. Three stages run on their own threads, joined by bounded queues:

    capture --(frames, 2)--> pose + window --(windows, 1)--> inference --(events)--> caller

With ``realtime=True`` a full queue drops its oldest item (frames: counted in ``Stats.dropped_frames``;
windows: a stale window is replaced by the newer one), so the loop can fall behind by at most a queue
length, never more. With ``realtime=False`` every queue blocks: every frame is processed and every
stride is scored, deterministically, as fast as the machine goes (files, benchmarks, tests).

Preprocessing is ``runtime.info.recipe.apply(window)``: the same function training and evaluation call
on whole sequences. The labels are re-read through ``LabelsWatcher`` before each scoring, so an edit of
the labels file changes the candidates at the next stride; an invalid edit keeps the last good labels.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from dvta_live.labels.watcher import LabelsWatcher
from dvta_live.realtime.buffer import TimeWindow
from dvta_live.pose.estimator import PoseEstimator, PoseResult
from dvta_live.pose.sources import Frame, Source
from dvta_live.runtimes import PreparedText, Runtime

if TYPE_CHECKING:
    from dvta_live.realtime.example_bank import ExampleBank

IDLE = "idle"  # nobody (or too short a track) in the window: nothing is scored
UNKNOWN = "unknown"  # scored, but no action is confident enough
ACTION = "action"


@dataclass(frozen=True)
class LiveConfig:
    """How the loop windows, scores and smooths. Times are seconds of media time."""

    window_s: float = 3.0  # NTU clips last 2-4 s; the recipe resizes whatever span it gets
    rate_hz: float = 30.0  # the training data's frame rate (Kinect v2): the window is resampled to it
    max_gap_s: float = 0.3  # shorter holes in a track are interpolated
    stride_s: float = 0.5  # score every half second
    min_span_s: float = 1.0  # a track shorter than this is not scored (idle)
    smoothing: float = 0.6  # weight of the newest probabilities in the moving average (1 = none)
    threshold: float = 0.25  # smoothed top probability below this -> unknown
    top_k: int = 5
    frame_queue: int = 2

    def __post_init__(self) -> None:
        if not (self.window_s > 0 and self.rate_hz > 0 and self.stride_s > 0 and 0 < self.smoothing <= 1
                and 0 <= self.threshold <= 1 and self.top_k >= 1 and self.frame_queue >= 1
                and 0 <= self.min_span_s <= self.window_s):
            raise ValueError(f"invalid live configuration: {self}")


@dataclass(frozen=True)
class FrameResult:
    """One frame after the pose stage. ``frame.image`` is the source image (read-only), None in replays."""

    frame: Frame
    pose: PoseResult
    pose_ms: float
    queue_ms: float  # capture -> pose start: time spent waiting in the frame queue


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


@dataclass
class Stats:
    """Counters and timings of a run (written by the stages, read by the display; plain numbers)."""

    frames_read: int = 0
    frames_processed: int = 0
    dropped_frames: int = 0
    replaced_windows: int = 0
    windows_scored: int = 0
    pose_errors: int = 0
    pose_ms: list[float] = field(default_factory=list)
    queue_ms: list[float] = field(default_factory=list)
    inference_ms: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    end_reason: str | None = None
    _keep: ClassVar[int] = 2000  # timings kept per stage (a long run must not grow without bound)

    def add(self, name: str, value: float) -> None:
        values: list[float] = getattr(self, name)
        values.append(value)
        if len(values) > self._keep:
            del values[: len(values) - self._keep // 2]

    def fps(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.frames_processed / elapsed if elapsed > 0 else 0.0

    @staticmethod
    def summary_of(values: list[float]) -> tuple[float, float]:
        """(mean, 95th percentile) in ms; zeros when empty."""
        if not values:
            return 0.0, 0.0
        a = np.asarray(values)
        return float(a.mean()), float(np.percentile(a, 95))


_DONE = object()


class _Queue:
    """A bounded queue that either blocks (offline) or drops its oldest item (realtime) when full."""

    def __init__(self, size: int, drop_oldest: bool, stop: threading.Event) -> None:
        self._q: queue.Queue[Any] = queue.Queue(maxsize=size)
        self.drop_oldest = drop_oldest
        self._stop = stop

    def put(self, item: Any, force: bool = False) -> bool:
        """Put ``item``; returns True when an older item was dropped to make room. ``force``: never
        drop this one (end markers)."""
        dropped = False
        while not self._stop.is_set():
            if self.drop_oldest and not force:
                try:
                    self._q.put_nowait(item)
                    return dropped
                except queue.Full:
                    with contextlib.suppress(queue.Empty):
                        self._q.get_nowait()
                        dropped = True
                    continue
            try:
                self._q.put(item, timeout=0.1)
                return dropped
            except queue.Full:
                continue
        return dropped

    def get(self) -> Any:
        while True:
            try:
                return self._q.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():
                    return _DONE


class _Smoother:
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


def softmax(scores: np.ndarray) -> np.ndarray:
    z = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def recognize(source: Source, runtime: Runtime, labels: LabelsWatcher, config: LiveConfig | None = None, *,
              pose: PoseEstimator | None = None, stats: Stats | None = None,
              stop: threading.Event | None = None,
              examples: ExampleBank | None = None) -> Iterator[FrameResult | Prediction]:
    """Run the live pipeline on ``source``; yields events until the source ends or ``stop`` is set.

    ``pose`` is needed for image sources (skeleton replays bypass it). ``examples`` matches windows
    against the labels' recorded examples too (its features are computed on its own thread, started
    here; an example added to the labels file joins once its features are ready). Closing the generator
    (or ``stop.set()``) stops the threads.
    """
    config = config or LiveConfig()
    if pose is None and source.info.kind != "skeleton":
        raise ValueError("an image source needs a PoseEstimator")
    # a labels edit the runtime cannot score (more classes than an engine takes) is then a rejected edit
    # that keeps the last good labels, never an error inside the inference thread
    labels.limit_classes(runtime.check_classes)
    stats = stats if stats is not None else Stats()
    stop = stop or threading.Event()
    realtime = source.realtime or source.live  # a camera cannot be slowed down: drop, never lag
    frames_q = _Queue(config.frame_queue, realtime, stop)
    windows_q = _Queue(1, realtime, stop)
    events_q = _Queue(64, False, stop)  # the caller (display) is fast; predictions are never dropped
    errors: list[BaseException] = []

    def guarded(fn: Any) -> Any:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                errors.append(exc)
                stop.set()
        return run

    def capture() -> None:
        try:
            for frame in source.frames():
                if stop.is_set():
                    break
                stats.frames_read += 1
                if frames_q.put((frame, time.perf_counter())):
                    stats.dropped_frames += 1
        finally:
            stats.end_reason = source.end_reason
            frames_q.put(_DONE, force=True)

    def pose_stage() -> None:
        window = TimeWindow(config.window_s, config.rate_hz, config.max_gap_s)
        plane = runtime.info.recipe.plane  # image-plane models get MediaPipe's 2-D landmarks
        next_score = -math.inf
        try:
            while True:
                item = frames_q.get()
                if item is _DONE:
                    break
                frame, captured = item
                started = time.perf_counter()
                try:
                    result = PoseResult.from_skeleton(frame) if frame.image is None else pose.estimate(frame)
                except (ValueError, RuntimeError):
                    stats.pose_errors += 1  # one undecodable frame: skip it, keep the window
                    continue
                pose_ms = (time.perf_counter() - started) * 1e3
                window.push(result.joints_for(plane), frame.timestamp_s)
                stats.frames_processed += 1
                queue_ms = (started - captured) * 1e3
                stats.add("pose_ms", pose_ms)
                stats.add("queue_ms", queue_ms)
                events_q.put(FrameResult(frame, result, pose_ms, queue_ms))
                if frame.timestamp_s + 1e-9 >= next_score:
                    next_score = frame.timestamp_s + config.stride_s
                    raw = window.window()
                    span = 0.0 if raw is None else (raw.shape[1] - 1) / config.rate_hz
                    job = (frame.index, frame.timestamp_s, raw, span, result.num_people, captured)
                    if windows_q.put(job):
                        stats.replaced_windows += 1
        finally:
            windows_q.put(_DONE, force=True)

    def inference_stage() -> None:
        recipe = runtime.info.recipe
        smoother = _Smoother(config.smoothing)
        prepared: tuple[Any, PreparedText] | None = None
        try:
            while True:
                job = windows_q.get()
                if job is _DONE:
                    break
                index, t, raw, span, people, captured = job
                labels.poll()
                state = labels.state
                # the class side: again when the text, the examples listed or the examples ready change
                version: Any = state.generation
                if examples is not None:
                    examples.request(state.labels)
                    version = (state.generation, examples.version, [a.examples for a in state.labels.actions])
                if prepared is None or prepared[0] != version:
                    side = None if examples is None else examples.side(state.labels, len(state.text.names))
                    prepared = (version, runtime.prepare_text(state.text.embeddings, side))
                names = state.text.names
                if raw is None or span + 1e-9 < config.min_span_s:
                    smoother.reset()
                    events_q.put(Prediction(index, t, IDLE, (), names, None, people, span, state.generation,
                                            0.0, (time.perf_counter() - captured) * 1e3))
                    continue
                started = time.perf_counter()
                scores = runtime.scores(recipe.apply(raw)[None], prepared[1])[0]
                inference_ms = (time.perf_counter() - started) * 1e3
                probs = softmax(scores.astype(np.float64))
                smooth = smoother.update(probs, state.generation)
                order = np.argsort(-smooth)[: config.top_k]
                top = tuple((names[i], float(smooth[i])) for i in order)
                kind = ACTION if top[0][1] >= config.threshold else UNKNOWN
                latency = (time.perf_counter() - captured) * 1e3
                stats.windows_scored += 1
                stats.add("inference_ms", inference_ms)
                stats.add("latency_ms", latency)
                events_q.put(Prediction(index, t, kind, top, names, probs.astype(np.float32), people, span,
                                        state.generation, inference_ms, latency))
        finally:
            events_q.put(_DONE, force=True)

    if examples is not None:
        examples.start()
    threads = [threading.Thread(target=guarded(fn), name=f"dvta-{fn.__name__}", daemon=True)
               for fn in (capture, pose_stage, inference_stage)]
    for th in threads:
        th.start()
    try:
        while True:
            event = events_q.get()
            if event is _DONE:
                break
            yield event
    finally:
        stop.set()
        for th in threads:
            th.join(timeout=5.0)
        if examples is not None:
            examples.stop()
    if errors:
        raise errors[0]


__all__ = ["ACTION", "IDLE", "UNKNOWN", "FrameResult", "LiveConfig", "Prediction", "Stats", "recognize",
           "softmax"]
