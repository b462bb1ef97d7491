"""The public Python API: one object that holds a model, a runtime and a labels file.

    import dvta_live

    recognizer = dvta_live.load()                        # the bundled skeleton model and everyday labels
    print(recognizer.predict(window).label)              # window: NTU-25 joints [3, T, 25, 2]
    camera = dvta_live.load(source=0)                    # the bundled camera model, for what a webcam gives
    for event in camera.recognize(0):                    # the generator `dvta run` consumes
        ...

A *window* is what the model's recipe takes, any T (the recipe resamples it, exactly as training and the
live loop do): for a 3-D model raw NTU-25 skeleton data in NTU camera axes, metres, ``[3, T, 25, 2]``, or
a ``SkeletonSequence``; for a 2-D (camera) model COCO-17 image keypoints with scores ``[3, T, 17, 2]`` (a
3-D window given to it is seen from straight ahead).
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dvta_live.conventions import DEFAULT_FPS, MAX_BODIES
from dvta_live.errors import UserError
from dvta_live.exporters.profile import ProfileBounds

_BOUNDS = ProfileBounds()  # the engine profile's defaults, as `dvta export` has them

if TYPE_CHECKING:
    import threading

    from dvta_live.exporters.exporter import Exported
    from dvta_live.labels.schema import Labels
    from dvta_live.labels.watcher import LabelsState, LabelsWatcher
    from dvta_live.model import ModelInfo
    from dvta_live.pose.inputs import LiveInput
    from dvta_live.realtime.live import FrameResult, Stats
    from dvta_live.realtime.scoring import ClassSide, LiveConfig, Prediction
    from dvta_live.runtimes import PreparedText, Runtime
    from dvta_live.skeleton.sequence import SkeletonSequence


def available_models() -> dict[str, Path]:
    """Models shipped with the package, by the name ``load`` takes: ``camera`` (2-D keypoints from images),
    ``skeleton`` (3-D joints) and ``default`` (the skeleton model, what ``load()`` gives without a source)."""
    from dvta_live.model import BUNDLED, HEAD_FILE, bundled_model_path

    found = {name: bundled_model_path(name) for name in BUNDLED}
    found = {name: path for name, path in found.items() if (path / HEAD_FILE).is_file()}
    if "skeleton" in found:
        found["default"] = found["skeleton"]
    return found


def load(model: str | Path | None = None, labels: str | Path | None = None, runtime: str = "auto", *,
         threads: int | None = None, device: str | None = None, example_weight: float | None = None,
         source: str | int | Path | None = None) -> Recognizer:
    """A ready recogniser. ``model``: a model folder, a head file, a name from ``available_models()``,
    or None: the bundled model for ``source`` (a camera index, a video or stream: the camera model, on
    2-D image keypoints; a skeleton file, Kinect, mocap, ``realsense``, or no source: the skeleton
    model, on 3-D joints; ``recognizer.info.recipe.plane`` says which); ``labels``: a labels file (YAML), or
    None (the bundled everyday labels); ``runtime``: auto | tensorrt | onnx | torch (auto picks the
    fastest here); ``example_weight``: how much the labels' recorded examples count beside the text
    (None: the default, ``dvta.examples.EXAMPLE_WEIGHT``; 0: text alone)."""
    from dvta_live.model import default_model
    from dvta_live.runtimes import open_runtime

    named = available_models()
    if model is not None and str(model) in named and not Path(model).exists():
        path = named[str(model)]
    else:
        kind = None
        if model is None and source is not None:
            from dvta_live.pose.sources import check_source

            kind = check_source(str(source))
        path = default_model(model, kind)
    rt = open_runtime(path, runtime, device=device, threads=threads)
    try:
        return Recognizer(rt, labels, example_weight=example_weight)
    except BaseException:
        rt.close()
        raise


def read_skeleton(path: str | Path | None = None, sequence: int | str | None = None) -> SkeletonSequence:
    """One skeleton sequence from any file or folder the project reads (``dvta data inspect`` lists the
    formats: NTU ``.skeleton``, ``.dvta.safetensors``, BVH, CMU ``.amc``, UTD-MHAD, NW-UCLA, ...; None: the
    bundled demo, what ``recognize()`` plays), as NTU-25 joints ``.data`` [3, T, 25, 2] in NTU camera axes,
    metres, with its ``fps``, ``label`` and ``name``: ``.data`` slices are the windows ``predict`` takes.

    A file of several sequences needs a pick, as ``dvta run --source`` takes it: ``"PATH#N"`` or
    ``sequence=N`` (an index 0..N-1), ``"PATH#NAME"`` or ``sequence="NAME"`` (a sequence's name). A file of
    one sequence needs none. Raises ``UserError`` naming the file and the fix."""
    from dvta_live.skeleton.readers import read_path

    if path is None:
        from dvta_live.pose.inputs import bundled_demo_source

        path = bundled_demo_source()
    file = Path(path)
    if sequence is None and not file.exists() and "#" in str(path):  # PATH#N / PATH#NAME
        head, _, sequence = str(path).rpartition("#")
        file = Path(head)
    sequences = read_path(file).sequences  # a DataError (a UserError) when it cannot be read
    if not sequences:
        raise UserError("holds no skeleton sequences", file)
    if sequence is None:
        if len(sequences) > 1:
            raise UserError(f"holds {len(sequences)} sequences", file,
                            f"pick one: read_skeleton('{file}#0') or read_skeleton(path, sequence=0)")
        return sequences[0]
    if isinstance(sequence, int) or sequence.isdigit():
        if 0 <= int(sequence) < len(sequences):
            return sequences[int(sequence)]
    else:
        for seq in sequences:
            if seq.name == sequence:
                return seq
    shown = ", ".join(s.name for s in sequences[:5]) + (", ..." if len(sequences) > 5 else "")
    raise UserError(f"no sequence {sequence!r} (it holds {len(sequences)}: {shown})", file,
                    "give a sequence index 0..N-1 or one of its names")


def export(model: str | Path | None = None, out: str | Path | None = None, *, format: str = "onnx",
           split: bool = False, check: bool = False, check_data: Sequence[str | Path] | None = None,
           check_samples: int = 16, check_classes: int = 60, fp16: bool | None = None, graph: str = "window",
           min_batch: int = _BOUNDS.min_batch, opt_batch: int = _BOUNDS.opt_batch,
           max_batch: int = _BOUNDS.max_batch, min_classes: int = _BOUNDS.min_classes,
           opt_classes: int = _BOUNDS.opt_classes, max_classes: int = _BOUNDS.max_classes,
           timing_cache: str | Path | None = None, workspace: float = 4.0, opset: int = 17) -> Exported:
    """``dvta export`` from Python, the same options: ``model`` (a model folder or head file; None: the
    bundled model) -> ONNX graphs (``format="engine"``: and a TensorRT engine) in ``out`` (a folder, or
    ``X.onnx`` / ``X.engine``: the other files are named ``X.*``; None: the model folder). ``split`` writes
    the backbone and the head as separate graphs too; ``graph``, ``fp16``, the ``min/opt/max`` batch and
    class bounds, ``timing_cache`` and ``workspace`` (GiB) set how an engine is built. ``check`` compares
    eager PyTorch with the export on real skeletons (``check_data``: skeleton files or folders, default
    ``../shared/data/ntu``; at most ``check_samples`` sequences, ``check_classes`` classes) and raises
    ``UserError`` above the tolerance. Returns what was written: ``.files`` (graph name -> path),
    ``.notes``, ``.info``."""
    from dvta_live.exporters.exporter import EngineOptions
    from dvta_live.exporters.exporter import export as export_model

    options = EngineOptions(graph, ProfileBounds(min_batch, opt_batch, max_batch, min_classes, opt_classes,
                                                 max_classes), fp16,
                            None if timing_cache is None else Path(timing_cache), workspace)
    done = export_model(model, format, out=None if out is None else Path(out), split=split, opset=opset,
                        engine=options)
    if check:
        from dvta_live.runtimes.check import check_export

        data = None if check_data is None else [Path(p) for p in check_data]
        results, _ = check_export(done.model, done.paths, data, check_samples, check_classes, format == "engine")
        failed = [r for r in results if not r.passed]
        if failed:
            worst = max(failed, key=lambda r: r.max_rel)
            raise UserError(f"{', '.join(r.runtime for r in failed)} differ from eager PyTorch above the "
                            f"tolerance (max rel {worst.max_rel:.2e} > {worst.tolerance:.0e})", done.paths.folder,
                            "check the export's precision (fp16 / fp32) and the model")
    return done


class Recognizer:
    """A model behind a runtime, scored against a labels file. The labels file is watched: an edit is
    used at the next call (a broken edit keeps the last good labels; ``labels_status`` says why)."""

    def __init__(self, runtime: Runtime, labels: str | Path | None = None, *,
                 example_weight: float | None = None) -> None:
        from dvta_live.dvta.examples import EXAMPLE_WEIGHT
        from dvta_live.realtime.example_bank import ExampleBank

        self.runtime = runtime
        self.watcher = self._watch(labels)
        # the labels' recorded examples, matched beside the text (features cached per model)
        self.examples = ExampleBank(runtime, weight=EXAMPLE_WEIGHT if example_weight is None else example_weight)
        # the class side, computed once per labels version (the live loop's cache), not once per window
        self._class_side: tuple[LabelsWatcher, ClassSide] | None = None

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
        return self._scores(window)[1]

    def _scores(self, window: Any) -> tuple[LabelsState, np.ndarray]:
        """``scores`` and the labels state they are over (one snapshot: names, generation and text)."""
        data = np.asarray(getattr(window, "data", window), dtype=np.float32)
        if data.ndim not in (4, 5):
            raise UserError(f"a window is [3, T, 25, 2] NTU-25 joints (or a batch of them), got shape "
                            f"{list(data.shape)}", fix="pass SkeletonSequence.data or a slice of it")
        batch = data if data.ndim == 5 else data[None]
        state, text = self._text()
        out = self.runtime.scores(self.info.recipe.apply_batch(batch), text)
        return state, (out if data.ndim == 5 else out[0])

    def _text(self) -> tuple[LabelsState, PreparedText]:
        """The labels in use and the runtime's class side for them (``ClassSide``: prepared again only when
        the text or the examples change; every example's features computed first)."""
        from dvta_live.realtime.scoring import ClassSide

        self.watcher.poll()
        watcher = self.watcher
        if self._class_side is None or self._class_side[0] is not watcher:  # set_labels: a new watcher
            self._class_side = (watcher, ClassSide(self.runtime, self.examples, wait=True))
        state = watcher.state  # one snapshot: generation, text and examples belong together
        return state, self._class_side[1].get(state)

    def predict(self, window: Any, *, top_k: int = 5, threshold: float = 0.25) -> Prediction:
        """One window -> an immutable ``Prediction`` (the live loop's type, unsmoothed): its ``label`` is
        the best action, or ``unknown`` below ``threshold``, or ``idle`` for an empty window."""
        from dvta_live.realtime.scoring import make_prediction

        data = np.asarray(getattr(window, "data", window), dtype=np.float32)
        if data.ndim != 4:
            raise UserError(f"predict takes one window [3, T, 25, 2], got shape {list(data.shape)}",
                            fix="use scores() for a batch")
        started = time.perf_counter()
        state, logits = self._scores(data)
        ms = (time.perf_counter() - started) * 1e3
        span = max(data.shape[1] - 1, 0) / DEFAULT_FPS  # the recipes' rate (Kinect v2)
        people = int(np.any(data, axis=(0, 1, 2)).sum())
        return make_prediction(logits if people else None, state, index=data.shape[1] - 1, timestamp_s=span,
                               people=people, span_s=span, top_k=top_k, threshold=threshold, inference_ms=ms)

    # -- a source --------------------------------------------------------------------------------------
    def recognize(self, source: str | int | Path | LiveInput | None = None, *, frames: bool = True,
                  realtime: bool = False, mirrored: bool | None = None, loop: int = 1, pose_model: str = "lite",
                  people: int = MAX_BODIES, config: LiveConfig | None = None, stats: Stats | None = None,
                  stop: threading.Event | None = None, **options: Any) -> Iterator[FrameResult | Prediction]:
        """Lazily recognise a source: a camera index, a video file or URL, ``realsense``, a skeleton file
        (None: the bundled demo), or an input ``open_input`` opened (left open). Yields the live loop's
        ``FrameResult`` and ``Prediction`` events (``frames=False``: the ``Prediction`` events only). ``options``
        are ``LiveConfig`` fields (``window_s``, ``stride_s``, ``threshold``, ``smoothing``, ``top_k``,
        ...). ``realtime=False`` processes every frame as fast as possible; ``True`` paces files and drops
        frames rather than lag (cameras always do)."""
        from dvta_live.pose.inputs import LiveInput, open_input
        from dvta_live.realtime.live import recognize
        from dvta_live.realtime.scoring import LiveConfig

        config = replace(config or LiveConfig(), **options)
        if isinstance(source, LiveInput):
            yield from _events(recognize(source.source, self.runtime, self.watcher, config, pose=source.pose,
                                         stats=stats, stop=stop, examples=self.examples), frames)
            return
        with open_input(source, realtime=realtime, mirrored=mirrored, loop=loop, pose_model=pose_model,
                        people=people) as opened:
            yield from _events(recognize(opened.source, self.runtime, self.watcher, config, pose=opened.pose,
                                         stats=stats, stop=stop, examples=self.examples), frames)

    def close(self) -> None:
        """Release the runtime's sessions and device memory."""
        self.runtime.close()

    def __enter__(self) -> Recognizer:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<dvta_live.Recognizer {self.info.path} runtime={self.describe()!r} {len(self.names)} actions>"


def _events(events: Generator[Any, None, None], frames: bool) -> Iterator[Any]:
    """The live loop's ``events``, without its ``FrameResult`` events unless ``frames``; closing this generator
    closes ``events`` (and so stops the loop's threads)."""
    if frames:
        yield from events
        return
    from dvta_live.realtime.scoring import Prediction

    with closing(events):
        for event in events:
            if isinstance(event, Prediction):
                yield event


__all__ = ["Recognizer", "available_models", "load"]
