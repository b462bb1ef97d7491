"""What the live loop reads from: a source and the pose estimator its images need, opened and closed
together (``dvta run`` and ``Recognizer.recognize`` open their input here).

    with open_input("clip.mp4", realtime=False) as live_input:
        for event in recognize(live_input.source, runtime, labels, pose=live_input.pose): ...
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dvta_live.errors import UserError
from dvta_live.pose.sources import LoopedSource, check_source, open_source

if TYPE_CHECKING:
    from dvta_live.pose.estimator import PoseEstimator
    from dvta_live.pose.sources import Source


def bundled_demo_source() -> Path:
    """The demo input shipped in the package (a skeleton replay), used when no source is given."""
    from importlib.resources import files

    folder = Path(str(files("dvta_live").joinpath("assets", "demo")))
    found = sorted(folder.glob("*.dvta.safetensors")) if folder.is_dir() else []
    if not found:
        raise UserError("no --source given and this installation has no bundled demo input", folder,
                        "pass --source 0 (webcam), a video file, or a skeleton file")
    return found[0]


@dataclass
class LiveInput:
    """An open source and, for image sources, its pose estimator (None for skeleton replays)."""

    source: Source
    pose: PoseEstimator | None
    _logs: contextlib.ExitStack = field(default_factory=contextlib.ExitStack, repr=False)

    def close(self) -> None:
        try:
            if self.pose is not None:
                self.pose.close()
            self.source.close()
        finally:
            self._logs.close()

    def __enter__(self) -> LiveInput:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_input(spec: str | int | Path | None = None, *, realtime: bool = True, mirrored: bool | None = None,
               loop: int = 1, pose_model: str = "lite", people: int = 2) -> LiveInput:
    """Open a source spec (None: the bundled demo; see ``realtime.sources``), played ``loop`` times
    (0: forever), with a MediaPipe pose estimator when it gives images."""

    spec = str(bundled_demo_source() if spec is None else spec)
    if loop < 0:
        raise UserError(f"loop {loop} is out of range", fix="a number of plays, or 0 to play forever")
    logs = contextlib.ExitStack()
    if check_source(spec) != "skeleton":
        from dvta_live.pose.quiet import native_logs_filtered

        # MediaPipe, LiteRT and FFmpeg log ~100 lines to fd 2 on a video run: keep them off the terminal
        logs.enter_context(native_logs_filtered())
    try:
        if loop == 1:
            source = open_source(spec, realtime, mirrored=mirrored)
        else:
            source = LoopedSource(lambda: open_source(spec, realtime, mirrored=mirrored), loop or None)
        pose = None
        if source.info.kind != "skeleton":
            from dvta_live.pose.estimator import PoseEstimator

            try:
                pose = PoseEstimator(pose_model, mirrored=source.mirrored, num_people=people)
            except BaseException:
                source.close()
                raise
    except BaseException:
        logs.close()
        raise
    return LiveInput(source, pose, logs)


__all__ = ["LiveInput", "bundled_demo_source", "open_input"]
