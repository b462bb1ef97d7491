"""What the live loop shows: a rich Live panel (or plain lines when not on a terminal), an OpenCV overlay
for ``--show`` / ``--save``, JSON lines for other programs, and the end-of-run summary.

Everything here consumes ``recognize``'s events; nothing feeds back into the pipeline.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from dvta_live.conventions import DEFAULT_FPS
from dvta_live.errors import UserError
from dvta_live.realtime.live import ACTION, IDLE, FrameResult, Prediction, Stats
from dvta_live.skeleton.layouts import NTU25

BAR = 24


def has_display() -> bool:
    """Whether a window can be opened: cv2.imshow without one aborts the whole process."""
    return display_problem() is None


def display_problem() -> str | None:
    """Why no window can be opened, or None. The display server is really contacted: a DISPLAY left
    from a stale ``ssh -X`` session or set in a container makes Qt abort the process (SIGABRT) at the
    first cv2.imshow, with no chance to say why."""
    if sys.platform in ("win32", "darwin"):
        return None
    display, wayland = os.environ.get("DISPLAY"), os.environ.get("WAYLAND_DISPLAY")
    if not (display or wayland):
        return "there is no display (no DISPLAY / WAYLAND_DISPLAY)"
    if display:  # OpenCV's Qt and GTK windows use X11 (XWayland on a Wayland desktop) when DISPLAY is set
        return None if _x11_answers(display) else f"DISPLAY={display} is set but no X server answers there"
    assert wayland is not None
    path = wayland if os.path.isabs(wayland) else os.path.join(os.environ.get("XDG_RUNTIME_DIR", ""), wayland)
    return None if _unix_answers(path) else f"WAYLAND_DISPLAY={wayland} is set but no compositor answers at {path}"


def _x11_answers(display: str) -> bool:
    import re

    m = re.fullmatch(r"(?P<host>[^:]*):(?P<num>\d+)(\.\d+)?", display)
    if m is None:
        return True  # a form we do not know (e.g. a launchd socket path): let the toolkit try
    host, num = m.group("host"), int(m.group("num"))
    if host in ("", "unix"):
        return _unix_answers(f"\0/tmp/.X11-unix/X{num}") or _unix_answers(f"/tmp/.X11-unix/X{num}")
    import socket

    try:
        with socket.create_connection((host, 6000 + num), timeout=1.0):
            return True
    except OSError:
        return False


def _unix_answers(path: str) -> bool:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(path)
        except OSError:
            return False
    return True


# ------------------------------------------------------------------------------------------ terminal


class LiveView:
    """A rich Live panel refreshed a few times a second; on a non-terminal, one line per prediction."""

    def __init__(self, console: Console, source_name: str, runtime_name: str, stats: Stats,
                 labels_status: Any) -> None:
        self.console = console
        self.source_name = source_name
        self.runtime_name = runtime_name
        self.stats = stats
        self.labels_status = labels_status  # a callable returning the watcher's status line
        self.last: Prediction | None = None
        self.people = 0
        self._live: Any = None
        self._printed_generation = -1
        self._printed_status = ""

    def __enter__(self) -> LiveView:  # noqa: PYI034 - Self needs Python 3.11
        if self.console.is_terminal:
            from rich.live import Live

            self._live = Live(self._render(), console=self.console, refresh_per_second=8, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(*exc)

    def frame(self, event: FrameResult) -> None:
        self.people = event.pose.num_people
        if self._live is not None and event.frame.index % 5 == 0:
            self._live.update(self._render())

    def prediction(self, event: Prediction) -> None:
        self.last = event
        if self._live is not None:
            self._live.update(self._render())
            return
        status = self.labels_status()
        if event.labels_generation != self._printed_generation or status != self._printed_status:
            # a rejected edit keeps the generation: the status line is what changes
            self._printed_generation, self._printed_status = event.labels_generation, status
            self.console.print(escape(status), soft_wrap=True)
        self.console.print(escape(prediction_line(event)), highlight=False, soft_wrap=True)

    def _render(self) -> Group:
        s = self.stats
        pose_mean, _ = s.summary_of(s.pose_ms)
        inf_mean, _ = s.summary_of(s.inference_ms)
        lat_mean, _ = s.summary_of(s.latency_ms)
        head = Text.assemble((f"{self.source_name}", "bold"), f"  runtime {self.runtime_name}  ",
                             f"{s.fps():.1f} fps  people {self.people}  dropped {s.dropped_frames}")
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column("action", min_width=28)
        table.add_column("p", justify="right")
        table.add_column("bar")
        p = self.last
        if p is None or p.state == IDLE:
            table.add_row(Text("waiting for a person" if p is None else "idle: nobody in view", "dim"), "", "")
        else:
            for i, (name, prob) in enumerate(p.top):
                style = "bold green" if i == 0 and p.state == ACTION else ""
                table.add_row(Text(name, style), f"{prob:.2f}", "█" * max(1, round(prob * BAR)))
            if p.state != ACTION:
                table.add_row(Text("(unknown: below the threshold)", "yellow"), "", "")
        latency = Text(f"pose {pose_mean:.1f} ms  inference {inf_mean:.1f} ms  end-to-end {lat_mean:.0f} ms  "
                       f"windows {s.windows_scored}", "dim")
        return Group(head, table, latency, Text(self.labels_status(), "cyan"))


def prediction_line(p: Prediction) -> str:
    if p.state == IDLE:
        why = f"warming up, {p.span_s:.1f} s of track" if p.people else "nobody in view"
        return f"t={p.timestamp_s:7.2f}s  idle ({why})"
    top = ", ".join(f"{n} {v:.2f}" for n, v in p.top[:3])
    return f"t={p.timestamp_s:7.2f}s  {p.label:<28}  [{top}]  {p.inference_ms:.0f} ms"


# --------------------------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class Segment:
    label: str
    start_s: float
    end_s: float
    windows: int
    mean_p: float


def segments(predictions: Sequence[Prediction]) -> list[Segment]:
    """Consecutive predictions with the same label merged into segments."""
    out: list[Segment] = []
    run: list[Prediction] = []
    for p in [*predictions, None]:
        if run and (p is None or p.label != run[0].label):
            probs = [r.probability for r in run if r.state != IDLE]
            out.append(Segment(run[0].label, run[0].timestamp_s, run[-1].timestamp_s, len(run),
                               float(np.mean(probs)) if probs else 0.0))
            run = []
        if p is not None:
            run.append(p)
    return out


def print_summary(console: Console, stats: Stats, predictions: Sequence[Prediction], source_name: str,
                  runtime_name: str) -> None:
    table = Table(title=f"run summary: {escape(source_name)}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("frames", f"{stats.frames_processed} processed of {stats.frames_read} read, "
                            f"{stats.dropped_frames} dropped, {stats.pose_errors} unreadable")
    table.add_row("windows scored", f"{stats.windows_scored} ({len(predictions)} predictions incl. idle)")
    table.add_row("throughput", f"{stats.fps():.1f} frames/s")
    for label, values in (("pose", stats.pose_ms), ("inference", stats.inference_ms),
                          ("end-to-end latency", stats.latency_ms), ("frame queue wait", stats.queue_ms)):
        mean, p95 = stats.summary_of(values)
        table.add_row(label, f"mean {mean:.1f} ms, p95 {p95:.1f} ms")
    table.add_row("runtime", runtime_name)
    table.add_row("ended", escape(stats.end_reason or "stopped"))
    console.print(table)
    segs = segments(predictions)
    if segs:
        timeline = Table(title="what was recognised")
        for col in ("from", "to", "action", "mean p", "windows"):
            timeline.add_column(col, justify="right" if col != "action" else "left")
        for s in segs:
            timeline.add_row(f"{s.start_s:.1f}s", f"{s.end_s:.1f}s", escape(s.label),
                             f"{s.mean_p:.2f}" if s.label not in (IDLE, "unknown") else "", str(s.windows))
        console.print(timeline)


# ------------------------------------------------------------------------------------------ jsonl


class JsonlWriter:
    """One JSON object per line: a ``start`` record, each prediction, an ``end`` record with the stats."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fh: IO[str] = sys.stdout if str(path) == "-" else open(path, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise UserError(f"cannot write events ({exc.strerror})", path, "choose a writable --jsonl path") from None

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()  # other programs follow the file live

    def close(self) -> None:
        if self._fh is not sys.stdout:
            self._fh.close()


