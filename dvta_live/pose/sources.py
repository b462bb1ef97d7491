"""Frame sources of the live loop, behind one interface: ``open_source(spec, realtime)`` -> ``Source``,
whose ``frames()`` generator yields immutable ``Frame``s lazily.

Specs (checked in this order):

- ``realsense`` or ``realsense:SERIAL``: an Intel RealSense camera (colour + depth aligned to colour).
- ``*.bag`` / ``*.db3``: a RealSense recording (ROS1 bag; ROS2 .db3 with librealsense >= 2.57).
- a camera index (``0``) or a V4L2 device (``/dev/video0``): a webcam.
- a URL (``rtsp://``, ``http(s)://``, ...): a network stream or remote file, through OpenCV's FFmpeg.
- a skeleton file or folder ``readers.read_path`` supports (named by ``readers.file_format``: NTU
  ``.skeleton``, UTD-MHAD ``.mat``, NW-UCLA ``.json``, ``.npy``/``.npz`` arrays, the ``.dvta.safetensors``
  store, BVH and CMU ``.amc`` motion capture); ``PATH#N`` or
  ``PATH#NAME`` picks one sequence of a multi-sequence file. Replays skeletons at the dataset's fps and
  bypasses pose estimation (``Frame.skeleton`` is set, ``Frame.image`` is None).
- any other existing file: a video file, through OpenCV.

Pacing: ``realtime=True`` paces files and replays to their fps (sleeping when ahead, never dropping
frames; a slow consumer sees the media slow down); ``realtime=False`` yields as fast as consumed.
Live cameras and live streams are paced by the device: a reader thread keeps only the newest frame so a
slow consumer gets fresh frames (with gaps in ``Frame.index``) instead of a growing backlog.

Mirroring: NTU RGB+D's RGB videos (``S###C###P###R###A###_rgb.avi``) are mirrored (Kinect v2 flips its
colour image), so the subject's right is on the image's right; they are detected by name, and
``open_source(..., mirrored=...)`` overrides the guess for any source (a selfie-view webcam, an NTU clip
under another name).

Errors that the user can fix (no camera at that index, a missing or undecodable file, an unknown spec,
pyrealsense2 missing) raise ``UserError`` from ``open_source``. A stream that dies mid-way ends the
generator cleanly; ``Source.end_reason`` then says why.
"""

from __future__ import annotations

import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from dvta_live.errors import UserError
from dvta_live.pose.depth import Intrinsics
from dvta_live.skeleton.readers import file_format, read_path

REALSENSE_INSTALL = "pip install 'dvta-live[realsense]'"
DEFAULT_FPS = 30.0
LIVE_STALL_S = 5.0  # a live source that delivers nothing this long is gone
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_LIVE_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "udp", "tcp", "srt", "rtp")
_NTU_RGB_NAME = re.compile(r"S\d{3}C\d{3}P\d{3}R\d{3}A\d{3}_rgb\.avi$", re.IGNORECASE)
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
_REALSENSE_SUFFIXES = (".bag", ".db3")
_VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts")
_SPECS_HELP = ("give a camera index (0), a video file, an rtsp:// or http:// URL, 'realsense', a RealSense "
               ".bag/.db3 recording, or a skeleton file (.skeleton, .mat, .json, .npy, .npz, .dvta.safetensors, "
               ".bvh, .amc)")


def _readonly(a: np.ndarray | None) -> np.ndarray | None:
    if a is not None:
        a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Frame:
    """One timestamped frame. Arrays are read-only (copy before drawing on ``image``).

    image: BGR uint8 [H, W, 3] or None (skeleton replay). depth: uint16 millimetres [H, W] aligned to
    ``image``, or None. intrinsics: of ``image``/``depth`` when the source knows them. skeleton:
    [3, 25, 2] NTU-25 joints (replay only). index: the source's frame counter (file position; for live
    sources the capture counter, so dropped stale frames leave gaps). timestamp_s: media time for files
    and replays, seconds since the source opened for live sources; non-decreasing.
    """

    index: int
    timestamp_s: float
    image: np.ndarray | None = None
    depth: np.ndarray | None = None
    intrinsics: Intrinsics | None = None
    skeleton: np.ndarray | None = None
    clip: str = ""  # replay: the sequence this frame belongs to
    label: int = -1  # replay: its label where the dataset gives one

    def __post_init__(self) -> None:
        for a in (self.image, self.depth, self.skeleton):
            _readonly(a)


