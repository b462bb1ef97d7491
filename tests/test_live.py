"""The live path: time window, the threaded loop, hot reload, drop policy, and `dvta run` on real input."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from dvta_live.cli import app
from dvta_live.labels.bundled import bundled_labels_path
from dvta_live.labels.watcher import LabelsWatcher
from dvta_live.model import save_untrained_model
from dvta_live.pose.sources import LoopedSource, open_source
from dvta_live.realtime.buffer import TimeWindow
from dvta_live.realtime.live import IDLE, FrameResult, LiveConfig, Prediction, Stats, recognize
from dvta_live.runtimes import PreparedText, Runtime, TorchRuntime
from dvta_live.skeleton.readers import read_path
from dvta_live.skeleton.recipe import get_recipe

from conftest import shared_path

runner = CliRunner()


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):  # type: ignore[no-untyped-def]
    yield


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Random weights: these tests check the pipeline's plumbing and timing, not what it recognises.
    return save_untrained_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def ntu_sequence():  # type: ignore[no-untyped-def]
    return read_path(shared_path("data", "ntu", "S001C001P001R001A001.skeleton")).sequences[0]


# ------------------------------------------------------------------------------------------ window


def _wave(t: np.ndarray) -> np.ndarray:
    """[3, T, 25, 2] a smooth motion of body 0 (body 1 absent), non-zero everywhere."""
    x = np.zeros((3, len(t), 25, 2), np.float32)
    joints = np.arange(25)[None, :]
    x[0, :, :, 0] = 0.3 * np.sin(2 * np.pi * 0.5 * t[:, None] + joints * 0.1) + 0.01 * joints
    x[1, :, :, 0] = 0.2 * np.cos(2 * np.pi * 0.3 * t[:, None]) + 0.05 * joints + 0.1
    x[2, :, :, 0] = 2.5 + 0.01 * joints
    return x


def test_window_is_the_same_motion_at_any_camera_rate() -> None:
    """15, 30 and 60 fps cameras filming the same motion give the same 30 Hz window."""
    windows = []
    for fps in (15.0, 30.0, 60.0):
        w = TimeWindow(duration_s=2.0, rate_hz=30.0)
        t = np.arange(0, 5.0, 1.0 / fps)
        frames = _wave(t)
        for i, ti in enumerate(t):
            w.push(frames[:, i], ti)
        windows.append((w.window(), t[-1]))
    for x, end in windows:
        assert x is not None and x.shape == (3, 61, 25, 2)
        reference = _wave(end - (60 - np.arange(61)) / 30.0)  # the motion itself on the 30 Hz grid
        # linear interpolation of the 0.5 Hz sine sampled at 15 fps: chord error <= 0.3 (2 pi 0.5 / 15)^2 / 8
        # = 1.4 mm; exact at 30 and 60 fps (the grid falls on frames)
        assert np.abs(x[..., 0] - reference[..., 0]).max() < 2e-3
        assert not x[..., 1].any()  # the absent body stays absent


def test_window_fills_short_gaps_and_restarts_after_long_absence() -> None:
    w = TimeWindow(duration_s=3.0, rate_hz=30.0, max_gap_s=0.3)
    t = np.arange(190) / 30  # 0 .. 6.3 s
    frames = _wave(t)
    nobody_seen = False
    for i, ti in enumerate(t):
        f = frames[:, i]
        if 120 <= i < 126 or 60 <= i < 90:  # a 0.2 s detection gap (4.0-4.2 s), and a 1 s absence (2-3 s)
            f = np.zeros_like(f)
        w.push(f, ti)
        if i == 87:
            nobody_seen = w.window() is None  # gone for longer than a short gap: nobody
    assert nobody_seen
    x = w.window()
    assert x is not None and x.shape[1] == 91  # the full 3 s: the long absence is outside it
    grid = t[-1] - (90 - np.arange(91)) / 30
    in_gap = (grid >= 4.0) & (grid < 4.2)
    body = x[..., 0]
    assert in_gap.sum() >= 5 and np.all(body[:, in_gap] != 0)  # interpolated, not zeros
    assert np.abs(body[:, in_gap] - _wave(grid[in_gap])[..., 0]).max() < 0.02
    # 0.5 s after the person comes back from the long absence the window holds only the new track
    w2 = TimeWindow(duration_s=3.0, rate_hz=30.0, max_gap_s=0.3)
    for i in range(105):  # up to 3.5 s
        w2.push(frames[:, i] if not 60 <= i < 90 else np.zeros_like(frames[:, i]), t[i])
    assert w2.span() == pytest.approx(t[104] - t[90], abs=1e-6)


def test_live_window_and_recipe_equal_the_offline_path(ntu_sequence) -> None:  # type: ignore[no-untyped-def]
    """Frames pushed one by one at the dataset's 30 fps give the recipe exactly the offline sequence."""
    data = ntu_sequence.data  # [3, 103, 25, 2], 30 fps
    w = TimeWindow(duration_s=10.0, rate_hz=30.0)
    for i in range(data.shape[1]):
        w.push(data[:, i], i / 30.0)
    window = w.window()
    assert window is not None and window.shape == data.shape
    np.testing.assert_allclose(window, data, atol=1e-6)
    recipe = get_recipe("smie50")
    np.testing.assert_allclose(recipe.apply(window), recipe.apply(data), atol=1e-5)


