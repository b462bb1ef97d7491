"""Recorded examples of an action (``examples:`` in a labels file): read them as NTU-25 skeleton clips,
store new ones beside the labels file, add them from files (``dvta labels add --example``) or record
them from a camera (``dvta teach``).

    from dvta_live.labels.examples import examples_folder, load_example

    for action in labels.actions:
        clips = [load_example(e) for e in action.examples]   # SkeletonSequence [3, T, 25, 2], with fps

An example is ``path[#start-end]`` (seconds), relative to the labels file. Skeleton files go through the
project's readers; videos through the live path's pose estimator (``realtime.inputs.open_input`` +
``PoseEstimator.estimate``: MediaPipe, the same NTU-25 mapping ``dvta run`` uses), cached per video hash
and range because pose estimation is slow. Examples the commands add are stored as ``.dvta.safetensors``
clips in ``<labels stem>.examples/`` beside the labels file, so they outlive a change of model or a moved
source video.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dvta_live.errors import UserError
from dvta_live.labels.schema import Example

if TYPE_CHECKING:
    from dvta_live.labels.edit import EditResult
    from dvta_live.pose.inputs import LiveInput
    from dvta_live.pose.sources import Frame
    from dvta_live.skeleton.sequence import SkeletonSequence

CLIP_SUFFIX = ".dvta.safetensors"
MIN_PERSON_FRAMES = 8  # fewer frames with a person than this is no example, whatever the clip's length
_RANGE = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*-\s*([0-9]*\.?[0-9]+)\s*")
RANGE_FIX = "write the stretch in seconds as FILE#START-END with 0 <= START < END, e.g. wave.mp4#2-5.5"


# --- the `path[#start-end]` syntax ---------------------------------------------------------------------

def split_source(text: str) -> tuple[str, float | None, float | None]:
    """``"takes/wave.mp4#2-5.5"`` -> ``("takes/wave.mp4", 2.0, 5.5)``; no ``#``: no range. ValueError
    (message; ``RANGE_FIX`` says the fix) for a bad range."""
    path, hash_, rng = text.strip().rpartition("#")
    if not hash_:
        return text.strip(), None, None
    m = _RANGE.fullmatch(rng)
    if not path.strip():
        raise ValueError(f"`{text}` names no file before '#'")
    if m is None:
        raise ValueError(f"`#{rng}` in `{text}` is not a range of seconds START-END")
    start, end = float(m.group(1)), float(m.group(2))
    if not start < end:
        raise ValueError(f"the range #{rng} in `{text}` is empty: it must end after it starts")
    return path.strip(), start, end


def parse_example(text: str, base_dir: str | Path = ".", line: int = 0) -> Example:
    """A ``--example`` option (or an ``examples:`` entry) as an Example, its path resolved against
    ``base_dir`` (the current folder for a command-line option; the labels file's folder for an entry).
    Raises UserError naming the entry and the fix; the file must exist."""
    try:
        path_text, start, end = split_source(text)
    except ValueError as exc:
        raise UserError(str(exc), None, RANGE_FIX) from None
    path = Path(os.path.abspath(Path(base_dir) / Path(path_text).expanduser()))
    if not path.exists():
        raise UserError("no such example file", path_text, f"check the path; looked for {path}")
    if not path.is_file():
        raise UserError("an example must be a file (a video or a skeleton clip), not a folder", path,
                        "name one file")
    return Example(text.strip(), path, start, end, line)


def examples_folder(labels_path: str | Path) -> Path:
    """Where a labels file's stored examples live: ``my-labels.examples/`` beside ``my-labels.yaml``."""
    p = Path(labels_path)
    stem = p.name[: -len(p.suffix)] if p.suffix.lower() in (".yaml", ".yml") else p.name
    return p.parent / f"{stem}.examples"


def pose_cache_folder() -> Path:
    """Video examples already through pose estimation: ``$DVTA_CACHE_DIR/examples`` or ~/.cache/dvta/examples."""
    from dvta_live.labels.cache import default_cache_root

    return default_cache_root().parent / "examples"


def has_person(frame: np.ndarray) -> bool:
    """Whether a [3, 25, 2] frame holds a body."""
    return bool(np.any(frame != 0))


def enough_person(with_person: int, frames: int) -> bool:
    """The rule for a usable example: a person in at least half of the frames, and at least 8."""
    return with_person >= MIN_PERSON_FRAMES and 2 * with_person >= frames


def _persons(data: np.ndarray) -> int:
    return int(np.any(data != 0, axis=(0, 2, 3)).sum())


def _refuse_empty(example: Example, with_person: int, frames: int) -> None:
    if not enough_person(with_person, frames):
        raise UserError(f"a person is in only {with_person} of {frames} frames of this example "
                        f"(it needs at least half, and {MIN_PERSON_FRAMES})", example.path,
                        "record the action with the whole body in view, or pick another stretch: FILE#START-END")


# --- reading an example ---------------------------------------------------------------------------------

def is_skeleton_file(path: str | Path) -> bool:
    from dvta_live.skeleton.readers import file_format

    return file_format(path) is not None


def load_example(example: Example, *, cache: bool = True, pose_model: str = "lite") -> SkeletonSequence:
    """The example as NTU-25 skeleton data [3, T, 25, 2] float32 with its fps, cut to start-end.

    Skeleton files (any format the readers know) are read; a file of several sequences is refused.
    Videos go through the live path's pose estimator once per (video content, range, pose model), then
    come from the cache (``pose_cache_folder``). A clip with a person in fewer than half of its frames
    (or fewer than 8) is refused with a UserError naming the file.
    """
    if is_skeleton_file(example.path):
        seq = _read_skeleton(example)
    else:
        seq = _read_video(example, cache=cache, pose_model=pose_model)
    _refuse_empty(example, _persons(seq.data), seq.num_frames)
    return seq


def _read_skeleton(example: Example) -> SkeletonSequence:
    from dataclasses import replace

    from dvta_live.skeleton.readers import read_path

    dataset = read_path(example.path)  # DataError (a UserError) names the file when it cannot be read
    if len(dataset) != 1:
        raise UserError(f"holds {len(dataset)} sequences; an example is one clip", example.path,
                        "convert the one clip you mean into its own file, or record it: dvta teach NAME")
    seq = dataset[0]
    fps = float(seq.fps) if seq.fps and seq.fps > 0 else 30.0
    data = seq.data
    if example.start_s is not None and example.end_s is not None:
        _check_range(example, data.shape[1] / fps, fps)
        a, b = round(example.start_s * fps), min(round(example.end_s * fps), data.shape[1])
        data = data[:, a:b]
    return replace(seq, data=np.ascontiguousarray(data, dtype=np.float32), fps=fps, source=example.source,
                   meta={**seq.meta, "example": example.source})


def _check_range(example: Example, duration_s: float, fps: float) -> None:
    """A stretch that runs past the clip's end (by more than a frame) is a typo, not a shorter example."""
    if example.end_s is not None and example.end_s > duration_s + 1.0 / fps:
        raise UserError(f"the range #{example.start_s:g}-{example.end_s:g} ends after the clip, which is "
                        f"{duration_s:.2f} s long", example.path, RANGE_FIX)


def _cache_path(example: Example, pose_model: str) -> Path:
    rng = "all" if example.start_s is None else f"{example.start_s:g}-{example.end_s:g}"
    model = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(pose_model).name)
    from dvta_live.outputs import file_sha256

    return pose_cache_folder() / f"{file_sha256(example.path)[:32]}.{rng}.{model}{CLIP_SUFFIX}"


