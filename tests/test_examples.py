"""Examples of an action (issue 15, the data side): the labels file's `examples:` key, reading clips from
skeleton files and videos (through the live path's pose estimator), storing them beside the labels file,
`dvta labels add --example` and `dvta teach`."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dvta_live.errors import UserError
from dvta_live.labels import LabelsError, check_labels, load_labels
from dvta_live.labels.edit import add_examples
from dvta_live.labels.examples import examples_folder, parse_example, split_source
from dvta_live.pose.clips import load_example, pose_cache_folder
from dvta_live.skeleton.readers import read_path
from dvta_live.teach import save_example

from conftest import REPO, assert_one_line_error, dvta, shared_path

DEMO = REPO / "dvta_live" / "assets" / "demo" / "cmu-86-01.dvta.safetensors"
TA_CHI = ("data", "videos", "ta_chi.mp4")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test converts its own videos: the pose cache starts empty."""
    root = tmp_path_factory.mktemp("dvta-cache")
    monkeypatch.setenv("DVTA_CACHE", str(root))
    return root


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A labels folder with a clip in it (the bundled demo take) and a labels file with comments."""
    (tmp_path / "clips").mkdir()
    shutil.copy(DEMO, tmp_path / "clips" / "demo.dvta.safetensors")
    write(tmp_path / "mine.yaml", """\
        # my actions
        actions:
          - name: walk   # walking forward
            context: The person walks forward.

          # fists
          - name: punch
            context: A fist goes forward.
            examples:
              - clips/demo.dvta.safetensors#4-6   # the punches
        # end of file
        """)
    return tmp_path


def black_video(path: Path, frames: int = 60, fps: float = 30.0) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (160, 120))
    for _ in range(frames):
        writer.write(np.zeros((120, 160, 3), np.uint8))
    writer.release()
    return path


# --- the labels file ------------------------------------------------------------------------------------

def test_loader_reads_examples_relative_to_the_labels_file(folder: Path) -> None:
    labels = load_labels(folder / "mine.yaml")
    walk, punch = labels.actions
    assert walk.examples == ()
    (ex,) = punch.examples
    assert ex.source == "clips/demo.dvta.safetensors#4-6" and ex.line == 10
    assert ex.path == folder / "clips" / "demo.dvta.safetensors" and ex.path.is_absolute()
    assert (ex.start_s, ex.end_s) == (4.0, 6.0)
    assert split_source("a b/wave.mp4") == ("a b/wave.mp4", None, None)
    assert split_source("take#1.mp4#0.5-2") == ("take#1.mp4", 0.5, 2.0)


BAD = [
    ("not a list", "examples: clips/demo.dvta.safetensors\n", 6, ["must be a list of clip files"]),
    ("empty", "examples:\n", 6, ["examples of `clap` is empty"]),
    ("a number", "examples:\n      - 3\n", 7, ["example 1 of `clap` must be a file path, not a number"]),
    ("a mapping", "examples:\n      - {path: x}\n", 7, ["must be a file path, not a mapping"]),
    ("range words", "examples:\n      - clips/demo.dvta.safetensors#a-b\n", 7, ["is not a range of seconds", "START-END"]),
    ("range reversed", "examples:\n      - clips/demo.dvta.safetensors#3-1\n", 7, ["is empty", "0 <= START < END"]),
    ("range negative", "examples:\n      - clips/demo.dvta.safetensors#-1-2\n", 7, ["not a range of seconds"]),
    ("missing file", "examples:\n      - clips/demo.dvta.safetensors\n      - clips/absent.mp4#1-2\n", 8,
     ["example 2 of `clap` (clips/absent.mp4) does not exist", "relative to the labels file's folder"]),
    ("a folder", "examples: [clips]\n", 6, ["is a folder, not a clip file"]),
    ("misspelt key", "exampels: [clips/demo.dvta.safetensors]\n", 6, ["did you mean `examples`?"]),
]


@pytest.mark.parametrize("what,tail,line,needles", BAD, ids=[b[0] for b in BAD])
def test_loader_refuses_bad_examples_with_their_line(folder: Path, what: str, tail: str, line: int,
                                                     needles: list[str]) -> None:
    path = write(folder / "bad.yaml", "# bad\nactions:\n  - name: clap\n    context: Hands meet.\n"
                 "    # the clips\n    " + tail)
    with pytest.raises(LabelsError) as info:
        load_labels(path)
    message = str(info.value)
    assert info.value.line == line, message
    assert message.startswith(f"{path}: line {line}: ") and "\n" not in message
    for needle in needles:
        assert needle in message, (needle, message)
    # `dvta labels check` finds the same problem at the same line (paths relative to the file, not here)
    assert [p.line for p in check_labels(path.read_text(), path=path)] == [line]


# --- reading examples -----------------------------------------------------------------------------------

def test_load_example_cuts_a_skeleton_file_to_its_range(folder: Path) -> None:
    example = parse_example(f"{DEMO}#1-3")
    seq = load_example(example)
    whole = read_path(DEMO)[0]
    assert seq.fps == whole.fps == 30.0
    assert seq.data.shape == (3, 60, 25, 2) and seq.data.dtype == np.float32  # 2 s of frames
    np.testing.assert_array_equal(seq.data, whole.data[:, 30:90])
    assert seq.source == f"{DEMO}#1-3"
    assert load_example(parse_example(str(DEMO))).num_frames == whole.num_frames  # no range: all of it
    with pytest.raises(UserError, match=r"ends after the clip, which is 38\.17 s long"):
        load_example(parse_example(f"{DEMO}#30-300"))
    with pytest.raises(UserError, match="no such example file"):
        parse_example(str(folder / "absent.bvh#1-2"))


def test_load_example_runs_a_video_through_the_live_pose_path_once(tmp_path: Path) -> None:
    video = shared_path(*TA_CHI)
    example = parse_example(f"{video}#1-3")
    seq = load_example(example)
    assert seq.data.dtype == np.float32 and seq.data.shape[0::2] == (3, 25) and seq.data.shape[3] == 2
    assert 58 <= seq.num_frames <= 61 and seq.fps == pytest.approx(29.97, abs=0.01)
    body = seq.data[..., 0]
    assert np.all(np.any(body != 0, axis=(0, 2))), "the tai chi performer is found in every frame"
    # NTU axes, metres: y up, so the head (joint 3) is above the feet (joints 15, 19)
    assert np.all(body[1, :, 3] > body[1, :, 15]) and 0.8 < float(np.median(body[1, :, 3] - body[1, :, 15])) < 2.2
    cached = list(pose_cache_folder().glob("*.dvta.safetensors"))
    assert len(cached) == 1 and ".1-3.lite." in cached[0].name
    again = load_example(example)  # from the cache: the same frames
    np.testing.assert_array_equal(again.data, seq.data)
    assert again.fps == pytest.approx(seq.fps)


def test_a_video_without_a_person_is_refused(tmp_path: Path) -> None:
    video = black_video(tmp_path / "black.avi")
    with pytest.raises(UserError) as info:
        load_example(parse_example(str(video)))
    message = str(info.value)
    assert message.startswith(str(video)) and "a person is in only 0 of 60 frames" in message
    assert "whole body in view" in message


def test_save_example_writes_unique_clips_beside_the_labels_file(folder: Path) -> None:
    labels_path = folder / "mine.yaml"
    assert examples_folder(labels_path) == folder / "mine.examples"
    seq = load_example(parse_example(f"{DEMO}#1-3"))
    first = save_example(seq, labels_path, "Wave  with the LEFT hand!")
    second = save_example(seq, labels_path, "wave with the left hand")
    assert first == folder / "mine.examples" / "wave-with-the-left-hand-1.dvta.safetensors"
    assert second.name == "wave-with-the-left-hand-2.dvta.safetensors"
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".")], "no temp file left"
    back = load_example(parse_example(str(second)))
    np.testing.assert_array_equal(back.data, seq.data)
    assert back.fps == 30.0


# --- dvta labels add --example ------------------------------------------------------------------------

def test_cli_add_example_stores_clips_and_keeps_comments(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = folder / "mine.yaml"
    original = path.read_text()
    code, out, err = dvta(capsys, "labels", "add", "walk", "--example", f"{DEMO}#1-3", "-f", str(path))
    assert code == 0, err
    assert "added 1 example(s) to walk" in out
    stored = folder / "mine.examples" / "walk-1.dvta.safetensors"
    assert stored.is_file()
    lines = original.splitlines(keepends=True)
    assert path.read_text() == "".join(lines[:4] + ["    examples:\n",
                                                    "      - mine.examples/walk-1.dvta.safetensors\n"] + lines[4:])
    # an existing list grows below its last item, before the comments after it
    code, out, err = dvta(capsys, "labels", "add", "PUNCH", "-e", f"{DEMO}#7-8", "-e", f"{DEMO}#9.5-10.5",
                          "-f", str(path))
    assert code == 0, err
    text = path.read_text()
    assert ("      - clips/demo.dvta.safetensors#4-6   # the punches\n"
            "      - mine.examples/punch-1.dvta.safetensors\n"
            "      - mine.examples/punch-2.dvta.safetensors\n"
            "# end of file\n") in text
    assert text.startswith("# my actions\n") and "  - name: walk   # walking forward\n" in text
    labels = load_labels(path)
    assert [len(a.examples) for a in labels.actions] == [1, 3]
    assert load_example(labels.actions[1].examples[2]).num_frames == 30
    # a new action with its context and examples
    code, out, err = dvta(capsys, "labels", "add", "jump", "-c", "Both feet leave the ground.",
                          "-e", f"{DEMO}#10-12", "-f", str(path))
    assert code == 0, err
    jump = load_labels(path).actions[-1]
    assert jump.name == "jump" and [e.source for e in jump.examples] == ["mine.examples/jump-1.dvta.safetensors"]
    # list and check count them
    code, out, _ = dvta(capsys, "labels", "check", "-f", str(path))
    assert code == 0 and "5 examples for 3 of them" in " ".join(out.split())
    code, out, _ = dvta(capsys, "labels", "list", "-f", str(path), "--json")
    assert code == 0 and '"examples": [' in out


def test_cli_add_example_errors_change_nothing(folder: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = folder / "mine.yaml"
    original = path.read_bytes()
    cases = [
        (("labels", "add", "jump", "-e", f"{DEMO}#1-3", "-f", str(path)), ["no action `jump` yet", "--context"]),
        (("labels", "add", "walk", "-c", "x", "-e", f"{DEMO}#1-3", "-f", str(path)), ["already exists"]),
        (("labels", "add", "walk", "-e", f"{DEMO}#3-1", "-f", str(path)), ["is empty", "START-END"]),
        (("labels", "add", "walk", "-e", str(folder / "absent.mp4"), "-f", str(path)), ["no such example file"]),
        (("labels", "add", "walk", "-e", f"{DEMO}#1-3", "-e", str(black_video(tmp_path / "black.avi")),
          "-f", str(path)), ["black.avi", "a person is in only 0 of 60 frames"]),
        (("labels", "add", "walk", "-e", f"{DEMO}#1-3"), ["bundled labels files are read-only"]),
    ]
    for args, needles in cases:
        assert_one_line_error(dvta(capsys, *args), *needles)
    assert path.read_bytes() == original
    assert not any(examples_folder(path).glob("*")) if examples_folder(path).exists() else True


def test_add_examples_to_a_flow_style_list_keeps_comments(folder: Path) -> None:
    path = write(folder / "flow.yaml", """\
        # top
        actions:
          - {name: clap, context: Hands meet., examples: [clips/demo.dvta.safetensors#1-2]}  # eol
        """)
    result = add_examples(path, "clap", ["clips/demo.dvta.safetensors#2-3"])
    assert [e.source for e in result.action.examples] == ["clips/demo.dvta.safetensors#1-2",
                                                           "clips/demo.dvta.safetensors#2-3"]
    assert "# top" in path.read_text() and "# eol" in path.read_text()
    with pytest.raises(LabelsError, match="does not exist"):  # re-validated before writing
        add_examples(path, "clap", ["clips/absent.bvh"])
    assert len(load_labels(path).actions[0].examples) == 2


# --- dvta teach -----------------------------------------------------------------------------------------

def test_teach_from_a_video_saves_each_take(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = shared_path(*TA_CHI)
    path = folder / "mine.yaml"
    code, out, err = dvta(capsys, "teach", "tai chi", "-s", str(video), "--count", "2", "--seconds", "2",
                          "--labels", str(path), "--context", "Slow flowing arm movements.")
    assert code == 0, err
    text = " ".join(out.split())
    assert "take 1/2 in 3... 2... 1... go" in text and "take 2/2 in 3... 2... 1... go" in text
    assert "take 1: a person in 60 of 60 frames: saved" in text
    assert "take 2: a person in 60 of 60 frames: saved" in text
    assert "added 2 example(s) to tai chi" in text
    action = load_labels(path).find("tai chi")
    assert action is not None and [e.source for e in action.examples] == [
        "mine.examples/tai-chi-1.dvta.safetensors", "mine.examples/tai-chi-2.dvta.safetensors"]
    first, second = (load_example(e) for e in action.examples)
    assert first.num_frames == second.num_frames == 60
    assert not np.array_equal(first.data, second.data), "consecutive stretches of the file, not the same one"
    # the same stretch through load_example: the same skeleton frames (one pose path)
    direct = load_example(parse_example(f"{video}#0-2"))
    np.testing.assert_allclose(direct.data, first.data, atol=1e-6)
    assert path.read_text().startswith("# my actions\n")


def test_teach_with_nobody_in_view_saves_nothing(folder: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    video = black_video(tmp_path / "black.avi", frames=60)
    path = folder / "mine.yaml"
    original = path.read_bytes()
    result = dvta(capsys, "teach", "clap", "-s", str(video), "--count", "2", "--seconds", "1",
                  "-l", str(path), "-c", "Hands meet.")
    assert_one_line_error(result, "black.avi", "no take had a person in view; nothing saved")
    out = " ".join(result[1].split())
    assert "take 1: a person in 0 of 30 frames: not saved (nobody in view)" in out
    assert "take 2: a person in 0 of 30 frames: not saved" in out
    assert path.read_bytes() == original and not examples_folder(path).exists()


def test_teach_refuses_before_recording(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = folder / "mine.yaml"
    video = black_video(tmp_path / "black.avi", frames=10)
    result = dvta(capsys, "teach", "clap", "-s", str(video), "-l", str(path))  # a new action needs a context
    assert_one_line_error(result, "no action `clap` yet", "--context")
    assert "take" not in result[1]
    result = dvta(capsys, "teach", "clap", "-s", str(video), "-c", "Hands meet.")  # the bundled labels
    assert_one_line_error(result, "read-only", "dvta labels init")
    path.chmod(0o444)
    try:
        result = dvta(capsys, "teach", "walk", "-s", str(video), "-l", str(path))
        assert_one_line_error(result, "read-only")
        assert "take" not in result[1]
    finally:
        path.chmod(0o644)
    assert_one_line_error(dvta(capsys, "teach", "walk", "-s", str(video), "--seconds", "0", "-l", str(path)),
                          "--seconds 0 is out of range")
