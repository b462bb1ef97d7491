"""The `dvta` entry point as a user runs it: help, doctor, and bad input as one clear line."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import shared_path


def run_dvta(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dvta_live", *args], capture_output=True, text=True, check=False,
                          cwd=cwd, timeout=300, env={**os.environ, "COLUMNS": "200",
                                                     "HF_HUB_OFFLINE": "1"})


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) >= 1 and lines[0].startswith("error:"), result.stderr
    text = " ".join(lines)  # rich may wrap one long line
    for needle in needles:
        assert needle in text, (needle, result.stderr)


def test_help_lists_commands() -> None:
    result = run_dvta("--help")
    assert result.returncode == 0
    for command in ("doctor", "data"):
        assert command in result.stdout


def test_doctor_json_reports_this_machine() -> None:
    result = run_dvta("doctor", "--json")
    assert result.returncode == 0, result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["NumPy"]["ok"] and checks["PyTorch"]["ok"] and checks["ONNX Runtime"]["ok"]
    trt = checks["TensorRT"]
    if importlib.util.find_spec("tensorrt") is None:  # not installed: said so, with the install line
        assert not trt["ok"] and trt["detail"] == "not installed", trt
        assert "pip install 'dvta-live[tensorrt]'" in trt["fix"], trt
    else:  # installed: ok exactly when this TensorRT major is one the engine code supports
        import tensorrt

        from dvta_live.export.engine import tensorrt_version_problem

        assert trt["ok"] == (tensorrt_version_problem(tensorrt.__version__) is None), trt


def test_doctor_streams_its_rows() -> None:
    """The first rows come before the slow imports: a generator that has not imported torch yet."""
    code = ("import sys; from dvta_live.doctor import iter_checks; it = iter_checks(); "
            "first = [next(it) for _ in range(3)]; print('torch' in sys.modules, [c.name for c in first])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False ['dvta-live', 'Python', 'CPU cores']", out.stdout + out.stderr


def test_truncated_skeleton_is_one_clear_line(tmp_path: Path) -> None:
    sample = shared_path("data", "ntu", "S001C001P001R001A001.skeleton")
    broken = tmp_path / "S001C001P001R001A001.skeleton"
    broken.write_text(sample.read_text()[:5000])
    assert_one_line_error(run_dvta("data", "inspect", str(broken)), str(broken))


def test_empty_file_is_one_clear_line(tmp_path: Path) -> None:
    empty = tmp_path / "S001C001P001R001A001.skeleton"
    empty.write_text("")
    assert_one_line_error(run_dvta("data", "inspect", str(empty)), str(empty))


def test_unknown_folder_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not skeletons")
    assert_one_line_error(run_dvta("data", "inspect", str(tmp_path)), str(tmp_path))
    missing = tmp_path / "does-not-exist"
    assert_one_line_error(run_dvta("data", "inspect", str(missing)), str(missing))


def test_convert_then_inspect_round_trip(tmp_path: Path) -> None:
    source = shared_path("data", "utd-mhad")
    out = tmp_path / "utd.dvta.safetensors"
    converted = run_dvta("data", "convert", str(source), "--out", str(out))
    assert converted.returncode == 0, converted.stderr
    inspected = run_dvta("data", "inspect", str(out), "--json")
    assert inspected.returncode == 0, inspected.stderr
    summary = json.loads(inspected.stdout)
    assert (summary["num_sequences"], summary["num_classes"]) == (861, 27)
    assert summary["subjects"] == list(range(1, 9))