@dataclass(frozen=True)
class SourceInfo:
    """What a source is: shown by the CLI and used to set up the pose stage."""

    kind: str  # webcam | stream | video | realsense | realsense-file | skeleton
    name: str  # the spec as the user gave it, for messages
    fps: float
    size: tuple[int, int] | None  # (width, height) of images; None for skeleton replay
    live: bool
    mirrored: bool
    has_depth: bool = False
    num_frames: int | None = None  # known length (files and replays)
    notes: tuple[str, ...] = ()


class Source(ABC):
    """A frame source. Iterate ``frames()`` (or the source itself); ``close()`` releases the device."""

    def __init__(self, info: SourceInfo, realtime: bool) -> None:
        self.info = info
        self.realtime = realtime
        self.end_reason: str | None = None  # set when the frames generator ends

    # convenient views of ``info``
    @property
    def fps(self) -> float:
        return self.info.fps

    @property
    def size(self) -> tuple[int, int] | None:
        return self.info.size

    @property
    def live(self) -> bool:
        return self.info.live

    @property
    def mirrored(self) -> bool:
        return self.info.mirrored

    @property
    def has_depth(self) -> bool:
        return self.info.has_depth

    @property
    def name(self) -> str:
        return self.info.name

    @abstractmethod
    def frames(self) -> Iterator[Frame]:
        """A generator of frames; ends at the end of the media or when the stream dies."""

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def close(self) -> None:
        """Release whatever the source holds open (idempotent)."""

    def __enter__(self) -> Source:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        i = self.info
        size = f"{i.size[0]}x{i.size[1]}" if i.size else "-"
        return (f"<{type(self).__name__} {i.name!r} {i.kind} {size} {i.fps:.2f} fps live={i.live} "
                f"mirrored={i.mirrored} depth={i.has_depth}>")


