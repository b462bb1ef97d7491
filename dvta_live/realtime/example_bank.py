"""The example side of a labels file for a runtime: recorded clips -> live windows -> backbone features.

``ExampleBank(runtime)`` turns the ``examples:`` of a labels file into what ``Runtime.prepare_text`` takes
(``dvta.examples.example_side``). Each example clip is cut into the windows the live loop would hold
while the action is performed (``TimeWindow``, every ``hop_s``; a clip shorter than the window is one
window), and those windows go through the runtime's backbone once. Features are cached on disk per model
and clip content (``<cache>/examples/<model>/<hash>.npy``): the clips stay valid when the model changes,
their features are recomputed for the new model only.

The live loop must not stall on a new example, so ``start()`` computes features on a background thread:
``request(labels)`` queues what is missing (cheap, every window), ``side(labels, num_classes)`` returns the
side of the examples ready now, and ``version`` grows each time more are ready. ``side(..., wait=True)``
(the public API's scoring path) computes everything first.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dvta_live.cache import cache_folder
from dvta_live.conventions import DEFAULT_FPS, MAX_GAP_S, WINDOW_S
from dvta_live.dvta.examples import DEFAULT_SHARPNESS, EXAMPLE_WEIGHT, example_side
from dvta_live.errors import UserError
from dvta_live.labels.schema import Example, Labels
from dvta_live.model import model_sha256
from dvta_live.outputs import atomic_path
from dvta_live.pose.clips import load_example
from dvta_live.realtime.buffer import TimeWindow

HOP_S = 1.0  # one example window per second of a clip (a 3-s take gives one, a 6-s take four)


def example_windows(data: np.ndarray, fps: float, window_s: float = WINDOW_S, rate_hz: float = DEFAULT_FPS,
                    max_gap_s: float = MAX_GAP_S, hop_s: float = HOP_S) -> list[np.ndarray]:
    """The raw live windows [3, T, 25, 2] of a clip [3, T, 25, 2] at ``fps``: one every ``hop_s`` once the
    window is full, and the last one; a clip shorter than ``window_s`` gives one (the whole clip)."""
    buffer = TimeWindow(window_s, rate_hz, max_gap_s, joints=data.shape[2])
    out: list[np.ndarray] = []
    next_t, taken_at = window_s, -1
    for i in range(data.shape[1]):
        t = i / fps
        buffer.push(data[:, i], t)
        if t + 1e-9 >= next_t and (w := buffer.window()) is not None:
            out.append(w)
            next_t, taken_at = t + hop_s, i
    if taken_at != data.shape[1] - 1 and (w := buffer.window()) is not None:  # the end (all of a short clip)
        out.append(w)
    return out


@dataclass(frozen=True)
class _Clip:
    """An example's identity for the in-memory table: the file as it is now and the stretch of it."""

    path: str
    start_s: float | None
    end_s: float | None
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, example: Example) -> _Clip:
        try:
            st = example.path.stat()
        except OSError:
            return cls(str(example.path), example.start_s, example.end_s, -1, -1)
        return cls(str(example.path), example.start_s, example.end_s, st.st_mtime_ns, st.st_size)


