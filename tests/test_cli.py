"""The `dvta` entry point as a user runs it: help, doctor, and bad input as one clear line.

In-process (``dvta_live.cli.main``, as the console script calls it), so the torch import is paid once;
two tests start a process, for what only a process shows (a fresh interpreter, the exit status)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import assert_one_line_error, dvta, shared_path

Capsys = pytest.CaptureFixture[str]


def test_help_lists_commands(capsys: Capsys) -> None:
    code, out, _ = dvta(capsys, "--help")
    assert code == 0
    for command in ("doctor", "data"):
        assert command in out


def test_python_m_dvta_live_exit_status(tmp_path: Path) -> None:
    """`python -m dvta_live` itself: exit 0 on --help, 1 with one line and no traceback on bad input."""
    # a subprocess: the exit status and stderr of the real process are what is tested
    env = {**os.environ, "COLUMNS": "200", "HF_HUB_OFFLINE": "1"}
    ok = subprocess.run([sys.executable, "-m", "dvta_live", "--help"], capture_output=True, text=True,
                        check=False, timeout=300, env=env)
    assert ok.returncode == 0 and "doctor" in ok.stdout, ok.stderr
    missing = tmp_path / "does-not-exist"
    bad = subprocess.run([sys.executable, "-m", "dvta_live", "data", "inspect", str(missing)], capture_output=True,
                         text=True, check=False, timeout=300, env=env)
    assert bad.returncode == 1
    assert_one_line_error((bad.returncode, bad.stdout, bad.stderr), str(missing))


def test_doctor_json_reports_this_machine(capsys: Capsys) -> None:
    code, out, err = dvta(capsys, "doctor", "--json")
    assert code == 0, err
    checks = {c["name"]: c for c in json.loads(out)}
    assert checks["NumPy"]["ok"] and checks["PyTorch"]["ok"] and checks["ONNX Runtime"]["ok"]
    trt = checks["TensorRT"]
    if importlib.util.find_spec("tensorrt") is None:  # not installed: said so, with the install line
        assert not trt["ok"] and trt["detail"] == "not installed", trt
        assert "pip install 'dvta-live[tensorrt]'" in trt["fix"], trt
    else:  # installed: ok exactly when this TensorRT major is one the engine code supports
        import tensorrt

        from dvta_live.exporters.engine import tensorrt_version_problem

        assert trt["ok"] == (tensorrt_version_problem(tensorrt.__version__) is None), trt


def test_doctor_streams_its_rows() -> None:
    """The first rows come before the slow imports: a generator that has not imported torch yet."""
    # a subprocess: only a fresh interpreter has not imported torch yet
    code = ("import sys; from dvta_live.doctor import iter_checks; it = iter_checks(); "
            "first = [next(it) for _ in range(3)]; print('torch' in sys.modules, [c.name for c in first])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False ['dvta-live', 'Python', 'CPU cores']", out.stdout + out.stderr


def test_truncated_skeleton_is_one_clear_line(tmp_path: Path, capsys: Capsys) -> None:
    sample = shared_path("data", "ntu", "S001C001P001R001A001.skeleton")
    broken = tmp_path / "S001C001P001R001A001.skeleton"
    broken.write_text(sample.read_text()[:5000])
    assert_one_line_error(dvta(capsys, "data", "inspect", str(broken)), str(broken))


def test_empty_file_is_one_clear_line(tmp_path: Path, capsys: Capsys) -> None:
    empty = tmp_path / "S001C001P001R001A001.skeleton"
    empty.write_text("")
    assert_one_line_error(dvta(capsys, "data", "inspect", str(empty)), str(empty))


def test_unknown_folder_is_one_clear_line(tmp_path: Path, capsys: Capsys) -> None:
    (tmp_path / "notes.txt").write_text("not skeletons")
    assert_one_line_error(dvta(capsys, "data", "inspect", str(tmp_path)), str(tmp_path))
    missing = tmp_path / "does-not-exist"
    assert_one_line_error(dvta(capsys, "data", "inspect", str(missing)), str(missing))


def test_convert_then_inspect_round_trip(tmp_path: Path, capsys: Capsys) -> None:
    source = shared_path("data", "utd-mhad")
    out = tmp_path / "utd.dvta.safetensors"
    code, _, err = dvta(capsys, "data", "convert", str(source), "--out", str(out))
    assert code == 0, err
    code, stdout, err = dvta(capsys, "data", "inspect", str(out), "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert (summary["num_sequences"], summary["num_classes"]) == (861, 27)
    assert summary["subjects"] == list(range(1, 9))