class _Pacer:
    """Sleeps so frame i is released no earlier than start + i / fps (when enabled)."""

    def __init__(self, fps: float, enabled: bool) -> None:
        self.period = 1.0 / fps if fps > 0 else 0.0
        self.enabled = enabled and self.period > 0
        self.start: float | None = None

    def wait(self, i: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.start is None:
            self.start = now - i * self.period
            return
        delay = self.start + i * self.period - now
        if delay > 0:
            time.sleep(delay)


# --- OpenCV sources ------------------------------------------------------------------------------------

@contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own warnings while probing (a missing camera prints a screenful); our
    UserError says what went wrong in one line."""
    import cv2

    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:
        yield
        return
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(level)


def _fps_of(cap: Any, notes: list[str]) -> float:
    import cv2

    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    if not np.isfinite(fps) or fps <= 0 or fps > 1000:
        notes.append(f"the source reports no usable frame rate ({fps:g}); assumed {DEFAULT_FPS:g} fps")
        return DEFAULT_FPS
    return fps


def _as_bgr(image: np.ndarray) -> np.ndarray:
    """OpenCV normally gives BGR uint8 [H, W, 3]; grey or BGRA streams are converted."""
    import cv2

    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


class VideoFileSource(Source):
    """A video file (or a finite remote file through a URL) read with OpenCV."""

    def __init__(self, path: str, info: SourceInfo, realtime: bool) -> None:
        super().__init__(info, realtime)
        self._path = path

    @classmethod
    def open(cls, spec: str, realtime: bool, mirrored: bool | None,
             kind: str = "video") -> VideoFileSource | LiveCaptureSource:
        import cv2

        is_url = kind == "stream"
        if not is_url and not Path(spec).is_file():
            what = "is a folder, not a video file" if Path(spec).is_dir() else "no such file"
            raise UserError(what, spec, _SPECS_HELP)
        with _quiet_opencv():
            cap = _open_capture(spec)
            ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok or first is None:
            cap.release()
            if is_url:
                raise UserError("cannot open the stream (unreachable, wrong URL or credentials, or a codec "
                                "OpenCV's FFmpeg lacks)", spec, "check that the URL plays, e.g. with "
                                "ffplay or VLC, and that this machine can reach it")
            raise UserError("cannot decode this file as video (corrupt, truncated at the start, or a "
                            "format OpenCV's FFmpeg cannot read)", spec,
                            "re-encode it, e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`, or pass another file")
        notes: list[str] = []
        fps = _fps_of(cap, notes)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        first = _as_bgr(first)
        size = (int(first.shape[1]), int(first.shape[0]))
        # a URL is live when the stream says so (no length) or its scheme is a streaming protocol
        live = is_url and (count <= 0 or spec.split(":", 1)[0].lower() in _LIVE_SCHEMES)
        auto_mirror = bool(_NTU_RGB_NAME.search(spec))
        if auto_mirror and mirrored is None:
            notes.append("NTU RGB+D RGB video: mirrored (detected from the file name)")
        info = SourceInfo(kind="stream" if is_url else kind, name=spec, fps=fps, size=size, live=live,
                          mirrored=auto_mirror if mirrored is None else mirrored,
                          num_frames=None if live or count <= 0 else count, notes=tuple(notes))
        if live:
            return LiveCaptureSource(cap, first, info, realtime)
        cap.release()  # frames() reopens, so the source can be iterated more than once
        return cls(spec, info, realtime)

    def frames(self) -> Iterator[Frame]:

        self.end_reason = None
        cap = _open_capture(self._path)
        pacer = _Pacer(self.info.fps, self.realtime)
        expected = self.info.num_frames
        i = 0
        try:
            while True:
                ok, image = cap.read()
                if not ok or image is None:
                    if expected is None or i >= expected - 1:  # the container's count may be off by one
                        self.end_reason = f"end of file after {i} frames"
                    else:
                        what = ("the remote file stopped arriving (network)" if self.info.kind == "stream"
                                else "the file is truncated or corrupt there")
                        self.end_reason = f"decoding stopped at frame {i} of {expected}: {what}"
                    return
                pacer.wait(i)
                yield Frame(index=i, timestamp_s=i / self.info.fps, image=_as_bgr(image))
                i += 1
        except GeneratorExit:
            self.end_reason = self.end_reason or f"stopped by the consumer after {i} frames"
            raise
        finally:
            cap.release()


def _open_capture(spec: str | int) -> Any:
    import cv2

    if isinstance(spec, int):
        return cv2.VideoCapture(spec)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 10_000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 10_000]
    cap = cv2.VideoCapture(spec, cv2.CAP_FFMPEG, params)
    if not cap.isOpened():  # a backend other than FFmpeg may still read it (e.g. an image sequence)
        cap = cv2.VideoCapture(spec)
    return cap


class _LatestFrame:
    """A reader thread that keeps only the newest frame of a live capture."""

    def __init__(self, cap: Any, first: np.ndarray, what: str) -> None:
        self._cap = cap
        self._what = what
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = first
        self._time = time.monotonic()
        self._count = 1  # frames captured so far (the first one was read while probing)
        self._stop = False
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"capture {what}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failures = 0
        last_ok = time.monotonic()
        while not self._stop:
            ok, image = self._cap.read()  # blocks at the device's rate; releases the GIL
            now = time.monotonic()
            if not ok or image is None:
                failures += 1
                if now - last_ok > LIVE_STALL_S or failures >= 50:
                    with self._cond:
                        self.error = (f"no frame from {self._what} for {now - last_ok:.1f} s "
                                      "(unplugged, stream closed or network down)")
                        self._cond.notify_all()
                    return
                time.sleep(0.02)
                continue
            failures, last_ok = 0, now
            with self._cond:
                self._frame, self._time = image, now
                self._count += 1
                self._cond.notify_all()

    def next(self, after: int, timeout: float) -> tuple[int, float, np.ndarray] | None:
        """(index, capture time, image) of the newest frame with an index > ``after`` (waits for one),
        or None when the capture died or nothing came within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._count - 1 <= after and self.error is None and not self._stop:  # newest = count - 1
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            if self._count - 1 <= after or self._frame is None:
                return None
            return self._count - 1, self._time, self._frame

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=2.0)


