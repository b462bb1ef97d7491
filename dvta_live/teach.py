"""Teaching actions by example: ``dvta labels add NAME --example FILE[#a-b]`` (clips from files) and
``dvta teach`` (takes recorded from a camera), each stored beside the labels file and appended to the
action's ``examples:``."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from dvta_live.errors import UserError
from dvta_live.labels.edit import EditResult, add_action, add_examples, check_editable
from dvta_live.labels.examples import CLIP_SUFFIX, examples_folder, parse_example
from dvta_live.outputs import check_folder_writable
from dvta_live.pose.clips import FrameStream, capture_take, load_example
from dvta_live.pose.inputs import open_input
from dvta_live.pose.sources import check_source
from dvta_live.skeleton.sequence import SkeletonDataset, SkeletonSequence
from dvta_live.skeleton.store import save_dataset


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")
    return slug[:60].strip("-") or "example"


def save_example(seq: SkeletonSequence, labels_path: str | Path, action_name: str) -> Path:
    """Write ``seq`` as ``<slug>-<n>.dvta.safetensors`` (the first free n) in the labels file's examples
    folder, atomically; returns the path."""


    folder = examples_folder(labels_path)
    slug = _slug(action_name)
    n = 1
    while (folder / f"{slug}-{n}{CLIP_SUFFIX}").exists():
        n += 1
    path = folder / f"{slug}-{n}{CLIP_SUFFIX}"
    seq = replace(seq, name=path.name[: -len(CLIP_SUFFIX)], label=0,
                  data=np.ascontiguousarray(seq.data, dtype=np.float32))
    save_dataset(SkeletonDataset("dvta-example", (action_name,), (seq,)), path)
    return path


def entry_for(stored: Path, labels_path: str | Path) -> str:
    """How the labels file names a stored clip: relative to its folder, with forward slashes."""
    base = Path(labels_path).resolve().parent
    try:
        return stored.resolve().relative_to(base).as_posix()
    except ValueError:
        return stored.resolve().as_posix()


def _check_target(labels_path: Path, name: str, context: Sequence[str]) -> bool:
    """Before any long work: the labels file can be edited, its examples folder written, and the action
    exists or ``context`` can create it. Returns whether the action exists."""

    labels = check_editable(labels_path)
    check_folder_writable(examples_folder(labels_path))
    action = labels.find(name)
    if action is None and not [c for c in context if c.strip()]:
        raise UserError(f"no action `{name}` yet", labels_path,
                        "give it a context to add it: --context \"one or two sentences on the body movement\"")
    if action is not None and context:
        raise UserError(f"`{name}` already exists (line {action.line}); its context stays as written",
                        labels_path, "leave out --context to add examples to it, or edit the file")
    return action is not None


def _append(labels_path: Path, name: str, stored: list[Path], context: Sequence[str],
            aliases: Sequence[str], exists: bool) -> EditResult:

    entries = [entry_for(p, labels_path) for p in stored]
    try:
        if exists:
            return add_examples(labels_path, name, entries)
        return add_action(labels_path, name, context, aliases, examples=entries)
    except BaseException:
        for p in stored:  # the edit was refused: no clip the file does not name
            p.unlink(missing_ok=True)
        raise


def add_example_files(labels_path: str | Path, name: str, sources: Sequence[str], *,
                      context: Sequence[str] = (), aliases: Sequence[str] = (),
                      base_dir: str | Path = ".", pose_model: str = "lite") -> EditResult:
    """``dvta labels add NAME [--context ...] --example FILE[#a-b] ...``: each source (a video or a
    skeleton file, relative to ``base_dir``) is read (``load_example``), cut, stored in the examples
    folder, and the stored clips are appended to the action's ``examples:`` (adding the action, with
    ``context``, when it is missing). Nothing is stored or written unless every source is usable."""
    p = Path(labels_path)
    exists = _check_target(p, name, context)
    clips = [load_example(parse_example(s, base_dir)) for s in sources]
    stored = []
    try:
        for seq in clips:
            stored.append(save_example(seq, p, name))
    except BaseException:
        for q in stored:
            q.unlink(missing_ok=True)
        raise
    return _append(p, name, stored, context, aliases, exists)


# --- dvta teach ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Countdown:
    """Before take ``take`` of ``count``: ``remaining`` seconds to go (0: recording starts now)."""

    take: int
    count: int
    remaining: int


@dataclass(frozen=True)
class TakeResult:
    """A take captured: ``saved`` is the stored clip, or None when refused (``reason`` says why)."""

    take: int
    count: int
    frames: int
    with_person: int
    saved: Path | None
    reason: str = ""


@dataclass(frozen=True)
class SourceEnded:
    """The source ran out after take ``take`` of ``count``: no more takes."""

    take: int
    count: int


@dataclass(frozen=True)
class Taught:
    """The end: the labels file after the edit and the clips it now names."""

    result: EditResult
    saved: tuple[Path, ...]


TeachEvent = Countdown | TakeResult | SourceEnded | Taught


def record_examples(labels_path: str | Path, name: str, source: str | None = None, *, seconds: float = 3.0,
                    count: int = 3, context: Sequence[str] = (), aliases: Sequence[str] = (),
                    countdown: int = 3, pose_model: str = "lite", mirrored: bool | None = None,
                    sleep: Callable[[float], None] = time.sleep) -> Iterator[TeachEvent]:
    """``dvta teach``: record ``count`` takes of ``seconds`` each from ``source`` (anything ``dvta run
    -s`` takes; None: the default source), each after a countdown, and yield what happens. Takes with a
    person in at least half their frames are stored (``save_example``); at the end they are appended to
    the action in the labels file (added, with ``context``, when missing). A live camera is paced in real
    time (``sleep`` between countdown steps); a file is read as consecutive stretches without waiting.
    Raises UserError before recording when the labels file cannot take the result, and at the end when no
    take was usable (nothing is written then)."""

    if not seconds > 0 or not math.isfinite(seconds):
        raise UserError(f"--seconds {seconds:g} is out of range", fix="seconds > 0, e.g. --seconds 3")
    if count < 1:
        raise UserError(f"--count {count} is out of range", fix="at least one take, e.g. --count 3")
    p = Path(labels_path)
    exists = _check_target(p, name, context)
    spec = "0" if source is None else str(source)
    check_source(spec)
    stored: list[Path] = []
    try:
        with open_input(spec, realtime=False, mirrored=mirrored, pose_model=pose_model) as live:
            paced = live.source.info.live
            stream = FrameStream(live)
            for k in range(1, count + 1):
                for remaining in range(countdown, 0, -1):
                    yield Countdown(k, count, remaining)
                    if paced:
                        sleep(1.0)
                yield Countdown(k, count, 0)
                take = capture_take(live, None, seconds, stream)
                saved, reason = None, ""
                if take.frames == 0:
                    reason = "the source ended"
                elif take.ended and take.frames < 0.5 * seconds * take.fps:
                    reason = f"the source ended {take.frames / take.fps:.1f} s into the take"
                elif not take.usable:
                    reason = "nobody in view" if take.with_person == 0 else \
                        "a person in fewer than half of the frames"
                else:
                    seq = take.sequence(f"take {k}", f"{live.source.info.name} (take {k})")
                    saved = save_example(seq, p, name)
                    stored.append(saved)
                yield TakeResult(k, count, take.frames, take.with_person, saved, reason)
                if take.ended or take.frames == 0:
                    if k < count:
                        yield SourceEnded(k, count)
                    break
        if not stored:
            raise UserError(f"no take had a person in view; nothing saved for `{name}`", spec,
                            "stand where the whole body is in the picture, then try again")
    except BaseException:
        for q in stored:  # stopped part-way or failed: no clip the labels file does not name
            q.unlink(missing_ok=True)
        raise
    yield Taught(_append(p, name, stored, context, aliases, exists), tuple(stored))



__all__ = [
    "Countdown",
    "SourceEnded",
    "TakeResult",
    "Taught",
    "TeachEvent",
    "add_example_files",
    "entry_for",
    "record_examples",
    "save_example",
]
