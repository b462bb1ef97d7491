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
Scoring (softmax, smoothing, top-k, threshold -> ``Prediction``) and the class-side cache are
``realtime.scoring``'s, the same ones ``Recognizer.predict`` uses.
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
from dvta_live.pose.estimator import PoseEstimator, PoseResult
from dvta_live.pose.sources import Frame, Source
from dvta_live.realtime.buffer import TimeWindow
from dvta_live.realtime.scoring import (
    ACTION,
    IDLE,
    UNKNOWN,
    ClassSide,
    LiveConfig,
    Prediction,
    Smoother,
    make_prediction,
    softmax,
)
from dvta_live.runtimes import Runtime

if TYPE_CHECKING:
    from dvta_live.realtime.example_bank import ExampleBank


@dataclass(frozen=True)
class FrameResult:
    """One frame after the pose stage. ``frame.image`` is the source image (read-only), None in replays."""

    frame: Frame
    pose: PoseResult
    pose_ms: float
    queue_ms: float  # capture -> pose start: time spent waiting in the frame queue


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
        window = TimeWindow(config.window_s, config.rate_hz, config.max_gap_s,
                            joints=runtime.info.recipe.num_joints)
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
        smoother = Smoother(config.smoothing)
        side = ClassSide(runtime, examples)  # the class side, again when the text or the examples change
        try:
            while True:
                job = windows_q.get()
                if job is _DONE:
                    break
                index, t, raw, span, people, captured = job
                labels.poll()
                state = labels.state
                text = side.get(state)
                scores, inference_ms = None, 0.0  # nobody, or too short a track: idle, nothing scored
                if not (raw is None or span + 1e-9 < config.min_span_s):
                    started = time.perf_counter()
                    scores = runtime.scores(recipe.apply(raw)[None], text)[0]
                    inference_ms = (time.perf_counter() - started) * 1e3
                prediction = make_prediction(scores, state, index=index, timestamp_s=t, people=people,
                                             span_s=span, top_k=config.top_k, threshold=config.threshold,
                                             inference_ms=inference_ms, captured=captured, smoother=smoother)
                if scores is not None:
                    stats.windows_scored += 1
                    stats.add("inference_ms", inference_ms)
                    stats.add("latency_ms", prediction.latency_ms)
                events_q.put(prediction)
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