# ------------------------------------------------------------------------------------------- loop


def _replay(realtime: bool = False, passes: int = 1):  # type: ignore[no-untyped-def]
    path = str(shared_path("data", "ntu", "S001C001P001R001A001.skeleton"))
    if passes == 1:
        return open_source(path, realtime)
    return LoopedSource(lambda: open_source(path, realtime), passes)


def _run(source, runtime, watcher, config=None, stats=None):  # type: ignore[no-untyped-def]
    events = list(recognize(source, runtime, watcher, config or LiveConfig(), stats=stats))
    return ([e for e in events if isinstance(e, FrameResult)], [e for e in events if isinstance(e, Prediction)])


def test_replay_processes_every_frame_and_scores_every_stride(model_dir: Path) -> None:
    runtime = TorchRuntime(model_dir)
    watcher = LabelsWatcher(bundled_labels_path(), expected_dim=runtime.info.text_dim)
    stats = Stats()
    frames, preds = _run(_replay(), runtime, watcher, LiveConfig(stride_s=0.5), stats)
    assert len(frames) == 103 == stats.frames_processed and stats.dropped_frames == 0
    assert [round(p.timestamp_s, 3) for p in preds] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert preds[0].state == IDLE and preds[1].state == IDLE  # shorter than min_span_s (1 s)
    scored = [p for p in preds if p.state != IDLE]
    assert len(scored) == stats.windows_scored == 5
    assert all(len(p.names) == len(watcher.labels) and p.raw is not None for p in scored)
    assert all(abs(float(p.raw.sum()) - 1.0) < 1e-4 for p in scored)  # probabilities
    # deterministic offline: a second run gives the same scores
    _, again = _run(_replay(), runtime, watcher, LiveConfig(stride_s=0.5))
    for a, b in zip(scored, [p for p in again if p.state != IDLE]):
        np.testing.assert_allclose(a.raw, b.raw, atol=1e-6)
    # the scores are the model's on the recipe's output of the offline window (one preprocessing path)
    last = scored[-1]
    seq = read_path(shared_path("data", "ntu", "S001C001P001R001A001.skeleton")).sequences[0].data
    offline = seq[:, :91]  # the grid ends at frame 90 (t = 3.0 s): 3 s = 91 frames at 30 fps
    expected = runtime.scores(runtime.info.recipe.apply(offline)[None],
                              runtime.prepare_text(np.array(watcher.text.embeddings)))[0]
    probs = np.exp(expected - expected.max())
    np.testing.assert_allclose(last.raw, probs / probs.sum(), atol=1e-5)