class LiveCaptureSource(Source):
    """A webcam or a live network stream: naturally paced; stale frames are dropped, not queued."""

    def __init__(self, cap: Any, first: np.ndarray, info: SourceInfo, realtime: bool) -> None:
        super().__init__(info, realtime)
        self._cap = cap
        self._first = first
        self._reader: _LatestFrame | None = None
        self._used = False

    @classmethod
    def open_camera(cls, spec: str, realtime: bool, mirrored: bool | None, width: int | None,
                    height: int | None, fps: float | None) -> LiveCaptureSource:
        import cv2

        target: str | int = int(spec) if spec.isdigit() else spec
        with _quiet_opencv():
            cap = _open_capture(target)
            if cap.isOpened():
                cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # V4L2: keep the driver queue short (low latency)
                if width:
                    cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
                if height:
                    cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
                if fps:
                    cap.set(cv2.CAP_PROP_FPS, fps)
            ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok or first is None:
            cap.release()
            found = sorted(p.name for p in Path("/dev").glob("video*")) if Path("/dev").is_dir() else []
            have = f"video devices here: {', '.join(found)}" if found else "no /dev/video* devices here"
            what = "opened but gave no frame" if cap.isOpened() else "cannot be opened"
            raise UserError(what, f"camera {spec}",
                            f"{have}; try another index, close other programs using the camera, "
                            "or check its permissions (the video group)")
        notes: list[str] = []
        rate = _fps_of(cap, notes)
        first = _as_bgr(first)
        info = SourceInfo(kind="webcam", name=spec, fps=rate, size=(int(first.shape[1]), int(first.shape[0])),
                          live=True, mirrored=bool(mirrored), notes=tuple(notes))
        return cls(cap, first, info, realtime)

    def frames(self) -> Iterator[Frame]:
        if self._used:
            raise RuntimeError(f"{self.info.name}: a live source can be iterated once; open it again")
        self._used = True
        self.end_reason = None
        reader = self._reader = _LatestFrame(self._cap, self._first, self.info.name)
        self._first = None  # type: ignore[assignment]
        start: float | None = None
        last = -1
        try:
            while True:
                got = reader.next(last, timeout=LIVE_STALL_S)
                if got is None:
                    self.end_reason = reader.error or (f"no frame from {self.info.name} for "
                                                       f"{LIVE_STALL_S:g} s: the stream stalled")
                    return
                last, t, image = got
                start = t if start is None else start
                yield Frame(index=last, timestamp_s=t - start, image=_as_bgr(image))
        except GeneratorExit:
            self.end_reason = self.end_reason or "stopped by the consumer"
            raise
        finally:
            self.close()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.stop()
            self._reader = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None


# --- skeleton replay -----------------------------------------------------------------------------------

class SkeletonReplaySource(Source):
    """Skeleton sequences replayed frame by frame at the dataset's fps; no images, no pose stage."""

    def __init__(self, sequences: tuple[Any, ...], info: SourceInfo, realtime: bool) -> None:
        super().__init__(info, realtime)
        self._sequences = sequences

    @classmethod
    def open(cls, spec: str, path: Path, selector: str | None, realtime: bool) -> SkeletonReplaySource:

        dataset = read_path(path)  # raises DataError (a UserError naming the file and the fix)
        sequences = tuple(dataset.sequences)
        if selector is not None:
            if selector.isdigit() and int(selector) < len(sequences):
                sequences = (sequences[int(selector)],)
            else:
                named = tuple(s for s in sequences if s.name == selector)
                if not named:
                    shown = ", ".join(s.name for s in sequences[:5])
                    raise UserError(f"no sequence {selector!r} (it holds {len(sequences)}: {shown}"
                                    f"{', ...' if len(sequences) > 5 else ''})", path,
                                    "give a sequence index 0..N-1 or one of its names after '#'")
                sequences = named[:1]
        if not sequences:
            raise UserError("holds no sequences to replay", path, _SPECS_HELP)
        notes: list[str] = []
        rates = {s.fps for s in sequences}
        fps = next(iter(rates)) if len(rates) == 1 else None
        if fps is None or not fps > 0:
            notes.append("the data gives no single frame rate (resampled arrays or mixed datasets): "
                         f"replayed at {DEFAULT_FPS:g} fps")
            fps = DEFAULT_FPS
        if len(sequences) > 1:
            notes.append(f"replays {len(sequences)} sequences back to back; pick one with {spec}#N")
        info = SourceInfo(kind="skeleton", name=spec, fps=float(fps), size=None, live=False, mirrored=False,
                          num_frames=sum(s.num_frames for s in sequences), notes=tuple(notes))
        return cls(sequences, info, realtime)

    def frames(self) -> Iterator[Frame]:
        self.end_reason = None
        pacer = _Pacer(self.info.fps, self.realtime)
        i = 0
        try:
            for seq in self._sequences:
                data = seq.data
                for t in range(seq.num_frames):
                    pacer.wait(i)
                    joints = np.array(data[:, t], dtype=np.float32)  # own copy: data may be a memmap
                    yield Frame(index=i, timestamp_s=i / self.info.fps, skeleton=joints, clip=seq.name,
                                label=int(seq.label))
                    i += 1
        except GeneratorExit:
            self.end_reason = f"stopped by the consumer after {i} frames"
            raise
        self.end_reason = f"end of replay after {i} frames"


