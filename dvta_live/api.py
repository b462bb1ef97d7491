"""The public Python API: one object that holds a model, a runtime and a labels file.

    import dvta_live

    recognizer = dvta_live.load()                        # the bundled model and everyday labels
    print(recognizer.predict(window).label)              # window: NTU-25 joints [3, T, 25, 2]
    for event in recognizer.recognize("clip.mp4"):       # the generator `dvta run` consumes
        ...

A *window* is raw NTU-25 skeleton data in NTU camera axes, metres, ``[3, T, 25, 2]`` (any T: the
model's recipe resamples it, exactly as training and the live loop do), or a ``SkeletonSequence``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dvta_live.errors import UserError

if TYPE_CHECKING:
    import threading

    from dvta_live.labels.schema import Labels
    from dvta_live.labels.watcher import LabelsWatcher
    from dvta_live.pose.inputs import LiveInput
    from dvta_live.realtime.live import FrameResult, LiveConfig, Prediction, Stats
    from dvta_live.model import ModelInfo
    from dvta_live.runtimes import PreparedText, Runtime


def available_models() -> dict[str, Path]:
    """Models shipped with the package, by the name ``load`` takes (``default``: the bundled model)."""
    from dvta_live.model import HEAD_FILE, bundled_model_path

    bundled = bundled_model_path()
    return {"default": bundled} if (bundled / HEAD_FILE).is_file() else {}


def load(model: str | Path | None = None, labels: str | Path | None = None, runtime: str = "auto", *,
         threads: int | None = None, device: str | None = None,
         example_weight: float | None = None) -> Recognizer:
    """A ready recogniser. ``model``: a model folder, a head file, a name from ``available_models()``,
    or None (the bundled model); ``labels``: a labels file (YAML), or None (the bundled everyday
    labels); ``runtime``: auto | tensorrt | onnx | torch (auto picks the fastest here);
    ``example_weight``: how much the labels' recorded examples count beside the text (None: the
    default, ``dvta.examples.DEFAULT_WEIGHT``; 0: text alone)."""
    from dvta_live.model import default_model
    from dvta_live.runtimes import open_runtime

    named = available_models()
    path = named[str(model)] if model is not None and str(model) in named and not Path(model).exists() \
        else default_model(model)
    rt = open_runtime(path, runtime, device=device, threads=threads)
    try:
        return Recognizer(rt, labels, example_weight=example_weight)
    except BaseException:
        rt.close()
        raise


class Recognizer:
    """A model behind a runtime, scored against a labels file. The labels file is watched: an edit is
    used at the next call (a broken edit keeps the last good labels; ``labels_status`` says why)."""

    def __init__(self, runtime: Runtime, labels: str | Path | None = None, *,
                 example_weight: float | None = None) -> None:
        from dvta_live.dvta.examples import DEFAULT_WEIGHT
        from dvta_live.realtime.example_bank import ExampleBank

        self.runtime = runtime
        self.watcher = self._watch(labels)
        # the labels' recorded examples, matched beside the text (features cached per model)
        self.examples = ExampleBank(runtime, weight=DEFAULT_WEIGHT if example_weight is None else example_weight)
        # the class side, computed once per labels version (as the live loop does), not once per window
        self._prepared: tuple[Any, ...] | None = None

    # -- labels ----------------------------------------------------------------------------------------
    def _watch(self, labels: str | Path | None) -> LabelsWatcher:
        from dvta_live.labels.bundled import bundled_labels_path
        from dvta_live.labels.watcher import LabelsWatcher

        info = self.runtime.info
        return LabelsWatcher(bundled_labels_path() if labels is None else labels, expected_dim=info.text_dim,
                             expected_model=info.text_model or None, check_classes=self.runtime.check_classes)

    def set_labels(self, labels: str | Path | None) -> None:
        """Score against another labels file from now on (None: the bundled everyday labels)."""
        self.watcher = self._watch(labels)

    @property
    def labels(self) -> Labels:
        return self.watcher.labels

    @property
    def names(self) -> tuple[str, ...]:
        """The action names, in labels-file order: the columns of ``scores``."""
        return self.watcher.text.names

    @property
    def labels_status(self) -> str:
        """One line for a display: the labels in use (or why an edit was rejected) and their examples."""
        status = self.watcher.status
        if any(a.examples for a in self.watcher.labels.actions):
            status += f"; {self.examples.status}"
        return status

    @property
    def info(self) -> ModelInfo:
        return self.runtime.info

    def describe(self) -> str:
        """The runtime in use, and why ``auto`` chose it."""
        return self.runtime.describe()

    # -- one window ------------------------------------------------------------------------------------
    def scores(self, window: Any) -> np.ndarray:
        """Logits over ``names``: [C] for one window [3, T, 25, 2], [B, C] for a batch [B, 3, T, 25, 2]."""
        data = np.asarray(getattr(window, "data", window), dtype=np.float32)
        if data.ndim not in (4, 5):
            raise UserError(f"a window is [3, T, 25, 2] NTU-25 joints (or a batch of them), got shape "
                            f"{list(data.shape)}", fix="pass SkeletonSequence.data or a slice of it")
        batch = data if data.ndim == 5 else data[None]
        out = self.runtime.scores(self.info.recipe.apply_batch(batch), self._text())
        return out if data.ndim == 5 else out[0]

    def _text(self) -> PreparedText:
        """The runtime's class side for the labels in use, prepared again only when they change."""
        self.watcher.poll()
        watcher = self.watcher
        state = watcher.state  # one snapshot: generation, text and examples belong together
        examples = [a.examples for a in state.labels.actions]
        if self._prepared is None or self._prepared[:3] != (watcher, state.generation, examples):
            side = self.examples.side(state.labels, len(state.text.names), wait=True)
            self._prepared = (watcher, state.generation, examples, self.runtime.prepare_text(state.text.embeddings, side))
        return self._prepared[3]

    def predict(self, window: Any, *, top_k: int = 5, threshold: float = 0.25) -> Prediction:
        """One window -> an immutable ``Prediction`` (the live loop's type, unsmoothed): its ``label`` is
        the best action, or ``unknown`` below ``threshold``, or ``idle`` for an empty window."""
        from dvta_live.realtime.live import ACTION, IDLE, UNKNOWN, Prediction, softmax

        data = np.asarray(getattr(window, "data", window), dtype=np.float32)
        if data.ndim != 4:
            raise UserError(f"predict takes one window [3, T, 25, 2], got shape {list(data.shape)}",
                            fix="use scores() for a batch")
        started = time.perf_counter()
        logits = self.scores(data)
        ms = (time.perf_counter() - started) * 1e3
        state = self.watcher.state
        span = max(data.shape[1] - 1, 0) / 30.0  # the recipes' rate (Kinect v2)
        people = int(np.any(data, axis=(0, 1, 2)).sum())
        if not people:
            return Prediction(data.shape[1] - 1, span, IDLE, (), state.text.names, None, 0, span,
                              state.generation, ms, ms)
        probs = softmax(logits.astype(np.float64))
        order = np.argsort(-probs)[:top_k]
        top = tuple((state.text.names[i], float(probs[i])) for i in order)
        kind = ACTION if top[0][1] >= threshold else UNKNOWN
        return Prediction(data.shape[1] - 1, span, kind, top, state.text.names, probs.astype(np.float32),
                          people, span, state.generation, ms, ms)

    # -- a source --------------------------------------------------------------------------------------
    def recognize(self, source: str | int | Path | LiveInput | None = None, *, realtime: bool = False,
                  mirrored: bool | None = None, loop: int = 1, pose_model: str = "lite", people: int = 2,
                  config: LiveConfig | None = None, stats: Stats | None = None,
                  stop: threading.Event | None = None, **options: Any) -> Iterator[FrameResult | Prediction]:
        """Lazily recognise a source: a camera index, a video file or URL, ``realsense``, a skeleton file
        (None: the bundled demo), or an input ``open_input`` opened (left open). Yields the live loop's
        ``FrameResult`` and ``Prediction`` events. ``options`` are ``LiveConfig`` fields (``window_s``,
        ``stride_s``, ``threshold``, ``smoothing``, ``top_k``, ...). ``realtime=False`` processes every
        frame as fast as possible; ``True`` paces files and drops frames rather than lag (cameras always
        do)."""
        from dvta_live.pose.inputs import LiveInput, open_input
        from dvta_live.realtime.live import LiveConfig, recognize

        config = replace(config or LiveConfig(), **options)
        if isinstance(source, LiveInput):
            yield from recognize(source.source, self.runtime, self.watcher, config, pose=source.pose,
                                 stats=stats, stop=stop, examples=self.examples)
            return
        with open_input(source, realtime=realtime, mirrored=mirrored, loop=loop, pose_model=pose_model,
                        people=people) as opened:
            yield from recognize(opened.source, self.runtime, self.watcher, config, pose=opened.pose,
                                 stats=stats, stop=stop, examples=self.examples)

    def close(self) -> None:
        """Release the runtime's sessions and device memory."""
        self.runtime.close()

    def __enter__(self) -> Recognizer:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<dvta_live.Recognizer {self.info.path} runtime={self.describe()!r} {len(self.names)} actions>"


__all__ = ["Recognizer", "available_models", "load"]
