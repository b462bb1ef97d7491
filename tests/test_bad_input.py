"""Bad input through the real `dvta` entry point (in-process: `dvta_live.cli.main`, so the torch import is
paid once): each case exits non-zero with one `error:` line naming the file, no traceback, and leaves every
file it was given byte-for-byte as it was, with no new file beside them (no half output, no temp file).

Most refusals happen before any long work (reading data, training, loading a text model), which is what
keeps this module fast; the few that need a model load use the bundled one with --runtime torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import dvta_live

from conftest import dvta

ASSETS = Path(dvta_live.__file__).parent / "assets"
DEMO = ASSETS / "demo" / "cmu-86-01.dvta.safetensors"
MODEL = ASSETS / "model"
# A folder no process may create files in, root included (the probe must fail for real, not by mode bits).
UNWRITABLE = Path("/proc")

LABELS = """\
# my actions
actions:
  - name: clap
    context: The person claps both hands in front of the chest.
  - name: wave
    context: The person raises one hand and waves it.
"""


@dataclass
class Case:
    args: list[str]
    needle: str  # the file (or option) the one-line message must name
    also: str = ""  # and this, where the case is about what the message says
    code: int = 1


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root: its bytes' hash and its mode."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            files[str(path.relative_to(root))] = (hashlib.sha256(path.read_bytes()).digest(),
                                                  path.stat().st_mode)
    return files


# ------------------------------------------------------------------------------------------ inputs


def demo(t: Path, name: str = "demo.dvta.safetensors") -> Path:
    dst = t / name
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEMO, dst)
    return dst


def labels(t: Path, name: str = "mine.yaml", text: str = LABELS) -> Path:
    dst = t / name
    dst.write_text(text, encoding="utf-8")
    return dst


def nested(t: Path) -> Path:
    return labels(t, "nested.yaml", "actions: " + "[" * 5000 + "]" * 5000 + "\n")


def model(t: Path, name: str = "model") -> Path:
    dst = t / name
    dst.mkdir()
    for file in ("backbone.safetensors", "head.safetensors", "head.json"):
        shutil.copyfile(MODEL / file, dst / file)
    return dst


def a_file(t: Path, name: str = "notes.txt") -> Path:
    dst = t / name
    dst.write_text("a plain file, not a folder\n")
    return dst


def read_only(path: Path) -> Path:
    path.chmod(0o444)
    return path


def features(t: Path, name: str = "feats") -> Path:
    root = t / name
    root.mkdir()
    rng = np.random.default_rng(0)
    np.save(root / "train.npy", rng.standard_normal((6, 256)).astype(np.float32))
    np.save(root / "train_label.npy", np.array([0, 0, 1, 1, 2, 2], np.int64))
    np.save(root / "ztest.npy", rng.standard_normal((2, 256)).astype(np.float32))
    np.save(root / "z_label.npy", np.array([3, 3], np.int64))
    (root / "features.json").write_text(json.dumps({"dataset": "toy", "class_names": ["a", "b", "c", "d"]}))
    return root


def nan_head_model(t: Path) -> Path:
    """The bundled model with one NaN in its head weights (metadata unchanged)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    folder = model(t, "nan-model")
    head = folder / "head.safetensors"
    with safe_open(str(head), framework="pt") as fh:
        meta = fh.metadata()
        state = {k: fh.get_tensor(k).clone() for k in fh.keys()}  # noqa: SIM118
    first = next(k for k, v in state.items() if v.is_floating_point())
    state[first].view(-1)[0] = float("nan")
    save_file(state, str(head), metadata=meta)
    return folder


def stgcn_backbone(t: Path) -> Path:
    """A real ST-GCN backbone (256-d, like the bundled Shift-GCN one), untrained."""
    from dvta_live.model import save_untrained_model

    folder = save_untrained_model(t / "stgcn", "stgcn")
    (folder / "head.safetensors").unlink()
    (folder / "head.json").unlink()
    return folder / "backbone.safetensors"