# --- Intel RealSense -----------------------------------------------------------------------------------

def _import_realsense() -> Any:
    try:
        import pyrealsense2 as rs  # optional extra, imported only when a RealSense source is asked for
    except ImportError:
        raise UserError("RealSense sources need the pyrealsense2 package, which is not installed",
                        fix=f"install it with: {REALSENSE_INSTALL}") from None
    return rs


class RealSenseSource(Source):
    """A RealSense camera or recording: colour (BGR) with depth aligned to it (uint16 mm) + intrinsics."""

    def __init__(self, rs: Any, config: Any, info: SourceInfo, realtime: bool, path: str | None) -> None:
        super().__init__(info, realtime)
        self._rs = rs
        self._config = config
        self._path = path
        self._pipeline: Any = None

    @classmethod
    def open(cls, spec: str, realtime: bool, mirrored: bool | None, width: int | None,
             height: int | None, fps: float | None) -> RealSenseSource:
        is_file = spec.lower().endswith(_REALSENSE_SUFFIXES)
        if is_file and not Path(spec).is_file():  # before the import: a typo is the likelier problem
            raise UserError("no such file", spec, "pass a RealSense .bag (or .db3) recording")
        rs = _import_realsense()
        config = rs.config()
        if is_file:
            path = Path(spec)
            # repeat_playback=False: the generator ends at the end of the recording
            config.enable_device_from_file(str(path), False)
        else:
            serial = spec.split(":", 1)[1] if ":" in spec else ""
            devices = rs.context().query_devices()
            serials = [d.get_info(rs.camera_info.serial_number) for d in devices]
            if not serials:
                raise UserError("no RealSense camera is connected", spec,
                                "plug one in (USB 3), or check `rs-enumerate-devices`")
            if serial and serial not in serials:
                raise UserError(f"no RealSense camera with serial {serial}", spec,
                                f"connected: {', '.join(serials)}")
            if serial:
                config.enable_device(serial)
            w, h, r = width or 640, height or 480, int(fps or 30)
            config.enable_stream(rs.stream.color, w, h, rs.format.bgr8, r)
            config.enable_stream(rs.stream.depth, w, h, rs.format.z16, r)
        # Probe: start once to read what the device or file really streams, then stop (frames() restarts).
        pipeline = rs.pipeline()
        try:
            profile = pipeline.start(config)
        except RuntimeError as exc:
            fix = ("the recording may be truncated, or lack a colour stream" if is_file else
                   "try another resolution/fps (width/height/fps options) or replug the camera")
            raise UserError(f"RealSense could not start: {exc}", spec, fix) from None
        try:
            streams = {s.stream_type(): s for s in profile.get_streams()}
            if rs.stream.color not in streams:
                raise UserError("no colour stream (pose estimation needs one)", spec,
                                "record or stream colour together with depth")
            color = streams[rs.stream.color].as_video_stream_profile()
            rate = float(color.fps()) or DEFAULT_FPS
            size = (int(color.width()), int(color.height()))
            has_depth = rs.stream.depth in streams
            num_frames = None
            if is_file:
                duration = profile.get_device().as_playback().get_duration()  # a timedelta (ns in C++)
                duration_s = (duration.total_seconds() if hasattr(duration, "total_seconds")
                              else float(duration) / 1e9)
                num_frames = round(duration_s * rate) or None
        finally:
            pipeline.stop()
        info = SourceInfo(kind="realsense-file" if is_file else "realsense", name=spec, fps=rate, size=size,
                          live=not is_file, mirrored=bool(mirrored), has_depth=has_depth,
                          num_frames=num_frames)
        return cls(rs, config, info, realtime, str(Path(spec)) if is_file else None)

    def frames(self) -> Iterator[Frame]:
        rs = self._rs
        self.end_reason = None
        pipeline = self._pipeline = rs.pipeline()
        try:
            profile = pipeline.start(self._config)
        except RuntimeError as exc:
            self.end_reason = f"RealSense could not start: {exc}"
            return
        playback = None
        if self._path is not None:
            playback = profile.get_device().as_playback()
            # not real time: every recorded frame is delivered; _Pacer does the pacing when asked
            playback.set_real_time(False)
        depth_scale_mm = 1.0
        if self.info.has_depth:
            depth_scale_mm = float(profile.get_device().first_depth_sensor().get_depth_scale()) * 1000.0
        align = rs.align(rs.stream.color)
        pacer = _Pacer(self.info.fps, self.realtime and playback is not None)
        i, t0, last_t = 0, None, -1.0
        timeout_ms = int(LIVE_STALL_S * 1000)
        try:
            while True:
                try:
                    ok, frameset = pipeline.try_wait_for_frames(timeout_ms)
                except RuntimeError as exc:  # device unplugged, file unreadable
                    self.end_reason = f"RealSense stream failed after {i} frames: {exc}"
                    return
                if not ok:
                    if playback is not None and playback.current_status() == rs.playback_status.stopped:
                        self.end_reason = f"end of recording after {i} frames"
                    else:
                        self.end_reason = f"no frame from the RealSense for {LIVE_STALL_S:g} s (unplugged?)"
                    return
                if self.info.has_depth:
                    frameset = align.process(frameset)
                color = frameset.get_color_frame()
                if not color:
                    continue
                image = _realsense_bgr(rs, color)
                depth = intrinsics = None
                d = frameset.get_depth_frame() if self.info.has_depth else None
                if d:
                    raw = np.asanyarray(d.get_data())
                    # D4xx units are 1 mm (the float32 scale is 0.0010000000475); L515's are 0.25 mm
                    depth = (raw.copy() if abs(depth_scale_mm - 1.0) < 1e-4 else
                             np.clip(np.rint(raw * depth_scale_mm), 0, 65535).astype(np.uint16))
                    k = color.get_profile().as_video_stream_profile().get_intrinsics()
                    intrinsics = Intrinsics(int(k.width), int(k.height), float(k.fx), float(k.fy),
                                            float(k.ppx), float(k.ppy))
                stamp = float(color.get_timestamp()) / 1000.0  # device/recording clock, ms
                t0 = stamp if t0 is None else t0
                t = max(stamp - t0, last_t)  # keep timestamps non-decreasing across clock hiccups
                last_t = t
                pacer.wait(i)
                yield Frame(index=i, timestamp_s=t, image=image, depth=depth, intrinsics=intrinsics)
                i += 1
        except GeneratorExit:
            self.end_reason = self.end_reason or f"stopped by the consumer after {i} frames"
            raise
        finally:
            self.close()

    def close(self) -> None:
        if self._pipeline is not None:
            try:
                self._pipeline.stop()
            except RuntimeError:  # already stopped (end of file)
                pass
            self._pipeline = None


