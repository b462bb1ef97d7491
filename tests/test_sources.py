"""Live sources: video files, skeleton replay, pacing, live capture behaviour, RealSense (through a stand-in
for pyrealsense2 that mimics the calls the source makes), and the errors a user can hit."""

from __future__ import annotations

import dataclasses
import datetime
import sys
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest

from dvta_live.errors import UserError
from dvta_live.pose.depth import Intrinsics
from dvta_live.pose.sources import (
    REALSENSE_INSTALL,
    Frame,
    LiveCaptureSource,
    SourceInfo,
    open_source,
)

from conftest import shared_path

NTU_RGB = ("data", "ntu", "S001C001P001R001A001_rgb.avi")
NTU_SKELETON = ("data", "ntu", "S001C001P001R001A001.skeleton")
TA_CHI = ("data", "videos", "ta_chi.mp4")


# --- video files ---------------------------------------------------------------------------------------

def test_ntu_rgb_video_info_mirrored_and_lazy_frames() -> None:
    src = open_source(str(shared_path(*NTU_RGB)), realtime=False)
    assert src.info.kind == "video" and not src.live
    assert src.size == (1920, 1080) and src.fps == pytest.approx(30.0) and src.info.num_frames == 103
    assert src.mirrored, "NTU RGB videos are mirrored (detected from the name)"
    frames = src.frames()
    assert isinstance(frames, types.GeneratorType)
    first = next(frames)
    assert first.index == 0 and first.timestamp_s == 0.0 and first.depth is None and first.skeleton is None
    assert first.image.shape == (1080, 1920, 3) and first.image.dtype == np.uint8
    frames.close()
    assert "stopped by the consumer" in (src.end_reason or "")
    # the override wins over the name
    assert not open_source(str(shared_path(*NTU_RGB)), realtime=False, mirrored=False).mirrored


def test_video_reads_every_frame_with_media_timestamps() -> None:
    src = open_source(str(shared_path(*TA_CHI)), realtime=False)
    assert not src.mirrored and src.size == (340, 256)
    stamps = [f.timestamp_s for f in src]
    assert len(stamps) == src.info.num_frames == 300
    assert np.allclose(np.diff(stamps), 1 / src.fps)
    assert src.end_reason == "end of file after 300 frames"
    # files can be iterated again (each frames() call reopens)
    assert next(iter(src)).index == 0


def test_frames_are_immutable() -> None:
    frame = next(open_source(str(shared_path(*TA_CHI)), realtime=False).frames())
    with pytest.raises(dataclasses.FrozenInstanceError):
        frame.index = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        frame.image[0, 0, 0] = 1  # type: ignore[index]


def test_realtime_paces_files_to_their_fps() -> None:
    path = str(shared_path(*TA_CHI))
    n = 10
    t0 = time.perf_counter()
    for f in open_source(path, realtime=True).frames():
        if f.index == n - 1:
            break
    paced = time.perf_counter() - t0
    assert paced >= (n - 1) / 29.97 * 0.95, paced
    t0 = time.perf_counter()
    count = sum(1 for _ in zip(range(60), open_source(path, realtime=False).frames()))
    fast = time.perf_counter() - t0
    assert count == 60 and fast < 59 / 29.97, f"unpaced reading took {fast:.2f} s"


def test_truncated_video_ends_cleanly_with_a_reason(tmp_path: Path) -> None:
    data = shared_path("data", "videos", "vtest.avi").read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) * 3 // 8])  # AVI: the header survives, the frames stop early
    src = open_source(str(cut), realtime=False)
    n = sum(1 for _ in src.frames())
    assert 0 < n < src.info.num_frames
    assert "truncated or corrupt" in (src.end_reason or "") and f"frame {n} of" in src.end_reason


# --- skeleton replay -----------------------------------------------------------------------------------

def test_ntu_skeleton_replay_bypasses_pose() -> None:
    from dvta_live.skeleton.readers import read_ntu_skeleton

    path = shared_path(*NTU_SKELETON)
    seq = read_ntu_skeleton(path)
    src = open_source(str(path), realtime=False)
    assert src.info.kind == "skeleton" and src.fps == 30.0 and src.size is None and not src.mirrored
    frames = list(src.frames())
    assert len(frames) == 103 and src.end_reason == "end of replay after 103 frames"
    got = np.stack([f.skeleton for f in frames], axis=1)
    np.testing.assert_array_equal(got, seq.data)
    assert all(f.image is None for f in frames) and frames[0].label == 0 and frames[0].clip == seq.name
    assert frames[-1].timestamp_s == pytest.approx(102 / 30)