def _read_video(example: Example, *, cache: bool, pose_model: str) -> SkeletonSequence:
    from dataclasses import replace

    from dvta_live.skeleton.sequence import SkeletonDataset
    from dvta_live.skeleton.store import load_dataset, save_dataset

    cached = _cache_path(example, pose_model) if cache else None
    if cached is not None and cached.is_file():
        try:
            seq = load_dataset(cached, mmap=False)[0]
            return replace(seq, source=example.source, meta={**seq.meta, "example": example.source})
        except UserError:  # a damaged cache entry: convert again, and replace it below
            pass
    from dvta_live.pose.inputs import open_input

    with open_input(str(example.path), realtime=False, pose_model=pose_model) as live:
        if live.pose is None:
            raise UserError("is not a video or skeleton file", example.path, "name a video or a skeleton clip")
        take = capture_take(live, start_s=example.start_s or 0.0,
                            seconds=None if example.end_s is None else example.end_s - (example.start_s or 0.0))
    fps = live.source.info.fps
    if take.ended and example.end_s is not None and take.last_s + 1.5 / fps < example.end_s:
        _check_range(example, take.last_s + 1.0 / fps, fps)
    if take.frames == 0:
        raise UserError("no frames in the range", example.path, RANGE_FIX)
    seq = take.sequence(Path(example.path).name, example.source)
    if cached is not None:
        try:
            save_dataset(SkeletonDataset("dvta-example", ("example",), (seq,)), cached)
        except UserError:  # an unwritable cache only costs time next run
            pass
    return seq