class ExampleBank:
    """Example features for one runtime (see the module note). Thread-safe."""

    def __init__(self, runtime: Any, *, weight: float = EXAMPLE_WEIGHT, sharpness: float = DEFAULT_SHARPNESS,
                 window_s: float = WINDOW_S, rate_hz: float = DEFAULT_FPS, max_gap_s: float = MAX_GAP_S,
                 cache_dir: str | Path | None = None,
                 load: Callable[[Example], Any] | None = None) -> None:
        if weight < 0 or sharpness <= 0:
            raise UserError(f"the example weight must be 0 or more and the sharpness positive, got {weight}, "
                            f"{sharpness}", fix="e.g. --example-weight 256")
        self.runtime = runtime
        self.weight, self.sharpness = float(weight), float(sharpness)
        self.window = (float(window_s), float(rate_hz), float(max_gap_s))
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._load = load
        self._features: dict[_Clip, np.ndarray] = {}
        self._errors: dict[str, str] = {}  # example source -> why it gives no features
        self.version = 0  # grows when more features are ready
        self._lock = threading.Lock()
        self._wanted: dict[_Clip, Example] = {}
        self._requested: Labels | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._probe: Any = None  # a one-class text side: exported graphs need one to give features

    @property
    def cache_dir(self) -> Path:
        """``<cache>/example-features/<model hash>``; the model's files are hashed on first use, so a labels file
        without examples costs nothing at start-up."""
        if self._cache_dir is None:
            model = getattr(self.runtime, "model_hash", None) or model_sha256(self.runtime.info)
            self._cache_dir = cache_folder("example-features", model[:16])
        return self._cache_dir

    # -- features of one example ---------------------------------------------------------------------
    def features_of(self, example: Example) -> np.ndarray:
        """[n, F] backbone features of the example's live windows (cached); UserError when unreadable."""
        clip = _Clip.of(example)
        with self._lock:
            if clip in self._features:
                return self._features[clip]
        seq = self._load_clip(example)
        data = np.asarray(seq.data, dtype=np.float32)
        key = hashlib.sha256(json.dumps([self.runtime.info.recipe.to_dict(), self.window, HOP_S,
                                         float(seq.fps or DEFAULT_FPS), list(data.shape)]).encode())
        key.update(data.tobytes())
        path = self.cache_dir / f"{key.hexdigest()[:32]}.npy"
        feats = None
        if path.is_file():
            try:
                feats = np.load(path)
            except (OSError, ValueError):
                feats = None  # a damaged cache entry: computed again
        if feats is None:
            windows = example_windows(data, float(seq.fps or DEFAULT_FPS), *self.window)
            if not windows:
                raise UserError("no person in this example's frames", example.path,
                                "record it again with the whole body in view")
            recipe = self.runtime.info.recipe
            batch = np.stack([recipe.apply(w) for w in windows])
            feats = np.asarray(self.runtime.features(batch, self._probe_text()), dtype=np.float32)
            self._save(path, feats)
        with self._lock:
            self._features[clip] = feats
        return feats

    def _load_clip(self, example: Example) -> Any:
        if self._load is not None:
            return self._load(example)

        return load_example(example, plane=self.runtime.info.recipe.plane)

    def _probe_text(self) -> Any:
        if self._probe is None:
            dim = self.runtime.info.text_dim
            text = np.zeros((max(1, getattr(self.runtime.profile, "min_classes", 1)), 2, dim), np.float32)
            text[..., 0] = 1.0
            self._probe = self.runtime.prepare_text(text)
        return self._probe

    def _save(self, path: Path, feats: np.ndarray) -> None:

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp, open(tmp, "wb") as f:
                np.save(f, feats)
        except OSError:
            pass  # an unwritable cache only costs the recomputation next time

    # -- the side of a labels file -------------------------------------------------------------------
    def side(self, labels: Labels, num_classes: int | None = None, *, wait: bool = False
             ) -> tuple[np.ndarray, np.ndarray] | None:
        """``example_side`` of the labels' examples whose features are ready (all of them with ``wait``,
        skipping unreadable ones, listed in ``unreadable``); None when no action has examples."""
        if not any(a.examples for a in labels.actions) or self.weight == 0:
            return None
        feats, classes = [], []
        for c, action in enumerate(labels.actions):
            for example in action.examples:
                f = self._ready(example) if not wait else self._compute(example)
                if f is not None:
                    feats.append(f)
                    classes += [c] * len(f)
        dim = self.runtime.info.feature_dim
        stacked = np.concatenate(feats) if feats else np.zeros((0, dim), np.float32)
        return example_side(stacked, classes, num_classes or len(labels), weight=self.weight,
                            sharpness=self.sharpness, feature_dim=dim)

    def _ready(self, example: Example) -> np.ndarray | None:
        with self._lock:
            return self._features.get(_Clip.of(example))

    def _compute(self, example: Example) -> np.ndarray | None:
        try:
            feats = self.features_of(example)
        except UserError as exc:
            with self._lock:
                self._errors[example.source] = str(exc)
            return None
        with self._lock:
            self._errors.pop(example.source, None)
        return feats

    # -- background computation ----------------------------------------------------------------------
    def request(self, labels: Labels) -> None:
        """Queue the labels' examples that have no features yet (cheap when the labels did not change)."""
        if labels is self._requested:
            return
        self._requested = labels
        with self._lock:
            clips = {_Clip.of(e): e for a in labels.actions for e in a.examples}
            missing = {clip: e for clip, e in clips.items() if clip not in self._features}
            self._wanted = missing
        if missing:
            self._wake.set()

    def start(self) -> ExampleBank:
        """Compute requested features on a daemon thread (off the inference thread)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._work, name="dvta-examples", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def _work(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            while not self._stop.is_set():
                with self._lock:
                    todo = next(iter(self._wanted.items()), None)
                    if todo is not None:
                        del self._wanted[todo[0]]
                if todo is None:
                    break
                if self._compute(todo[1]) is not None:
                    with self._lock:
                        self.version += 1

    @property
    def unreadable(self) -> dict[str, str]:
        """Example source -> why it gives no features (a copy: the bank's thread may be adding to it)."""
        with self._lock:
            return dict(self._errors)

    @property
    def status(self) -> str:
        """One line on the examples in use: how many windows, and any that could not be read."""
        with self._lock:
            windows = sum(len(f) for f in self._features.values())
            errors = list(self._errors.values())
        line = f"examples: {windows} windows" + (f"; {len(errors)} unreadable: {errors[0]}" if errors else "")
        return line


__all__ = ["HOP_S", "ExampleBank", "example_windows"]