def test_store_replay_picks_a_sequence(tmp_path: Path) -> None:
    from dvta_live.skeleton.readers import read_path
    from dvta_live.skeleton.store import save_dataset

    folder = shared_path("data", "ntu")
    dataset = read_path(folder)
    store = save_dataset(dataset, tmp_path / "ntu.dvta.safetensors")
    whole = open_source(str(store), realtime=False)
    assert whole.info.num_frames == sum(s.num_frames for s in dataset)
    name = dataset[2].name
    one = open_source(f"{store}#{name}", realtime=False)
    frames = list(one.frames())
    assert {f.clip for f in frames} == {name} and len(frames) == dataset[2].num_frames
    np.testing.assert_array_equal(np.stack([f.skeleton for f in frames], 1), dataset[2].data)
    assert next(f.clip for f in open_source(f"{store}#1", realtime=False).frames()) == dataset[1].name
    with pytest.raises(UserError, match="no sequence 'nope'"):
        open_source(f"{store}#nope", realtime=False)


# --- errors --------------------------------------------------------------------------------------------

def test_missing_file_and_unknown_spec(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file") as err:
        open_source(str(tmp_path / "nope.mp4"), realtime=False)
    assert "nope.mp4" in str(err.value) and "camera index" in str(err.value)
    with pytest.raises(UserError, match="no such file, camera or stream"):
        open_source("webcam-please", realtime=False)


@pytest.mark.parametrize("name", ["garbage.mp4", "garbage.avi"])
def test_corrupt_video_is_a_user_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    with pytest.raises(UserError, match="cannot decode this file as video") as err:
        open_source(str(path), realtime=False)
    assert str(path) in str(err.value) and "ffmpeg" in str(err.value)


def test_corrupt_skeleton_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(UserError, match="frame count") as err:
        open_source(str(path), realtime=False)
    assert str(path) in str(err.value)


def test_no_camera_at_that_index() -> None:
    if Path("/dev/video7").exists():
        pytest.skip("this machine has a /dev/video7")
    with pytest.raises(UserError, match="camera 7: cannot be opened") as err:
        open_source("7", realtime=True)
    assert "try another index" in str(err.value)


def test_unreachable_stream() -> None:
    with pytest.raises(UserError, match="cannot open the stream"):
        open_source("rtsp://127.0.0.1:9/none", realtime=True)


def test_realsense_without_pyrealsense2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pyrealsense2", None)  # import raises ImportError
    with pytest.raises(UserError, match="pyrealsense2") as err:
        open_source("realsense", realtime=True)
    assert REALSENSE_INSTALL in str(err.value)
    bag = tmp_path / "rec.bag"
    bag.write_bytes(b"#ROSBAG V2.0\n")
    with pytest.raises(UserError, match="dvta-live\\[realsense\\]"):
        open_source(str(bag), realtime=False)
    with pytest.raises(UserError, match="no such file"):  # a typo is reported before the missing package
        open_source(str(tmp_path / "missing.bag"), realtime=False)


# --- live capture (a camera stand-in with OpenCV's read/release interface) -----------------------------

class _FakeCapture:
    """Delivers ``n`` frames at ``fps`` then fails forever, like an unplugged camera."""

    def __init__(self, n: int, fps: float) -> None:
        self.n, self.period, self.i = n, 1 / fps, 0
        self.released = threading.Event()

    def read(self) -> tuple[bool, np.ndarray | None]:
        time.sleep(self.period)
        if self.i >= self.n:
            return False, None
        self.i += 1
        return True, np.full((4, 6, 3), self.i % 256, np.uint8)

    def release(self) -> None:
        self.released.set()


def test_live_capture_drops_stale_frames_and_ends_with_a_reason() -> None:
    cap = _FakeCapture(n=40, fps=100)
    info = SourceInfo(kind="webcam", name="0", fps=100, size=(6, 4), live=True, mirrored=False)
    src = LiveCaptureSource(cap, np.zeros((4, 6, 3), np.uint8), info, realtime=True)
    got = []
    for frame in src.frames():
        got.append(frame)
        time.sleep(0.05)  # a consumer 5x slower than the camera
    indices = [f.index for f in got]
    assert indices == sorted(set(indices)), "each frame is handed out once, in order"
    assert len(got) < 25 and max(np.diff(indices)) > 1, "stale frames are skipped, not queued"
    assert all(b >= a for a, b in zip([f.timestamp_s for f in got], [f.timestamp_s for f in got][1:]))
    assert "no frame from 0" in (src.end_reason or "")
    assert cap.released.is_set()
    with pytest.raises(RuntimeError, match="iterated once"):
        next(src.frames())


# --- RealSense through a stand-in module --------------------------------------------------------------

def _fake_pyrealsense2(color: list[np.ndarray], depth: list[np.ndarray], depth_scale: float,
                       devices: tuple[str, ...] = ("123",)) -> types.ModuleType:
    """The subset of pyrealsense2 the source calls, with pyrealsense2's names and return shapes:
    try_wait_for_frames -> (bool, frameset), get_duration -> timedelta, enums as attributes."""
    rs = types.ModuleType("pyrealsense2")
    rs.stream = types.SimpleNamespace(color="color", depth="depth")
    rs.format = types.SimpleNamespace(bgr8="bgr8", rgb8="rgb8", rgba8="rgba8", bgra8="bgra8", yuyv="yuyv",
                                      z16="z16")
    rs.playback_status = types.SimpleNamespace(playing="playing", stopped="stopped")
    rs.camera_info = types.SimpleNamespace(serial_number="serial_number")
    h, w = color[0].shape[:2]
    fps = 30
    intr = types.SimpleNamespace(width=w, height=h, fx=285.63, fy=285.63, ppx=160.0, ppy=120.0)

    class Profile:
        def __init__(self, kind: str, fmt: str) -> None:
            self.kind, self.fmt = kind, fmt

        def stream_type(self) -> str:
            return self.kind

        def format(self) -> str:
            return self.fmt

        def as_video_stream_profile(self) -> Profile:
            return self

        def fps(self) -> int:
            return fps

        def width(self) -> int:
            return w

        def height(self) -> int:
            return h

        def get_intrinsics(self) -> types.SimpleNamespace:
            return intr

    class VideoFrame:
        def __init__(self, data: np.ndarray, profile: Profile, t_ms: float) -> None:
            self.data, self.profile, self.t_ms = data, profile, t_ms

        def get_data(self) -> np.ndarray:
            return self.data

        def get_profile(self) -> Profile:
            return self.profile

        def get_timestamp(self) -> float:
            return self.t_ms

    class Frameset:
        def __init__(self, i: int, aligned: bool = False) -> None:
            self.i, self.aligned = i, aligned

        def get_color_frame(self) -> VideoFrame:
            return VideoFrame(color[self.i], Profile("color", "rgb8"), 1.0e6 + self.i * 1000 / fps)

        def get_depth_frame(self) -> VideoFrame:
            assert self.aligned, "depth is read only after rs.align"
            return VideoFrame(depth[self.i], Profile("depth", "z16"), 1.0e6 + self.i * 1000 / fps)

    class Playback:
        def __init__(self) -> None:
            self.real_time = True

        def set_real_time(self, value: bool) -> None:
            self.real_time = value

        def get_duration(self) -> datetime.timedelta:
            return datetime.timedelta(seconds=len(color) / fps)

        def current_status(self) -> str:
            return "stopped" if state["next"] >= len(color) else "playing"

    state: dict = {"next": 0, "from_file": None, "playback": Playback()}

    class Device:
        def as_playback(self) -> Playback:
            assert state["from_file"] is not None
            return state["playback"]

        def first_depth_sensor(self) -> types.SimpleNamespace:
            return types.SimpleNamespace(get_depth_scale=lambda: depth_scale)

        def get_info(self, what: str) -> str:
            return devices[0]

    class PipelineProfile:
        def get_streams(self) -> list[Profile]:
            return [Profile("color", "rgb8"), Profile("depth", "z16")]

        def get_device(self) -> Device:
            return Device()

    class Config:
        def enable_device_from_file(self, path: str, repeat_playback: bool = True) -> None:
            assert repeat_playback is False
            state["from_file"] = path

        def enable_stream(self, *args: object) -> None:
            state.setdefault("streams", []).append(args)

        def enable_device(self, serial: str) -> None:
            state["serial"] = serial

    class Pipeline:
        def start(self, config: Config) -> PipelineProfile:
            state["next"] = 0
            return PipelineProfile()

        def stop(self) -> None:
            state["stopped"] = state.get("stopped", 0) + 1

        def try_wait_for_frames(self, timeout_ms: int = 5000) -> tuple[bool, Frameset | None]:
            if state["next"] >= len(color):
                return False, None
            state["next"] += 1
            return True, Frameset(state["next"] - 1)

    class Align:
        def __init__(self, to: str) -> None:
            assert to == "color"

        def process(self, frameset: Frameset) -> Frameset:
            return Frameset(frameset.i, aligned=True)

    rs.config, rs.pipeline, rs.align = Config, Pipeline, Align
    rs.context = lambda: types.SimpleNamespace(query_devices=lambda: [Device() for _ in devices])
    rs.state = state
    return rs


def _utd_depth(n: int) -> list[np.ndarray]:
    import scipy.io

    mat = scipy.io.loadmat(str(shared_path("data", "utd-mhad", "Depth_s1", "a1_s1_t1_depth.mat")))
    return [np.ascontiguousarray(mat["d_depth"][:, :, t]) for t in range(n)]


def test_realsense_recording_colour_and_aligned_depth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import cv2

    n = 8
    depth_mm = _utd_depth(n)  # real Kinect depth, mm
    frames = open_source(str(shared_path(*TA_CHI)), realtime=False).frames()
    rgb = [cv2.cvtColor(cv2.resize(next(frames).image, (320, 240)), cv2.COLOR_BGR2RGB) for _ in range(n)]
    scale = 0.00025  # an L515-style depth unit: raw = 4 x mm
    raw = [(d.astype(np.uint32) * 4).clip(0, 65535).astype(np.uint16) for d in depth_mm]
    rs = _fake_pyrealsense2(rgb, raw, scale)
    monkeypatch.setitem(sys.modules, "pyrealsense2", rs)
    bag = tmp_path / "rec.bag"
    bag.write_bytes(b"#ROSBAG V2.0\n")
    src = open_source(str(bag), realtime=False)
    assert src.info.kind == "realsense-file" and not src.live and src.has_depth
    assert src.size == (320, 240) and src.fps == 30 and src.info.num_frames == n
    got = list(src.frames())
    assert len(got) == n and src.end_reason == f"end of recording after {n} frames"
    assert rs.state["playback"].real_time is False
    np.testing.assert_array_equal(got[3].image, cv2.cvtColor(rgb[3], cv2.COLOR_RGB2BGR))  # rgb8 -> BGR
    valid = raw[3] < 65535
    np.testing.assert_array_equal(got[3].depth[valid], depth_mm[3][valid])  # back in millimetres
    assert got[3].depth.dtype == np.uint16
    assert got[3].intrinsics == Intrinsics(320, 240, 285.63, 285.63, 160.0, 120.0)
    assert [f.timestamp_s for f in got] == pytest.approx([i / 30 for i in range(n)])


def test_realsense_live_device_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    rgb = [np.zeros((240, 320, 3), np.uint8)] * 3
    rs = _fake_pyrealsense2(rgb, _utd_depth(3), 0.001, devices=("123",))
    monkeypatch.setitem(sys.modules, "pyrealsense2", rs)
    with pytest.raises(UserError, match="no RealSense camera with serial 999") as err:
        open_source("realsense:999", realtime=True)
    assert "connected: 123" in str(err.value)
    src = open_source("realsense:123", realtime=True)
    assert src.live and rs.state["serial"] == "123" and rs.state["streams"][0][0] == "color"
    frames = list(src.frames())
    assert len(frames) == 3 and frames[0].depth is not None
    np.testing.assert_array_equal(frames[1].depth, _utd_depth(3)[1])  # depth unit 1 mm: unchanged
    assert "no frame from the RealSense" in (src.end_reason or "")
    rs_none = _fake_pyrealsense2(rgb, _utd_depth(3), 0.001, devices=())
    monkeypatch.setitem(sys.modules, "pyrealsense2", rs_none)
    with pytest.raises(UserError, match="no RealSense camera is connected"):
        open_source("realsense", realtime=True)


def test_frame_defaults() -> None:
    frame = Frame(index=0, timestamp_s=0.0, skeleton=np.zeros((3, 25, 2), np.float32))
    assert frame.image is None and frame.depth is None and frame.intrinsics is None and frame.label == -1
