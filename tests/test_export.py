"""Export to ONNX / TensorRT and the runtimes behind one interface: exported == eager on real skeletons.

The parity tests run on the NTU samples in ../shared (skipped with the reason without them): ST-GCN with
random weights, and Shift-GCN with the official NTU-120 weights. TensorRT engines are tested in
test_tensorrt.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dvta_live.errors import UserError
from dvta_live.exporters.common import METADATA_KEY, ExportPaths
from dvta_live.exporters.engine import (
    ENGINE_MAGIC,
    ProfileBounds,
    check_engine_header,
    pack_engine,
    parse_engine_bytes,
    read_engine_header,
    tensorrt_missing,
)
from dvta_live.exporters.onnx_export import export_onnx, onnx_metadata
from dvta_live.model import load_model_net, model_sha256, save_untrained_model
from dvta_live.runtimes import OnnxRuntime, TorchRuntime, open_runtime
from dvta_live.runtimes.check import check_text, compare_scores, load_check_windows

from conftest import assert_one_line_error, dvta, shared_path

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
FP32_REL = 1e-4  # max |onnx - eager| / max |eager|; measured ~1e-6


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Automatic exports go to a temporary cache, never the user's ~/.cache."""
    monkeypatch.setenv("DVTA_CACHE", str(tmp_path_factory.getbasetemp() / "dvta-cache"))