def _realsense_bgr(rs: Any, color: Any) -> np.ndarray:
    """A colour frame as an owned BGR uint8 array (recordings may hold RGB, RGBA, BGRA or YUYV)."""
    import cv2

    data = np.asanyarray(color.get_data())
    fmt = color.get_profile().format()
    if fmt == rs.format.bgr8:
        return data.copy()
    conversions = {rs.format.rgb8: cv2.COLOR_RGB2BGR, rs.format.rgba8: cv2.COLOR_RGBA2BGR,
                   rs.format.bgra8: cv2.COLOR_BGRA2BGR, rs.format.yuyv: cv2.COLOR_YUV2BGR_YUYV}
    if fmt not in conversions:
        raise UserError(f"RealSense colour format {fmt} is not supported", None,
                        "stream or record colour as bgr8, rgb8 or yuyv")
    return cv2.cvtColor(data, conversions[fmt])


# --- dispatch ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Spec:
    kind: str
    target: str
    selector: str | None = field(default=None)


def _classify(spec: str) -> _Spec:
    s = spec.strip()
    low = s.lower()
    if not s:
        raise UserError("empty source", None, _SPECS_HELP)
    if low == "realsense" or low.startswith("realsense:"):
        return _Spec("realsense", s)
    if s.isdigit() or re.fullmatch(r"/dev/video\d+", s):
        return _Spec("webcam", s)
    if _URL.match(s) and not low.startswith("file://"):
        return _Spec("stream", s)
    if low.startswith("file://"):
        s = s[len("file://"):]
        low = s.lower()
    if low.endswith(_REALSENSE_SUFFIXES):
        return _Spec("realsense-file", s)
    path, selector = Path(s), None
    if not path.exists() and "#" in s:  # PATH#N / PATH#NAME picks a sequence of a skeleton file
        head, _, selector = s.rpartition("#")
        path = Path(head)
    if not path.exists():
        raise UserError("no such file, camera or stream", s, _SPECS_HELP)
    if path.is_dir() and not any(path.glob("*.skeleton")) and any(
            p.suffix.lower() in _VIDEO_SUFFIXES for p in path.iterdir()):
        raise UserError("a folder of videos", s, "pass one video file")
    if path.is_dir() or file_format(path) is not None:  # the readers' own table: one list of formats
        return _Spec("skeleton", str(path), selector)
    if selector is not None:
        raise UserError("'#' picks a sequence of a skeleton file; this is not one", s, _SPECS_HELP)
    if path.suffix.lower() in _IMAGE_SUFFIXES:  # OpenCV would play it as a 1-frame video: nothing to score
        raise UserError("is a still image; recognising an action needs motion (seconds of frames)", s,
                        "pass a video file, a camera index such as 0, or a skeleton file")
    return _Spec("video", s)


