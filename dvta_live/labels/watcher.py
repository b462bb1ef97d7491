"""Hot reload of a labels file for the live loop.

`LabelsWatcher.state` is one immutable `LabelsState` (labels + text tensor + status), replaced by a
single reference assignment, so a reader on any thread gets the old complete state or the new complete
state, never a mix. `poll()` is cheap enough to call every frame: a clock read; a `stat` at most every
`min_interval` seconds; the file is read and hashed only when its mtime, size or inode changed (and once
a second regardless, for a same-size edit within one mtime tick). A changed file is validated and
re-encoded through the cache (only new texts reach the model); an invalid edit keeps the last good
state and puts the error in `state.error` / `status` for the display. A file valid in itself but one
the runtime cannot score (more classes than a TensorRT engine was built for: `check_classes`) is such
an invalid edit too, so the live loop never meets it.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from dvta_live.errors import UserError
from dvta_live.labels.encoder import TextEncoder, get_encoder
from dvta_live.labels.loader import parse_labels, read_text
from dvta_live.labels.schema import Labels, TextTensor


@dataclass(frozen=True)
class LabelsState:
    """One consistent snapshot: the labels, their text tensor, and what happened to the latest edit."""

    labels: Labels
    text: TextTensor
    generation: int  # +1 each time a new text tensor is swapped in
    error: str | None = None  # why the file on disk is not the one in use (None: it is)
    loaded_at: float = 0.0  # time.time() of the swap

    @property
    def status(self) -> str:
        """One line for the live display."""
        model = self.text.model
        name = Path(model).name if "/" in model or os.sep in model else model
        good = f"{len(self.labels)} actions, {name}"
        if self.error:
            return f"labels edit rejected, keeping {good}: {self.error}"
        return f"labels: {good}"


class LabelsWatcher:
    """Keeps the text tensor of a labels file current while the user edits the file.

    Use either `poll()` from the live loop (every frame is fine) or `start()` a background thread;
    read `state` (or `text`) whenever needed.
    """

    def __init__(self, path: str | Path, *, text_model: str | None = None,
                 cache_dir: str | Path | None = None, device: str | None = None,
                 expected_dim: int | None = None, expected_model: str | None = None, min_interval: float = 0.2,
                 on_change: Callable[[LabelsState], None] | None = None,
                 check_classes: Callable[[int], None] | None = None) -> None:
        self.path = Path(path)
        self.text_model = text_model  # overrides the file's text_model when given
        self.cache_dir = cache_dir
        self.device = device
        self.expected_dim = expected_dim  # the DVTA head's text size: a model giving another size is refused
        self.expected_model = expected_model  # the text model the head was trained with, for the message
        self.min_interval = min_interval
        self.on_change = on_change
        # the runtime's limit on the number of classes (Runtime.check_classes): raises UserError
        self.check_classes = check_classes
        self._lock = threading.Lock()  # one reload at a time (background thread + explicit polls)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_check = 0.0
        self._stat: tuple[int, int, int] | None = None  # (mtime_ns, size, inode) of the last read
        self._digest: bytes | None = None  # hash of the last content read (good or bad)
        self._last_hash = time.monotonic()
        self.rehash_interval = 1.0
        text = read_text(self.path)
        self._stat = self._stat_now()
        self._digest = _hash(text)
        labels = parse_labels(text, self.path)  # no last good state yet: an invalid file is an error
        self._check_size(labels)
        tensor = self._encode(labels)
        self._state = LabelsState(labels, tensor, 1, None, time.time())

    # -- reading -------------------------------------------------------------------------------------
    @property
    def state(self) -> LabelsState:
        return self._state  # one reference read: atomic

    @property
    def text(self) -> TextTensor:
        return self._state.text

    @property
    def labels(self) -> Labels:
        return self._state.labels

    @property
    def error(self) -> str | None:
        return self._state.error

    @property
    def status(self) -> str:
        return self._state.status

    # -- reloading -----------------------------------------------------------------------------------
    def _stat_now(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _encoder(self, labels: Labels) -> TextEncoder:
        spec = self.text_model if self.text_model is not None else labels.text_model
        base = None if self.text_model is not None else self.path.parent
        return get_encoder(spec, base_dir=base, cache_dir=self.cache_dir, device=self.device)

    def _encode(self, labels: Labels) -> TextTensor:
        tensor = self._encoder(labels).encode_labels(labels)
        if self.expected_dim is not None and tensor.dim != self.expected_dim:
            # The head decides the size; the labels file only picks the text model, so say which one fits.
            trained = f"`text_model: {self.expected_model}`" if self.expected_model else "its text_model"
            raise UserError(f"the recognition model's head takes {self.expected_dim}-d text embeddings and was "
                            f"trained with {self.expected_model or 'another text model'}; this labels file's "
                            f"text model {tensor.model} gives {tensor.dim}-d", self.path,
                            f"set {trained} in the labels file, or run a model trained with {tensor.model}")
        return tensor

    def _check_size(self, labels: Labels, check: Callable[[int], None] | None = None) -> None:
        check = check or self.check_classes
        if check is None:
            return
        try:
            check(len(labels))
        except UserError as exc:  # name this labels file; the runtime's message says what it takes
            raise UserError(f"{len(labels)} actions that the recogniser cannot score: {exc}", self.path) from None

    def limit_classes(self, check: Callable[[int], None]) -> None:
        """From now on, refuse a labels file ``check`` rejects (a runtime's ``check_classes``). The labels in
        use must pass it: there is no last good state to fall back to (UserError)."""
        self._check_size(self._state.labels, check)
        self.check_classes = check

    def poll(self, force: bool = False) -> bool:
        """Reload if the file changed; True when a new text tensor was swapped in (an edit that leaves the
        tensor as it was, e.g. a comment, updates `labels` and clears the error but returns False).
        Never raises for a bad edit (the error goes to `state.error`)."""
        now = time.monotonic()
        if not force and now - self._last_check < self.min_interval:
            return False  # the every-frame case: one clock read
        self._last_check = now
        return self._check(force)

    def _check(self, force: bool) -> bool:
        if not self._lock.acquire(blocking=False):
            return False  # a reload is already running (other thread); it will see the change
        try:
            st = self._stat_now()
            now = time.monotonic()
            if not force and st == self._stat and now - self._last_hash < self.rehash_interval:
                return False
            # An unchanged stat still gets a re-hash now and then: a same-size edit within one mtime tick.
            self._last_hash = now
            if st is None:
                self._set_error(f"{self.path}: file is missing (deleted or being replaced)")
                self._stat, self._digest = None, None  # whatever comes back gets a full look
                return False
            try:
                text = read_text(self.path)
            except UserError as exc:
                self._set_error(str(exc))
                self._digest = None
                return False
            if self._stat_now() != st:
                return False  # still being written: look again at the next poll
            self._stat = st
            digest = _hash(text)
            if digest == self._digest and not force:
                return False  # touched, or saved unchanged
            self._digest = digest
            try:
                labels = parse_labels(text, self.path)
                self._check_size(labels)
                tensor = self._encode(labels)
            except UserError as exc:
                self._set_error(str(exc))
                return False
            except Exception as exc:  # noqa: BLE001 - whatever an edit breaks, the run keeps its last good labels
                self._set_error(f"{self.path}: could not load the edit ({type(exc).__name__}: {str(exc)[:160]})")
                return False
            old = self._state
            if _same(tensor, old.text):
                # A comment or layout edit, or a revert: same tensor, so consumers need not rebuild anything.
                self._state = LabelsState(labels, old.text, old.generation, None, old.loaded_at)
                return False
            self._state = LabelsState(labels, tensor, old.generation + 1, None, time.time())
        finally:
            self._lock.release()
        if self.on_change is not None:
            self.on_change(self._state)
        return True

    def _set_error(self, message: str) -> None:
        if self._state.error != message:
            self._state = replace(self._state, error=message)  # same labels and tensor, new status

    # -- background thread ---------------------------------------------------------------------------
    def start(self, interval: float | None = None) -> LabelsWatcher:
        """Poll from a daemon thread every `interval` seconds (default: min_interval)."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()
        period = self.min_interval if interval is None else interval

        def run() -> None:
            while not self._stop.wait(period):
                try:
                    self._check(False)
                except Exception as exc:  # noqa: BLE001 - the thread must outlive any surprise
                    self._set_error(f"reload failed: {type(exc).__name__}: {exc}")

        self._thread = threading.Thread(target=run, name=f"labels-watcher:{self.path.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LabelsWatcher:  # noqa: PYI034 - Self needs Python 3.11
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _same(a: TextTensor, b: TextTensor) -> bool:
    return a.names == b.names and a.model == b.model and np.array_equal(a.embeddings, b.embeddings)


def _hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