@pytest.fixture(scope="module")
def stgcn(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(model folder, export folder) of a random-weight ST-GCN model, exported whole and split into the
    model folder (where runtimes look first)."""
    root = tmp_path_factory.mktemp("stgcn")
    model = save_untrained_model(root / "model", "stgcn", class_names=("wave", "sit down", "jump"))
    export_onnx(model, split=True)
    return model, model


def _ntu_windows(recipe: object, limit: int | None = None) -> np.ndarray:
    windows, _ = load_check_windows([shared_path("data", "ntu")], recipe, limit)  # type: ignore[arg-type]
    return windows


# ------------------------------------------------------------------------------------------ parity


def test_stgcn_onnx_matches_eager_on_ntu(stgcn: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    model, exported = stgcn
    eager = TorchRuntime(model)
    windows = _ntu_windows(eager.info.recipe)
    onnx_rt = open_runtime(model, "onnx")  # finds the export beside the model
    assert isinstance(onnx_rt, OnnxRuntime) and onnx_rt.name == "onnxruntime-cpu"
    assert onnx_rt.paths.window == ExportPaths(exported).window
    text = check_text(60, eager.info.text_dim)
    want = eager.scores(windows, eager.prepare_text(text))
    got = onnx_rt.scores(windows, onnx_rt.prepare_text(text))
    pair = compare_scores("pair", "fp32", got, want)

    import onnxruntime as ort

    whole = ort.InferenceSession(str(ExportPaths(exported).recognizer), providers=["CPUExecutionProvider"])
    whole_got = whole.run(["scores"], {"skeleton": windows, "text": text})[0]
    whole_res = compare_scores("whole", "fp32", whole_got, want)
    # split graphs compose to the same scores
    backbone = ort.InferenceSession(str(ExportPaths(exported).backbone), providers=["CPUExecutionProvider"])
    head = ort.InferenceSession(str(ExportPaths(exported).head), providers=["CPUExecutionProvider"])
    feature = backbone.run(["feature"], {"skeleton": windows})[0]
    split_res = compare_scores("split", "fp32", head.run(["scores"], {"feature": feature, "text": text})[0], want)
    with capsys.disabled():
        print(f"\nST-GCN (random weights) on {len(windows)} NTU windows, C=60: max |onnx - eager| "
              f"pair {pair.max_abs:.2e} (rel {pair.max_rel:.2e}), whole {whole_res.max_abs:.2e} "
              f"(rel {whole_res.max_rel:.2e}), split {split_res.max_abs:.2e}")
    for r in (pair, whole_res, split_res):
        assert r.max_rel < FP32_REL and r.top1_agreement == 1.0


def test_shiftgcn_official_weights_onnx_matches_eager_on_ntu(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Official NTU-120 Shift-GCN (300-frame windows, ~1-2 s each on a small CPU: a few windows only)."""
    from dvta_live.backbone.checkpoint import import_checkpoint

    weights = shared_path("weights", "shift-gcn", "ntu120_ShiftGCN_joint_xsub.pt")
    model = save_untrained_model(tmp_path / "model", "shiftgcn")
    import_checkpoint(weights, model / "backbone.safetensors")  # the official backbone + a fresh head
    recognizer, info = load_model_net(model)
    assert info.window == 300
    export_onnx((recognizer, info), tmp_path / "exported", whole=False)
    eager = TorchRuntime(model)
    onnx_rt = OnnxRuntime(model, tmp_path / "exported")
    windows = _ntu_windows(info.recipe, 3)
    text = check_text(20, info.text_dim)
    prepared_eager, prepared_onnx = eager.prepare_text(text), onnx_rt.prepare_text(text)
    want = np.concatenate([eager.scores(windows[:2], prepared_eager), eager.scores(windows[2:], prepared_eager)])
    got = np.concatenate([onnx_rt.scores(windows[:2], prepared_onnx), onnx_rt.scores(windows[2:], prepared_onnx)])
    r = compare_scores("shiftgcn", "fp32", got, want)
    with capsys.disabled():
        print(f"\nShift-GCN (official NTU-120 xsub weights) on {len(windows)} NTU windows, C=20: "
              f"max |onnx - eager| {r.max_abs:.2e} (rel {r.max_rel:.2e})")
    assert r.max_rel < FP32_REL and r.top1_agreement == 1.0


def test_classes_and_batch_change_without_reexport(stgcn: tuple[Path, Path]) -> None:
    """Editing the labels file changes C: the same exported files score any C and any B."""
    model, exported = stgcn
    before = {p.name: p.stat().st_mtime_ns for p in exported.iterdir()}
    eager, onnx_rt = TorchRuntime(model), OnnxRuntime(model, exported)
    windows = _ntu_windows(eager.info.recipe, 3)
    for classes in (1, 120):
        text = check_text(classes, eager.info.text_dim, seed=classes)
        prepared, reference = onnx_rt.prepare_text(text), eager.prepare_text(text)
        assert prepared.num_classes == classes
        for batch in (1, 3):
            got = onnx_rt.scores(windows[:batch], prepared)
            assert got.shape == (batch, classes)
            assert compare_scores("c", "fp32", got, eager.scores(windows[:batch], reference)).max_rel < FP32_REL
    assert {p.name: p.stat().st_mtime_ns for p in exported.iterdir()} == before


# ---------------------------------------------------------------------------------------- metadata


def test_metadata_in_onnx_and_beside(stgcn: tuple[Path, Path]) -> None:
    import onnx

    model, exported = stgcn
    _, info = load_model_net(model)
    paths = ExportPaths(exported)
    beside = json.loads(paths.metadata.read_text())
    assert beside["model_sha256"] == model_sha256(info)
    assert beside["recipe"]["name"] == "smie50" and beside["recipe"]["window"] == 50
    assert beside["layout"] == "ntu25" and beside["text_model"] == "all-MiniLM-L6-v2"
    assert beside["text_dim"] == 384 and beside["feature_dim"] == 256
    assert beside["training_classes"] == ["wave", "sit down", "jump"]
    assert {"dvta_live", "torch", "onnx"} <= set(beside["versions"])
    assert set(beside["graphs"]) == {"recognizer", "text", "window", "backbone", "head"}
    for name in beside["graphs"]:
        file = getattr(paths, name)
        proto = onnx.load(str(file))
        assert proto.opset_import[0].version >= 17
        props = {p.key: p.value for p in proto.metadata_props}
        assert props["graph"] == name and props["model_sha256"] == beside["model_sha256"]
        assert json.loads(props[METADATA_KEY])["training_classes"] == beside["training_classes"]
        assert onnx_metadata(file)["graph"] == name
    whole = beside["graphs"]["recognizer"]
    assert whole["inputs"] == {"skeleton": ["B", 3, 50, 25, 2], "text": ["C", 2, 384]}
    assert whole["outputs"] == {"scores": ["B", "C"]}


# -------------------------------------------------------------------------------- runtimes, refusals


def test_onnx_runtime_exports_into_the_cache_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dvta_live.runtimes.auto as runtime_module

    model = save_untrained_model(tmp_path / "model", "stgcn", seed=3)
    first = open_runtime(model, "onnx")
    cache = Path(os.environ["DVTA_CACHE"])
    assert first.paths.folder.is_relative_to(cache) and first.paths.window.is_file()  # type: ignore[attr-defined]
    stamp = first.paths.window.stat().st_mtime_ns  # type: ignore[attr-defined]
    # what auto sees on a machine without a GPU, whatever this one has
    monkeypatch.setattr(runtime_module, "tensorrt_missing", lambda: "no GPU here")
    monkeypatch.setattr(runtime_module, "_gpu_providers", lambda: False)
    monkeypatch.setattr(runtime_module, "_cuda", lambda: False)
    second = open_runtime(model, "auto")  # without a GPU auto is ONNX Runtime, from the same cache
    assert second.name == "onnxruntime-cpu" and "auto:" in second.describe()
    assert second.paths.window.stat().st_mtime_ns == stamp  # type: ignore[attr-defined]


def test_export_of_another_model_is_refused(stgcn: tuple[Path, Path], tmp_path: Path) -> None:
    _, exported = stgcn
    other = save_untrained_model(tmp_path / "other", "stgcn", seed=7)
    with pytest.raises(UserError, match="exported from another model"):
        OnnxRuntime(other, exported)


def test_text_of_the_wrong_size_is_refused(stgcn: tuple[Path, Path]) -> None:
    model, exported = stgcn
    rt = OnnxRuntime(model, exported)
    with pytest.raises(UserError, match=r"this model takes \[C >= 1, 2, 384\]"):
        rt.prepare_text(np.zeros((3, 2, 768), np.float32))


# --------------------------------------------------------------------------------- engine header


def _header(**overrides: object) -> dict[str, object]:
    return {"model_sha256": "ab" * 32, "tensorrt": "10.8.0.43", "gpu": "NVIDIA L4", "compute_capability": [8, 9],
            "precision": "fp16", "profile": ProfileBounds().to_dict(), **overrides}


def test_engine_header_round_trip(tmp_path: Path) -> None:
    data = pack_engine(_header(), b"\x01serialized-engine")
    assert data.startswith(ENGINE_MAGIC)
    header, engine = parse_engine_bytes(data)
    assert engine == b"\x01serialized-engine" and header["gpu"] == "NVIDIA L4"
    assert ProfileBounds.from_dict(header["profile"]) == ProfileBounds()
    path = tmp_path / "m.engine"
    path.write_bytes(data)
    assert read_engine_header(path)["model_sha256"] == "ab" * 32
    check_engine_header(header, model_sha256="ab" * 32, tensorrt_version="10.8.0.43", gpu_name="NVIDIA L4",
                        compute_capability=(8, 9), path=path)


def test_stale_or_mismatched_engine_is_refused(tmp_path: Path) -> None:
    header, _ = parse_engine_bytes(pack_engine(_header(), b"x"))
    ok = {"model_sha256": "ab" * 32, "tensorrt_version": "10.8.0.43", "gpu_name": "NVIDIA L4",
          "compute_capability": (8, 9)}
    with pytest.raises(UserError, match="built from another model") as err:
        check_engine_header(header, **{**ok, "model_sha256": "cd" * 32}, path="m.engine")
    assert "m.engine" in str(err.value) and "dvta export" in str(err.value)
    with pytest.raises(UserError, match=r"TensorRT 10\.8\.0\.43 \(this machine has 10\.3\.0\)"):
        check_engine_header(header, **{**ok, "tensorrt_version": "10.3.0"})
    with pytest.raises(UserError, match=r"compute capability 8\.9 \(this GPU is 9\.0\)"):
        check_engine_header(header, **{**ok, "compute_capability": (9, 0), "gpu_name": "NVIDIA H100"})
    for bad, what in ((b"\x00" * 64, "no DVTAENG1 header"), (ENGINE_MAGIC + b"\xff\xff\xff\x00{}", "bad length"),
                      (ENGINE_MAGIC + b"\x02\x00\x00\x00{]engine", "bad JSON"),
                      (pack_engine(_header(), b""), "no engine")):
        with pytest.raises(UserError, match=what):
            parse_engine_bytes(bad, "m.engine")
    with pytest.raises(UserError, match="another dvta-live version"):
        parse_engine_bytes(ENGINE_MAGIC + len(b'{"header_version": 99}').to_bytes(4, "little")
                           + b'{"header_version": 99}' + b"engine")
    with pytest.raises(UserError, match="min <= opt <= max"):
        ProfileBounds(min_batch=8, opt_batch=4).validate()


# ------------------------------------------------------------------------------------------- CLI


@pytest.mark.skipif(tensorrt_missing() is None, reason="TensorRT and a GPU are here: the engine is buildable")
def test_engine_export_without_tensorrt_says_what_is_missing(stgcn: tuple[Path, Path],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert_one_line_error(dvta(capsys, "export", "--model", str(stgcn[0]), "--format", "engine"), "TensorRT",
                          "tensorrt", "pip install")


def test_export_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dvta_live.cli import app

    assert_one_line_error(dvta(capsys, "export", "--format", "plan", "--model", str(tmp_path)), "--format onnx")
    for args, needle in ((["export", "--model", str(tmp_path / "nope")], "no such model"),
                         (["benchmark", "--model", str(tmp_path), "--batch", "x"], "whole numbers")):
        result = CliRunner().invoke(app, args)  # in-process: main() turns this UserError into one line
        assert isinstance(result.exception, UserError) and needle in str(result.exception)


def test_export_cli_check_on_ntu(stgcn: tuple[Path, Path], tmp_path: Path) -> None:
    from dvta_live.cli import app

    ntu = shared_path("data", "ntu")
    result = CliRunner().invoke(app, ["export", "--model", str(stgcn[0]), "--out", str(tmp_path / "cli.onnx"),
                                      "--check", "--check-data", str(ntu), "--check-samples", "3"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli.onnx").is_file() and (tmp_path / "cli.window.onnx").is_file()
    assert (tmp_path / "cli.json").is_file()
    assert "3 real windows" in result.output and result.output.count(" ok ") >= 2


def test_benchmark_cli_json(stgcn: tuple[Path, Path]) -> None:
    from dvta_live.cli import app

    result = CliRunner().invoke(app, ["benchmark", "--model", str(stgcn[0]), "--runtime", "torch,onnx",
                                      "--batch", "1,2", "--classes", "5", "--min-time", "0", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {(r["runtime"], r["batch"]) for r in rows} == {(n, b) for n in ("torch", "onnxruntime-cpu")
                                                          for b in (1, 2)}
    assert all(r["samples_per_s"] > 0 and r["classes"] == 5 for r in rows)
    assert all(r["vs_torch"] == 1.0 for r in rows if r["runtime"] == "torch")