def hardlink(t: Path) -> Path:
    src = demo(t)
    os.link(src, t / "link.dvta.safetensors")
    return t / "link.dvta.safetensors"


def symlink(t: Path) -> Path:
    src = demo(t)
    (t / "alias.dvta.safetensors").symlink_to(src)
    return t / "alias.dvta.safetensors"


# ------------------------------------------------------------------------------------------ cases

CASES: dict[str, Callable[[Path], Case]] = {
    # data convert
    "convert onto its input": lambda t: Case(
        ["data", "convert", str(demo(t)), "-o", str(t / "demo.dvta.safetensors")], "demo.dvta.safetensors"),
    "convert onto a hard link of its input": lambda t: Case(
        ["data", "convert", str(t / "demo.dvta.safetensors"), "-o", str(hardlink(t))], "link.dvta.safetensors"),
    "convert onto a symlink to its input": lambda t: Case(
        ["data", "convert", str(t / "demo.dvta.safetensors"), "-o", str(symlink(t))], "alias.dvta.safetensors"),
    "convert onto the second of two inputs": lambda t: Case(
        ["data", "convert", str(demo(t, "a.dvta.safetensors")), str(demo(t, "b.dvta.safetensors")), "-o",
         str(t / "b.dvta.safetensors")], "b.dvta.safetensors"),
    "convert to .txt (data inspect cannot read it)": lambda t: Case(
        ["data", "convert", str(demo(t)), "-o", str(t / "out" / "x.txt")], "x.txt"),
    "convert to an existing folder": lambda t: Case(
        ["data", "convert", str(demo(t)), "-o", str(_mkdir(t / "dir.dvta.safetensors"))], "dir.dvta.safetensors"),
    "convert over a read-only file": lambda t: Case(
        ["data", "convert", str(demo(t)), "-o", str(read_only(a_file(t, "old.dvta.safetensors")))],
        "old.dvta.safetensors"),
    "convert into an unwritable folder": lambda t: Case(
        ["data", "convert", str(demo(t)), "-o", str(UNWRITABLE / "x.dvta.safetensors")], str(UNWRITABLE)),
    "convert below a file": lambda t: Case(
        ["data", "convert", str(demo(t)), "-o", str(a_file(t) / "x.dvta.safetensors")], "notes.txt"),
    # dvta run: outputs checked before the model loads
    "run --jsonl onto the skeleton source": lambda t: Case(
        ["run", "-s", str(demo(t)), "--jsonl", str(t / "demo.dvta.safetensors"), "-q"], "demo.dvta.safetensors"),
    "run --jsonl onto FILE#N's file": lambda t: Case(
        ["run", "-s", f"{demo(t)}#0", "--jsonl", str(t / "demo.dvta.safetensors"), "-q"], "demo.dvta.safetensors"),
    "run --jsonl onto the labels file": lambda t: Case(
        ["run", "-s", str(demo(t)), "-l", str(labels(t)), "--jsonl", str(t / "mine.yaml"), "-q"], "mine.yaml"),
    "run --save onto the source video": lambda t: Case(
        ["run", "-s", str(a_file(t, "clip.avi")), "--save", str(t / "clip.avi"), "-q"], "clip.avi"),
    "run --save onto the labels file": lambda t: Case(
        ["run", "-s", str(demo(t)), "-l", str(labels(t)), "--save", str(t / "mine.yaml"), "-q"], "mine.yaml"),
    "run --save to .txt": lambda t: Case(
        ["run", "-s", str(demo(t)), "--save", str(t / "video.txt"), "-q"], "video.txt"),
    "run --save to a folder": lambda t: Case(
        ["run", "-s", str(demo(t)), "--save", str(_mkdir(t / "clips.mp4")), "-q"], "clips.mp4"),
    "run --save below a file": lambda t: Case(
        ["run", "-s", str(demo(t)), "--save", str(a_file(t) / "out.mp4"), "-q"], "notes.txt"),
    "run --save into an unwritable folder": lambda t: Case(
        ["run", "-s", str(demo(t)), "--save", str(UNWRITABLE / "out.mp4"), "-q"], str(UNWRITABLE)),
    "run --jsonl to a YAML name": lambda t: Case(
        ["run", "-s", str(demo(t)), "--jsonl", str(t / "events.yaml"), "-q"], "events.yaml"),
    "run --jsonl into an unwritable folder": lambda t: Case(
        ["run", "-s", str(demo(t)), "--jsonl", str(UNWRITABLE / "events.jsonl"), "-q"], str(UNWRITABLE)),
    "run --jsonl onto the model's head metadata": lambda t: Case(
        ["run", "-s", str(demo(t)), "-m", str(model(t)), "--jsonl", str(t / "model" / "head.json"), "-q"],
        "head.json"),
    "run --jsonl over a read-only file": lambda t: Case(
        ["run", "-s", str(demo(t)), "--jsonl", str(read_only(a_file(t, "old.jsonl"))), "-q"], "old.jsonl"),
    "run --window -1": lambda t: Case(["run", "-s", str(demo(t)), "--window", "-1", "-q"], "--window"),
    "run --loop -1": lambda t: Case(["run", "-s", str(demo(t)), "--loop", "-1", "-q"], "--loop"),
    "run --smoothing 0": lambda t: Case(["run", "-s", str(demo(t)), "--smoothing", "0", "-q"], "--smoothing"),
    "run --threshold 2": lambda t: Case(["run", "-s", str(demo(t)), "--threshold", "2", "-q"], "--threshold"),
    "run a head with NaN weights": lambda t: Case(
        ["run", "-s", str(demo(t)), "-m", str(nan_head_model(t)), "--runtime", "torch", "-q"], "head.safetensors"),
    "run deeply nested labels": lambda t: Case(
        ["run", "-s", str(demo(t)), "-l", str(nested(t)), "--runtime", "torch", "-q"], "nested.yaml"),
    "run a still image": lambda t: Case(["run", "-s", str(a_file(t, "photo.jpg")), "-q"], "photo.jpg", "still image"),
    # labels
    "labels check a one-line file with an open bracket": lambda t: Case(
        ["labels", "check", "-f", str(labels(t, "one.yaml", "actions: ["))], "one.yaml", "line 1:"),
    "labels check a text_model folder that is not there": lambda t: Case(
        ["labels", "check", "-f", str(labels(t, "tm.yaml", "text_model: ./no/such/folder\n" + LABELS))], "tm.yaml",
        "text_model"),
    "labels check deeply nested lists": lambda t: Case(["labels", "check", "-f", str(nested(t))], "nested.yaml"),
    "labels check deeply nested mappings": lambda t: Case(
        ["labels", "check", "-f", str(labels(t, "deep.yaml", "actions: " + "{a: " * 3000 + "1" + "}" * 3000))],
        "deep.yaml"),
    "labels list deeply nested": lambda t: Case(["labels", "list", "-f", str(nested(t))], "nested.yaml"),
    "labels add to deeply nested": lambda t: Case(
        ["labels", "add", "jump", "-c", "The person jumps.", "-f", str(nested(t))], "nested.yaml"),
    "labels add to a read-only file": lambda t: Case(
        ["labels", "add", "jump", "-c", "The person jumps.", "-f", str(read_only(labels(t)))], "mine.yaml"),
    "labels remove from a read-only file": lambda t: Case(
        ["labels", "remove", "wave", "-f", str(read_only(labels(t)))], "mine.yaml"),
    "labels init onto its source": lambda t: Case(
        ["labels", "init", str(labels(t)), "--from", str(t / "mine.yaml"), "--force"], "mine.yaml"),
    "labels init to .txt": lambda t: Case(["labels", "init", str(t / "mine.txt")], "mine.txt"),
    "labels init into an unwritable folder": lambda t: Case(
        ["labels", "init", str(UNWRITABLE / "mine.yaml")], str(UNWRITABLE)),
    "labels init over a read-only file": lambda t: Case(
        ["labels", "init", str(read_only(labels(t, "old.yaml"))), "--force"], "old.yaml"),
    "labels encode -o onto the labels file": lambda t: Case(
        ["labels", "encode", "-f", str(labels(t)), "-o", str(t / "mine.yaml")], "mine.yaml"),
    "labels encode -o .txt": lambda t: Case(
        ["labels", "encode", "-f", str(labels(t)), "-o", str(t / "text.txt")], "text.txt"),
    "labels encode -o into an unwritable folder": lambda t: Case(
        ["labels", "encode", "-f", str(labels(t)), "-o", str(UNWRITABLE / "text.safetensors")], str(UNWRITABLE)),
    # backbones
    "backbone import onto its source": lambda t: Case(
        ["backbone", "import", str(a_file(t, "net.safetensors")), "-o", str(t / "net.safetensors")],
        "net.safetensors"),
    "backbone import -o .pt": lambda t: Case(
        ["backbone", "import", str(a_file(t, "net.pt")), "-o", str(t / "out.pt")], "out.pt"),
    "backbone import below a file": lambda t: Case(
        ["backbone", "import", str(a_file(t, "net.pt")), "-o", str(a_file(t) / "net.safetensors")], "notes.txt"),
    "train-backbone -o a file": lambda t: Case(
        ["train-backbone", str(demo(t)), "-o", str(a_file(t, "run.txt"))], "run.txt"),
    "train-backbone -o the folder of its data": lambda t: Case(
        ["train-backbone", str(demo(t / "run", "backbone.safetensors")), "-o", str(t / "run")],
        "backbone.safetensors"),
    "train-backbone into an unwritable folder": lambda t: Case(
        ["train-backbone", str(demo(t)), "-o", str(UNWRITABLE / "run")], str(UNWRITABLE)),
    "extract-features -o a file": lambda t: Case(
        ["extract-features", "-b", str(MODEL / "backbone.safetensors"), str(demo(t)), "--all-seen", "-o",
         str(t / "demo.dvta.safetensors")], "demo.dvta.safetensors"),
    "extract-features over its data": lambda t: Case(
        ["extract-features", "-b", str(MODEL / "backbone.safetensors"), str(features(t) / "train.npy"),
         "--all-seen", "-o", str(t / "feats")], "train.npy"),
    # heads and models
    "train-head -o .npy": lambda t: Case(["train-head", str(features(t)), "--class-names", "ntu60", "-o",
                                          str(t / "feats" / "train.npy")], "train.npy"),
    "train-head over a read-only head": lambda t: Case(
        ["train-head", str(features(t)), "--class-names", "ntu60", "-o",
         str(read_only(a_file(t, "head.safetensors")))], "head.safetensors"),
    "train-head into an unwritable folder": lambda t: Case(
        ["train-head", str(features(t)), "--class-names", "ntu60", "-o", str(UNWRITABLE / "h.safetensors")],
        str(UNWRITABLE)),
    "merge-features onto its source": lambda t: Case(
        ["merge-features", str(features(t)), "--labels", str(labels(t)), "-o", str(t / "feats")], "feats"),
    "merge-features -o a file": lambda t: Case(
        ["merge-features", str(features(t)), "--labels", str(labels(t)), "-o", str(a_file(t))], "notes.txt"),
    "model pack onto its own folder": lambda t: Case(
        ["model", "pack", "-b", str(model(t) / "backbone.safetensors"), "-H", str(t / "model" / "head.safetensors"),
         "-o", str(t / "model")], "model"),
    "model pack a Shift-GCN head with an ST-GCN backbone": lambda t: Case(
        ["model", "pack", "-b", str(stgcn_backbone(t)), "-H", str(model(t) / "head.safetensors"), "-o",
         str(t / "packed")], "head.safetensors"),
    "model pack a head with NaN weights": lambda t: Case(
        ["model", "pack", "-b", str(nan_head_model(t) / "backbone.safetensors"), "-H",
         str(t / "nan-model" / "head.safetensors"), "-o", str(t / "packed")], "head.safetensors"),
    "model pack below a file": lambda t: Case(
        ["model", "pack", "-b", str(model(t) / "backbone.safetensors"), "-H", str(t / "model" / "head.safetensors"),
         "-o", str(a_file(t) / "packed")], "notes.txt"),
    "export onto the head's metadata": lambda t: Case(
        ["export", "-m", str(model(t)), "--out", str(t / "model" / "head.json")], "head.json"),
    "export below a file": lambda t: Case(
        ["export", "-m", str(model(t)), "--out", str(a_file(t) / "x.onnx")], "notes.txt"),
}


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_and_touches_nothing(name: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    case = CASES[name](tmp_path)
    before = snapshot(tmp_path)
    code, out, err = dvta(capsys, *case.args)
    assert code == case.code, (code, out, err)
    assert "Traceback" not in out + err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert errors[0] == err.strip().splitlines()[-1], err  # the error is the last thing said
    assert case.needle in errors[0] and case.also in errors[0], (case.needle, case.also, errors[0])
    assert snapshot(tmp_path) == before  # inputs intact, nothing half-written, no temp file left


def test_show_with_a_display_that_does_not_answer(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A stale `ssh -X` DISPLAY: one line before any window (Qt would abort the process), no --save stub."""
    monkeypatch.setenv("DISPLAY", "127.0.0.1:93")  # X display 93 = TCP port 6093, where nothing listens
    src = demo(tmp_path)
    before = snapshot(tmp_path)
    code, out, err = dvta(capsys, "run", "-s", str(src), "--show", "--save", str(tmp_path / "out.mp4"), "-q")
    assert code == 1 and "Traceback" not in out + err
    assert err.strip().splitlines() == [line for line in err.splitlines() if line.startswith("error:")]
    assert "DISPLAY=127.0.0.1:93" in err and "no X server answers" in err
    assert snapshot(tmp_path) == before


def test_there_are_at_least_40_cases() -> None:
    assert len(CASES) >= 40


# ------------------------------------------------------------------------------------------ what still works


def test_outputs_are_replaced_whole_keeping_their_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = demo(tmp_path)
    out = tmp_path / "copy.dvta.safetensors"
    assert dvta(capsys, "data", "convert", str(src), "-o", str(out))[0] == 0
    first = out.read_bytes()
    assert first[:8] and stat_mode(out) == 0o666 & ~current_umask()  # not mkstemp's private 0600
    out.chmod(0o640)
    assert dvta(capsys, "data", "convert", str(src), "-o", str(out), "--name", "renamed")[0] == 0
    assert stat_mode(out) == 0o640 and out.read_bytes() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.dvta.safetensors", "demo.dvta.safetensors"]
    code, out_text, err = dvta(capsys, "data", "inspect", str(out), "--json")
    assert code == 0 and json.loads(out_text)["name"] == "renamed", err


def test_a_write_that_dies_half_way_leaves_the_old_file(tmp_path: Path) -> None:
    from dvta_live.outputs import atomic_path

    old = a_file(tmp_path, "result.safetensors")
    before = old.read_bytes()
    for interruption in (RuntimeError("the writer failed"), KeyboardInterrupt()):
        with pytest.raises(type(interruption)), atomic_path(old) as tmp:
            tmp.write_bytes(b"half of a new file")
            raise interruption
        assert old.read_bytes() == before
        assert [p.name for p in tmp_path.iterdir()] == ["result.safetensors"]  # no temp file left


def test_labels_edits_keep_the_mode_and_init_follows_the_umask(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "mine.yaml"
    assert dvta(capsys, "labels", "init", str(mine))[0] == 0
    assert stat_mode(mine) == 0o666 & ~current_umask()
    mine.chmod(0o640)
    assert dvta(capsys, "labels", "add", "juggle three balls", "-c", "Both hands toss balls.", "-f",
                str(mine))[0] == 0
    assert dvta(capsys, "labels", "remove", "juggle three balls", "-f", str(mine))[0] == 0
    assert stat_mode(mine) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["mine.yaml"]  # no temp file left


def test_a_labels_edit_that_breaks_the_parser_keeps_the_last_good_labels(tmp_path: Path) -> None:
    from dvta_live.labels.watcher import LabelsWatcher

    path = labels(tmp_path)
    watcher = LabelsWatcher(path, min_interval=0.0)
    good = watcher.state
    path.write_text("actions: " + "[" * 5000 + "]" * 5000 + "\n")
    assert watcher.poll() is False
    assert watcher.labels is good.labels and watcher.text is good.text
    assert "nested too deeply" in (watcher.error or "")
    assert watcher.status.startswith("labels edit rejected, keeping 2 actions")


def test_jsonl_on_stdout_is_only_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = dvta(capsys, "run", "-s", str(demo(tmp_path)), "--no-realtime", "--runtime", "torch",
                          "--jsonl", "-")
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]  # every stdout line is one JSON record
    assert records[0]["event"] == "start" and records[-1]["event"] == "end"
    assert "run summary" in err  # the summary went to stderr


def test_a_video_run_shows_no_native_log_noise(tmp_path: Path) -> None:
    """MediaPipe / LiteRT / glog write ~100 lines to fd 2 on a video run; the user sees only dvta's."""
    # a subprocess: what is tested is the process's own fd 2, which native libraries write to directly
    # and which they set up once per process (in-process, an earlier test has already initialised them)
    import subprocess
    import sys

    from conftest import shared_path

    video = shared_path("data", "ntu", "S001C001P001R001A001_rgb.avi")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "dvta_live", "run", "-s", str(video), "--no-realtime",
                             "--runtime", "torch", "-q", "--people", "1"], capture_output=True, text=True,
                            timeout=600, env=env, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.splitlines() == [  # dvta's two lines: the model it picked, then the source
        "model: the bundled camera model (2-D keypoints: a video gives images)",
        next(line for line in result.stderr.splitlines() if line.startswith(f"{video}: video"))]
    assert "run summary" in result.stdout


def test_ctrl_c_exits_130_during_start_up_and_after_with_the_summary(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    # a subprocess: SIGINT delivered to the real `python -m dvta_live` process and its exit status 130
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200", "HF_HUB_OFFLINE": "1"}
    args = [sys.executable, "-m", "dvta_live", "run", "-s", str(demo(tmp_path)), "--loop", "0", "--runtime",
            "torch", "-q"]
    # after start-up: the replay loops forever until Ctrl-C; wait for its first scored window
    events = tmp_path / "events.jsonl"
    proc = subprocess.Popen([*args, "--jsonl", str(events)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=tmp_path)
    while proc.poll() is None and '"prediction"' not in (events.read_text() if events.exists() else ""):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in out + err and "run summary" in out and "Ctrl-C" in out
    assert json.loads(events.read_text().splitlines()[-1])["reason"] == "stopped by the user (Ctrl-C)"
    # during start-up (imports, model loading): no traceback either
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        proc.communicate(timeout=1.0)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in out + err, err


def test_a_rejected_labels_edit_is_a_line_and_a_jsonl_event(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    # a subprocess: the run loops forever while the file is edited, and only a signal stops it (the way
    # a user does); in-process nothing outside the run could stop it
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200", "HF_HUB_OFFLINE": "1"}
    mine, events = labels(tmp_path), tmp_path / "events.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "dvta_live", "run", "-s", str(demo(tmp_path)), "-l", str(mine),
                             "--loop", "0", "--no-realtime", "--runtime", "torch", "--jsonl", str(events)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)

    def wait_for(text: str) -> None:
        deadline = time.monotonic() + 300  # a guard against hanging, not a timing assertion
        while text not in (events.read_text() if events.exists() else ""):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)

    try:
        wait_for('"prediction"')
        mine.write_text("actions: " + "[" * 5000 + "]" * 5000 + "\n")
        wait_for('"rejected"')
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    rejected = [json.loads(line) for line in events.read_text().splitlines() if '"rejected"' in line]
    assert rejected[0]["event"] == "labels" and "nested too deeply" in rejected[0]["error"]
    assert rejected[0]["actions"] == 2  # the last good labels stay in use
    assert any(line.startswith("labels edit rejected, keeping 2 actions") for line in out.splitlines()), out
    assert "Traceback" not in out + err


def test_onnx_cache_is_rebuilt_when_truncated_and_falls_back_when_unwritable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dvta_live.exporters.common import onnx_cache_dir
    from dvta_live.model import save_untrained_model
    from dvta_live.runtimes import open_runtime

    folder = save_untrained_model(tmp_path / "model")
    monkeypatch.setenv("DVTA_CACHE", str(tmp_path / "cache"))
    first = open_runtime(folder, "onnx", threads=1)
    assert first.paths.folder == onnx_cache_dir(first.model_hash)
    said = f"exported the ONNX graphs of this model to {first.paths.folder} (its first use with ONNX Runtime)"
    assert first.notes == [said]  # load() says that it exported
    window = first.paths.window
    window.write_bytes(window.read_bytes()[:1000])  # a run killed mid-write, before atomic writes
    again = open_runtime(folder, "onnx", threads=1)
    assert again.paths.window == window and "did not load" in again.notes[0] and "did not load" in again.describe()
    assert len(window.read_bytes()) > 1000
    # graphs an older dvta-live exported (another export format: no "context" output) are exported again
    import json

    import onnx

    from dvta_live.exporters.common import EXPORT_FORMAT_VERSION, METADATA_KEY
    text_graph = onnx.load(str(again.paths.text))
    for prop in text_graph.metadata_props:
        if prop.key == METADATA_KEY:
            prop.value = json.dumps({**json.loads(prop.value), "version": EXPORT_FORMAT_VERSION - 1})
    onnx.save(text_graph, str(again.paths.text))
    newer = open_runtime(folder, "onnx", threads=1)
    assert "another dvta-live version" in newer.notes[0]
    assert open_runtime(folder, "onnx", threads=1).notes == []  # the cache holds the current export again
    monkeypatch.setenv("DVTA_CACHE", str(a_file(tmp_path) / "cache"))  # below a file: not writable
    fallback = open_runtime(folder, "onnx", threads=1)
    assert fallback.paths.folder != onnx_cache_dir(fallback.model_hash)
    assert "not writable" in fallback.notes[0] and "not writable" in fallback.describe()
    windows = np.zeros((1, 3, fallback.info.window, 25, 2), np.float32)
    text = np.random.default_rng(0).standard_normal((2, 2, fallback.info.text_dim)).astype(np.float32)
    assert fallback.scores(windows, fallback.prepare_text(text)).shape == (1, 2)


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_torchrun_two_cpu_ranks_keep_rank_0s_record(tmp_path: Path) -> None:
    """`torchrun --nproc_per_node 2 dvta train-backbone ...` (gloo): one history, one "saved" line."""
    import subprocess
    import sys

    from dvta_live.skeleton.readers import read_path
    from dvta_live.skeleton.sequence import SkeletonDataset, SkeletonSequence
    from dvta_live.skeleton.store import save_dataset

    # subprocesses: torchrun starts two ranks, each its own process (what is tested)
    take = read_path(DEMO).sequences[0].data  # real motion, cut into 8 short labelled clips
    clips = tuple(SkeletonSequence(np.ascontiguousarray(take[:, i * 60:(i + 1) * 60]), label=i % 2,
                                   name=f"clip{i}", fps=30.0, subject=1 + i % 2) for i in range(8))
    data = save_dataset(SkeletonDataset("toy", ("a", "b"), clips), tmp_path / "toy.dvta.safetensors")
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             "-m", "dvta_live", "train-backbone", str(data), "-o", str(run), "--epochs", "2",
                             "--val-subjects", "2", "--batch-size", "2", "--window", "16", "--device", "cpu"],
                            capture_output=True, text=True, timeout=600, env=env, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    history = json.loads((run / "history.json").read_text())
    assert [row["epoch"] for row in history] == [0, 1] and all("val_accuracy" in row for row in history)
    assert result.stdout.count("saved") == 1 and "-100.0%" not in result.stdout