# ------------------------------------------------------------------------------------------ overlay

BONES = NTU25.bones  # (child, parent) pairs
_COLOURS = ((0, 220, 0), (0, 160, 255))  # BGR per body slot


def draw_overlay(image: np.ndarray | None, event: FrameResult, prediction: Prediction | None,
                 size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A copy of the frame with the skeletons and the current top action drawn on it. Skeleton replays
    (no image) are drawn on a black canvas from the joints' x/y."""
    import cv2

    if image is not None:
        canvas = image.copy()
        points = event.pose.image_ntu25()  # [2, 25, 2] pixels
    else:
        canvas = np.zeros((size[1], size[0], 3), np.uint8)
        points = _project_replay(event.pose.joints, size)
    for m in range(points.shape[0]):
        if not event.pose.present[m]:
            continue
        pts = points[m]
        for a, b in BONES:
            cv2.line(canvas, _pt(pts[a]), _pt(pts[b]), _COLOURS[m], 2, cv2.LINE_AA)
        for p in pts:
            cv2.circle(canvas, _pt(p), 3, (255, 255, 255), -1, cv2.LINE_AA)
    if prediction is not None:
        text = prediction.label if prediction.state != ACTION else f"{prediction.label} {prediction.probability:.2f}"
        scale = max(0.6, canvas.shape[1] / 900)
        cv2.putText(canvas, text, (12, int(36 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 4, cv2.LINE_AA)
        cv2.putText(canvas, text, (12, int(36 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2,
                    cv2.LINE_AA)
    return canvas


def _pt(p: np.ndarray) -> tuple[int, int]:
    return round(float(p[0])), round(float(p[1]))


def _project_replay(joints: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[3, 25, 2] metres (NTU axes, x to the subject's right as seen by the camera) -> [2, 25, 2] pixels
    of a front view: 1.2 m of height fills ~60 % of the canvas, centred on the first body."""
    w, h = size
    xy = joints[:2].transpose(2, 1, 0)  # [2, 25, 2]
    present = np.any(joints != 0, axis=(0, 1))
    centre = xy[0].mean(axis=0) if present[0] else np.zeros(2, np.float32)
    scale = 0.3 * h
    out = np.empty_like(xy)
    out[..., 0] = w / 2 + (xy[..., 0] - centre[0]) * scale
    out[..., 1] = h / 2 - (xy[..., 1] - centre[1]) * scale
    return out


class VideoSaver:
    """``--save``: the annotated frames as a video at the source's frame rate (OpenCV, mp4v)."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path = path
        self.fps = fps if fps and fps > 0 else DEFAULT_FPS
        self._writer: Any = None
        # frames go to a temp file beside the target, renamed into place at close: a run that dies
        # before its first frame leaves no unplayable stub, and an existing video stays whole until then
        self._target = contextlib.ExitStack()

    def write(self, image: np.ndarray) -> None:
        import cv2

        if self._writer is None:
            from dvta_live.outputs import atomic_path

            h, w = image.shape[:2]
            tmp = self._target.enter_context(atomic_path(self.path))
            fourcc = cv2.VideoWriter_fourcc(*("MJPG" if self.path.suffix.lower() == ".avi" else "mp4v"))
            self._writer = cv2.VideoWriter(str(tmp), fourcc, self.fps, (w, h))
            if not self._writer.isOpened():
                self._writer = None
                error = UserError("OpenCV cannot write a video here", self.path,
                                  "use a .mp4 or .avi path you can write")
                self._target.__exit__(UserError, error, None)  # drops the temp file
                raise error
        self._writer.write(image)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            self._target.close()  # moves the finished video into place


class Viewer:
    """``--show``: an OpenCV window; closing it or pressing q / Esc asks the loop to stop."""

    NAME = "dvta run"

    def __init__(self) -> None:
        problem = display_problem()
        if problem is not None:
            raise UserError(f"--show needs a display: {problem}",
                            fix="run without --show, or use --save out.mp4 to keep the annotated video")

    def show(self, image: np.ndarray) -> bool:
        """Show the frame; False when the user asked to quit."""
        import cv2

        cv2.imshow(self.NAME, image)
        key = cv2.waitKey(1) & 0xFF
        return key not in (ord("q"), 27)

    def close(self) -> None:
        import cv2

        cv2.destroyAllWindows()


__all__ = ["JsonlWriter", "LiveView", "Segment", "VideoSaver", "Viewer", "display_problem", "draw_overlay", "has_display",
           "prediction_line", "print_summary", "segments"]