def test_editing_the_labels_changes_what_is_scored(model_dir: Path, tmp_path: Path) -> None:
    labels = tmp_path / "labels.yaml"
    labels.write_text("# mine\nactions:\n  - name: drink water\n    context: A person lifts a cup to the mouth.\n"
                      "  - name: clap\n    context: The person claps both hands.\n", encoding="utf-8")
    runtime = TorchRuntime(model_dir)
    watcher = LabelsWatcher(labels, expected_dim=runtime.info.text_dim, min_interval=0.0)
    seen: list[tuple[str, ...]] = []
    stop = threading.Event()
    edits = iter([
        labels.read_text() + "  - name: wave with the left hand\n    context: The left hand moves side to side.\n",
        "actions:\n  - name: [broken\n",  # invalid YAML: the last good labels stay
    ])
    for event in recognize(_replay(passes=4), runtime, watcher, LiveConfig(stride_s=0.5), stop=stop):
        if isinstance(event, Prediction) and event.state != IDLE:
            seen.append(event.names)
            if len(seen) in (2, 5):
                text = next(edits)
                labels.write_text(text, encoding="utf-8")
                time.sleep(0.05)
            if len(seen) == 9:
                stop.set()
    assert seen[0] == ("drink water", "clap")
    assert ("drink water", "clap", "wave with the left hand") in seen[3:]
    assert seen[-1] == ("drink water", "clap", "wave with the left hand")  # broken edit ignored
    assert watcher.error is not None and "broken" in labels.read_text()  # the user's text is left as written


class _SlowRuntime(Runtime):
    """The real runtime, made slower than the camera (as a big model on a small CPU would be)."""

    def __init__(self, inner: TorchRuntime, delay_s: float) -> None:
        self.inner, self.delay_s = inner, delay_s
        self.name, self.info = "slow-torch", inner.info

    def prepare_text(self, text: np.ndarray, examples: Any = None) -> PreparedText:
        return self.inner.prepare_text(text, examples)

    def scores(self, windows: np.ndarray, text: PreparedText) -> np.ndarray:
        time.sleep(self.delay_s)
        return self.inner.scores(windows, text)

    def features(self, windows: np.ndarray, text: PreparedText) -> np.ndarray:
        return self.inner.features(windows, text)


def test_realtime_never_falls_behind_a_slow_model(model_dir: Path) -> None:
    """Paced replay (103 frames = 3.4 s) with inference 4x slower than the stride: windows are replaced,
    not queued: what is scored is the newest window, never a backlog (asserted on counts, not on time)."""
    runtime = _SlowRuntime(TorchRuntime(model_dir), 0.6)
    watcher = LabelsWatcher(bundled_labels_path(), expected_dim=runtime.info.text_dim)
    stats = Stats()
    frames, preds = _run(_replay(realtime=True), runtime, watcher, LiveConfig(stride_s=0.15), stats)
    assert len(frames) == 103  # the pose stage (a pass-through for replays) keeps up: nothing dropped
    strides = len(range(0, 103, 5))  # a window every 5 frames (0.167 s >= the 0.15 s stride)
    assert stats.replaced_windows >= 3 and len(preds) + stats.replaced_windows == strides
    assert preds[-1].index == 100  # the last window scored is the newest one, not one queued behind it


# -------------------------------------------------------------------------------------------- CLI


def _invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=True)