def check_source(spec: str) -> str:
    """Refuse a bad source spec before anything heavy loads (the same rules open_source applies);
    returns its kind (webcam, stream, video, realsense, realsense-file or skeleton)."""
    return _classify(str(spec)).kind


def open_source(spec: str, realtime: bool = True, *, mirrored: bool | None = None, width: int | None = None,
                height: int | None = None, fps: float | None = None) -> Source:
    """Open a source by its spec (see the module docstring). ``mirrored`` overrides the guess (only NTU
    RGB videos are guessed mirrored); ``width``/``height``/``fps`` request a camera mode (cameras only).
    Raises UserError naming the source and the fix when it cannot be opened."""
    parsed = _classify(str(spec))
    if parsed.kind in ("realsense", "realsense-file"):
        return RealSenseSource.open(parsed.target, realtime, mirrored, width, height, fps)
    if parsed.kind == "webcam":
        return LiveCaptureSource.open_camera(parsed.target, realtime, mirrored, width, height, fps)
    if parsed.kind == "stream":
        return VideoFileSource.open(parsed.target, realtime, mirrored, kind="stream")
    if parsed.kind == "skeleton":
        source = SkeletonReplaySource.open(str(spec), Path(parsed.target), parsed.selector, realtime)
        if mirrored:
            raise UserError("mirroring applies to images; skeleton replays are already in NTU axes", spec,
                            "leave out the mirrored option")
        return source
    return VideoFileSource.open(parsed.target, realtime, mirrored)


class LoopedSource(Source):
    """A file or replay played again and again (soak tests, demos): each pass re-opens the media, and
    timestamps and indices keep increasing across passes so the time window and MediaPipe's clock never
    see time go backwards. ``passes=None`` loops until closed."""

    def __init__(self, open_once: Callable[[], Source], passes: int | None = None) -> None:
        first = open_once()
        if first.live:
            first.close()
            raise UserError("only files and replays can be looped", first.name, "leave out --loop for cameras")
        super().__init__(first.info, first.realtime)
        self._open_once = open_once
        self._current: Source | None = first
        self.passes = passes
        self.completed = 0

    def frames(self) -> Iterator[Frame]:
        offset_s, offset_i = 0.0, 0
        period = 1.0 / (self.info.fps or DEFAULT_FPS)
        while self.passes is None or self.completed < self.passes:
            source = self._current or self._open_once()
            self._current = source
            last: Frame | None = None
            for frame in source.frames():
                last = replace(frame, timestamp_s=frame.timestamp_s + offset_s, index=frame.index + offset_i)
                yield last
            source.close()
            self._current = None
            if last is None:  # an empty pass would loop forever without yielding
                self.end_reason = source.end_reason or "the source gave no frames"
                return
            offset_s, offset_i = last.timestamp_s + period, last.index + 1
            self.completed += 1
        self.end_reason = f"looped {self.completed} times"

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None


__all__ = [
    "REALSENSE_INSTALL", "Frame", "LiveCaptureSource", "LoopedSource", "RealSenseSource", "SkeletonReplaySource", "Source",
    "SourceInfo", "VideoFileSource", "open_source",
]