# --- capturing frames from a live input -----------------------------------------------------------------

@dataclass(frozen=True)
class Take:
    """Skeleton frames captured from a source: ``data`` [3, T, 25, 2], ``fps``; ``with_person`` of
    ``frames`` frames hold a body."""

    data: np.ndarray
    fps: float
    frames: int
    with_person: int
    ended: bool = False  # the source ran out before the take was complete
    last_s: float = 0.0  # media time of the last frame read

    @property
    def usable(self) -> bool:
        return enough_person(self.with_person, self.frames)

    def sequence(self, name: str, source: str) -> SkeletonSequence:
        from dvta_live.skeleton.sequence import SkeletonSequence

        return SkeletonSequence(self.data, name=name, source=source, fps=self.fps,
                                meta={"frames_with_person": self.with_person})


class FrameStream:
    """A source's frames, consumed take after take: the frame that ended one take starts the next (a
    file's takes are consecutive stretches); on a live source it is dropped, being stale by then."""

    def __init__(self, live: LiveInput) -> None:
        self._it = iter(live.source.frames())
        self._live = live.source.info.live
        self._pending: Frame | None = None

    def __iter__(self) -> FrameStream:  # an iterator, not a generator: leaving a take's loop must not
        return self                      # close the source's frames() generator

    def __next__(self) -> Frame:
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        return next(self._it)

    def push_back(self, frame: Frame) -> None:
        if not self._live:
            self._pending = frame


def capture_take(live: LiveInput, start_s: float | None = 0.0, seconds: float | None = None,
                 stream: FrameStream | None = None) -> Take:
    """Run the live path's pose stage (``PoseEstimator.estimate``, or a replay's own skeleton) on the
    frames of ``live`` from media time ``start_s`` for ``seconds`` (None: to the end). ``start_s=None``
    starts at the next frame of ``stream`` (a take after the previous one)."""
    from dvta_live.pose.estimator import PoseResult

    stream = stream if stream is not None else FrameStream(live)
    joints: list[np.ndarray] = []
    times: list[float] = []
    first = start_s
    ended = True
    t = 0.0
    for frame in stream:
        t = frame.timestamp_s
        if first is None:
            first = t
        if t + 1e-9 < first:
            continue  # before the stretch: decoded, not estimated
        if seconds is not None and t - first >= seconds - 1e-9:
            stream.push_back(frame)
            ended = False
            break
        try:
            result = PoseResult.from_skeleton(frame) if frame.image is None else live.pose.estimate(frame)
        except (ValueError, RuntimeError):  # one undecodable frame: as dvta run does, skip it
            continue
        joints.append(np.array(result.joints, dtype=np.float32))
        times.append(t)
    n = len(joints)
    data = np.stack(joints, axis=1) if n else np.zeros((3, 0, 25, 2), np.float32)
    fps = float(live.source.info.fps)
    if live.source.info.live and n > 1 and times[-1] > times[0]:
        fps = (n - 1) / (times[-1] - times[0])  # a camera drops frames while pose runs: the rate it gave
    return Take(data, fps, n, _persons(data), ended and seconds is not None, t)


# --- storing examples -----------------------------------------------------------------------------------

def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")
    return slug[:60].strip("-") or "example"


def save_example(seq: SkeletonSequence, labels_path: str | Path, action_name: str) -> Path:
    """Write ``seq`` as ``<slug>-<n>.dvta.safetensors`` (the first free n) in the labels file's examples
    folder, atomically; returns the path."""
    from dataclasses import replace

    from dvta_live.skeleton.sequence import SkeletonDataset
    from dvta_live.skeleton.store import save_dataset

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
    from dvta_live.labels.edit import check_editable
    from dvta_live.outputs import check_folder_writable

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
    from dvta_live.labels.edit import add_action, add_examples

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
    from dvta_live.pose.inputs import open_input
    from dvta_live.pose.sources import check_source

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
    "CLIP_SUFFIX",
    "Countdown",
    "FrameStream",
    "SourceEnded",
    "Take",
    "TakeResult",
    "Taught",
    "TeachEvent",
    "add_example_files",
    "capture_take",
    "enough_person",
    "entry_for",
    "examples_folder",
    "load_example",
    "parse_example",
    "pose_cache_folder",
    "record_examples",
    "save_example",
    "split_source",
]