def test_run_on_the_real_ntu_video(model_dir: Path, tmp_path: Path) -> None:
    video = shared_path("data", "ntu", "S001C001P001R001A001_rgb.avi")
    events = tmp_path / "events.jsonl"
    saved = tmp_path / "annotated.avi"
    result = _invoke("run", "-s", str(video), "-m", str(model_dir), "--no-realtime", "--jsonl", str(events),
                     "--save", str(saved), "--people", "1")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in events.read_text().splitlines()]
    assert records[0]["event"] == "start" and records[-1]["event"] == "end"
    assert records[-1]["frames"] == 103 and records[-1]["dropped"] == 0  # every frame
    preds = [r for r in records if r["event"] == "prediction"]
    assert len(preds) == 7 and sum(r["state"] != "idle" for r in preds) == 5
    assert all(r["people"] == 1 for r in preds)  # MediaPipe finds the subject in the NTU clip
    assert "run summary" in result.output and "103 processed of 103 read" in result.output
    import cv2

    cap = cv2.VideoCapture(str(saved))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 103
    cap.release()


def test_run_loops_a_replay_and_reports_nobody(model_dir: Path, tmp_path: Path) -> None:
    import cv2

    blank = tmp_path / "nobody.avi"
    writer = cv2.VideoWriter(str(blank), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (320, 240))
    for _ in range(45):
        writer.write(np.full((240, 320, 3), 90, np.uint8))
    writer.release()
    result = _invoke("run", "-s", str(blank), "-m", str(model_dir), "--no-realtime", "--jsonl", "-", "-q")
    assert result.exit_code == 0, result.output
    preds = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"event": "prediction"')]
    assert preds and all(p["state"] == "idle" and p["people"] == 0 for p in preds)
    replay = shared_path("data", "ntu", "S001C001P001R001A001.skeleton")
    looped = _invoke("run", "-s", str(replay), "-m", str(model_dir), "--no-realtime", "--loop", "2", "-q",
                     "--jsonl", str(tmp_path / "loop.jsonl"))
    assert looped.exit_code == 0, looped.output
    end = json.loads((tmp_path / "loop.jsonl").read_text().splitlines()[-1])
    assert end["frames"] == 206 and end["reason"] == "looped 2 times"


@pytest.mark.parametrize("args, message", [
    (["-s", "7"], "camera"),
    (["-s", "{missing}"], "no such file"),
    (["-s", "{corrupt}"], "corrupt.mp4"),
    (["-m", "{missing}"], "no such model"),
    (["--show"], "display"),
    (["--labels", "{badlabels}"], "bad.yaml"),
])
def test_run_faults_are_one_clear_line(model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       args: list[str], message: str) -> None:
    from dvta_live.cli import main

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    (tmp_path / "corrupt.mp4").write_bytes(b"\x00not a video" * 100)
    (tmp_path / "bad.yaml").write_text("actions:\n  - name: a\n    colour: red\n")
    replay = shared_path("data", "ntu", "S001C001P001R001A001.skeleton")
    subs = {"{missing}": str(tmp_path / "missing.mp4"), "{corrupt}": str(tmp_path / "corrupt.mp4"),
            "{badlabels}": str(tmp_path / "bad.yaml")}
    argv = [subs.get(a, a) for a in args]
    full = ["run", "-s", str(replay), "-m", str(model_dir), "--no-realtime", "-q", *argv]
    monkeypatch.setattr("sys.argv", ["dvta", *full])
    captured: list[str] = []
    monkeypatch.setattr("dvta_live.cli.err_console.print", lambda text, *a, **k: captured.append(str(text)))
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    assert len(captured) == 1 and message in captured[0], captured


def test_run_replays_a_bvh_take(model_dir: Path, tmp_path: Path) -> None:
    """Every format `dvta data inspect` reads is a replay source too (one format table): a BVH take."""
    take = shared_path("data", "bandai-namco", "dataset-1", "dataset-1_walk_normal_001.bvh")
    events = tmp_path / "events.jsonl"
    result = _invoke("run", "-s", str(take), "-m", str(model_dir), "--no-realtime", "-q", "--jsonl", str(events))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in events.read_text().splitlines()]
    frames = read_path(take).sequences[0].num_frames
    assert records[-1]["event"] == "end" and records[-1]["frames"] == frames
    assert any(r["event"] == "prediction" and r["state"] != "idle" for r in records)
