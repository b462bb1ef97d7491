"""Skeleton clips from files or videos for examples: skeleton files through the project's readers, videos
through the live path's pose estimator (``pose.inputs.open_input`` + ``PoseEstimator.estimate``: MediaPipe,
the same NTU-25 mapping ``dvta run`` uses), cached per video hash and range because pose estimation is slow;
and capturing takes of frames from a live input (``dvta teach``).

    from dvta_live.pose.clips import load_example

    for action in labels.actions:
        clips = [load_example(e) for e in action.examples]   # SkeletonSequence [3, T, 25, 2], with fps
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from dvta_live.cache import cache_folder
from dvta_live.errors import UserError
from dvta_live.outputs import file_sha256
from dvta_live.pose.estimator import PoseResult
from dvta_live.pose.inputs import open_input
from dvta_live.skeleton.coco17 import NUM_KEYPOINTS, front_view_keypoints
from dvta_live.skeleton.readers import file_format, read_path
from dvta_live.skeleton.sequence import SkeletonDataset, SkeletonSequence
from dvta_live.skeleton.store import load_dataset, save_dataset

if TYPE_CHECKING:
    from dvta_live.pose.inputs import LiveInput
    from dvta_live.pose.sources import Frame

CLIP_SUFFIX = ".dvta.safetensors"
MIN_PERSON_FRAMES = 8  # fewer frames with a person than this is no example, whatever the clip's length
RANGE_FIX = "write the stretch in seconds as FILE#START-END with 0 <= START < END, e.g. wave.mp4#2-5.5"


class ClipRef(Protocol):
    """What names a clip: a labels file's ``Example`` (``labels.schema``) is one."""

    path: Path
    start_s: float | None
    end_s: float | None
    source: str


def pose_cache_folder() -> Path:
    """Video examples already through pose estimation: the cache's ``poses/`` folder (``dvta_live.cache``)."""
    return cache_folder("poses")


def has_person(frame: np.ndarray) -> bool:
    """Whether a [3, 25, 2] frame holds a body."""
    return bool(np.any(frame != 0))


def enough_person(with_person: int, frames: int) -> bool:
    """The rule for a usable example: a person in at least half of the frames, and at least 8."""
    return with_person >= MIN_PERSON_FRAMES and 2 * with_person >= frames


def _persons(data: np.ndarray) -> int:
    return int(np.any(data != 0, axis=(0, 2, 3)).sum())


def _refuse_empty(example: ClipRef, with_person: int, frames: int) -> None:
    if not enough_person(with_person, frames):
        raise UserError(f"a person is in only {with_person} of {frames} frames of this example "
                        f"(it needs at least half, and {MIN_PERSON_FRAMES})", example.path,
                        "record the action with the whole body in view, or pick another stretch: FILE#START-END")


# --- reading an example ---------------------------------------------------------------------------------

def is_skeleton_file(path: str | Path) -> bool:

    return file_format(path) is not None


def load_example(example: ClipRef, *, cache: bool = True, pose_model: str = "lite",
                 plane: str = "xyz") -> SkeletonSequence:
    """The example as NTU-25 skeleton data [3, T, 25, 2] float32 with its fps, cut to start-end; for a
    2-D model (``plane="keypoints2d"``) as COCO-17 keypoints [3, T, 17, 2] instead: a video's MediaPipe
    image landmarks (not cached: the cache holds skeletons), a skeleton file seen from straight ahead.

    Skeleton files (any format the readers know) are read; a file of several sequences is refused.
    Videos go through the live path's pose estimator once per (video content, range, pose model), then
    come from the cache (``pose_cache_folder``). A clip with a person in fewer than half of its frames
    (or fewer than 8) is refused with a UserError naming the file.
    """
    keypoints = plane == "keypoints2d"
    if is_skeleton_file(example.path):
        seq = _read_skeleton(example)
        if keypoints:
            seq = replace(seq, data=front_view_keypoints(seq.data))
    else:
        seq = _read_video(example, cache=cache and not keypoints, pose_model=pose_model, plane=plane)
    _refuse_empty(example, _persons(seq.data), seq.num_frames)
    return seq


def _read_skeleton(example: ClipRef) -> SkeletonSequence:


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


def _check_range(example: ClipRef, duration_s: float, fps: float) -> None:
    """A stretch that runs past the clip's end (by more than a frame) is a typo, not a shorter example."""
    if example.end_s is not None and example.end_s > duration_s + 1.0 / fps:
        raise UserError(f"the range #{example.start_s:g}-{example.end_s:g} ends after the clip, which is "
                        f"{duration_s:.2f} s long", example.path, RANGE_FIX)


def _cache_path(example: ClipRef, pose_model: str) -> Path:
    rng = "all" if example.start_s is None else f"{example.start_s:g}-{example.end_s:g}"
    model = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(pose_model).name)

    return pose_cache_folder() / f"{file_sha256(example.path)[:32]}.{rng}.{model}{CLIP_SUFFIX}"


def _read_video(example: ClipRef, *, cache: bool, pose_model: str, plane: str = "xyz") -> SkeletonSequence:


    cached = _cache_path(example, pose_model) if cache else None
    if cached is not None and cached.is_file():
        try:
            seq = load_dataset(cached, mmap=False)[0]
            return replace(seq, source=example.source, meta={**seq.meta, "example": example.source})
        except UserError:  # a damaged cache entry: convert again, and replace it below
            pass

    with open_input(str(example.path), realtime=False, pose_model=pose_model) as live:
        if live.pose is None:
            raise UserError("is not a video or skeleton file", example.path, "name a video or a skeleton clip")
        take = capture_take(live, start_s=example.start_s or 0.0,
                            seconds=None if example.end_s is None else example.end_s - (example.start_s or 0.0),
                            plane=plane)
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
                 stream: FrameStream | None = None, plane: str = "xyz") -> Take:
    """Run the live path's pose stage (``PoseEstimator.estimate``, or a replay's own skeleton) on the
    frames of ``live`` from media time ``start_s`` for ``seconds`` (None: to the end). ``start_s=None``
    starts at the next frame of ``stream`` (a take after the previous one)."""

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
        joints.append(np.array(result.keypoints() if plane == "keypoints2d" else result.joints, dtype=np.float32))
        times.append(t)
    n = len(joints)
    data = np.stack(joints, axis=1) if n else np.zeros((3, 0, NUM_KEYPOINTS if plane == "keypoints2d" else 25, 2), np.float32)
    fps = float(live.source.info.fps)
    if live.source.info.live and n > 1 and times[-1] > times[0]:
        fps = (n - 1) / (times[-1] - times[0])  # a camera drops frames while pose runs: the rate it gave
    return Take(data, fps, n, _persons(data), ended and seconds is not None, t)

