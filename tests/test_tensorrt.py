"""The TensorRT path: engines that would be wrong are caught, and the builder and runner are right against
TensorRT 10's API before they ever meet a GPU.

Three kinds of test:

- comparison: ``engine_checks.assert_engine_output`` (what the GPU tests assert) passes faithful outputs
  (ONNX Runtime fp32, the model itself in fp16) and fails outputs of deliberately wrong engines (one that
  ignores the skeleton, reverses the batch, swaps the M/V layout, returns chunks out of order or a padded
  row), all computed on the CPU from the bundled model on windows of the bundled demo take;
- stand-in: the real builder (``export_engine``) and runner (``TensorRTRuntime``) end to end through a
  strict stand-in of the ``tensorrt`` module (``trt_standin``), on the host;
- gpu: real engines of the bundled model (official Shift-GCN weights) on an NVIDIA GPU with TensorRT 10,
  skipped with the reason elsewhere.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from engine_checks import DEMO, assert_engine_output, demo_windows
from trt_standin import CAPABILITY, GPU_NAME, HostCuda, ITimingCache, make_tensorrt

from dvta_live.errors import UserError
from dvta_live.exporters.common import ExportPaths
from dvta_live.exporters.engine import tensorrt_missing
from dvta_live.exporters.onnx_export import export_onnx, onnx_metadata
from dvta_live.exporters.profile import WINDOW_INPUTS, ProfileBounds, fast_fp16
from dvta_live.model import default_model, load_model_net, save_untrained_model
from dvta_live.runtimes import OnnxRuntime, TorchRuntime
from dvta_live.runtimes.check import check_text, compare_scores

from conftest import REPO

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(autouse=True)
def _caches(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Exports and label embeddings go to temporary caches, never the user's ~/.cache."""
    root = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("DVTA_CACHE", str(root / "dvta-cache"))


@dataclass(frozen=True)
class Real:
    """The bundled model, its exported window + text graphs, 12 demo windows, a text tensor and the eager
    (CPU, fp32) scores: the reference every engine is compared with."""

    model: Path
    folder: Path
    eager: TorchRuntime
    windows: np.ndarray
    text: np.ndarray
    want: np.ndarray

    @property
    def window_graph(self) -> Path:
        return ExportPaths(self.folder).window


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Real:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = default_model(None)
        recognizer, info = load_model_net(model)
        folder = tmp_path_factory.mktemp("bundled-export")
        export_onnx((recognizer, info), folder, whole=False)
        eager = TorchRuntime(model)
        windows = demo_windows(info.recipe)
        text = check_text(25, info.text_dim)
        want = eager.scores(windows, eager.prepare_text(text))
    finally:
        torch.set_num_threads(threads)
    return Real(model, folder, eager, windows, text, want)


# --------------------------------------------------------------------------------------- comparison


def _fp16_eager(real: Real) -> np.ndarray:
    """The model itself in fp16 on the CPU: what a correct fp16 engine's rounding looks like."""
    import torch

    model = copy.deepcopy(real.eager.model).half()
    with torch.inference_mode():
        side = model.head.encode_text(torch.from_numpy(real.text).half())
        return model.head.score(model.features(torch.from_numpy(real.windows).half()), side).float().numpy()


def test_faithful_outputs_pass_the_engine_comparison(real: Real) -> None:
    onnx_rt = OnnxRuntime(real.model, real.folder, providers=["CPUExecutionProvider"], threads=1)
    got = onnx_rt.scores(real.windows, onnx_rt.prepare_text(real.text))
    fp32 = assert_engine_output(got, real.want, "fp32", "onnxruntime-cpu")
    fp16 = assert_engine_output(_fp16_eager(real), real.want, "fp16", "eager fp16")
    assert fp32.window_spread > 0.3 and fp16.max_rel > 1e-4  # the scores depend on the window; fp16 rounds


WRONG = ("ignores the skeleton", "all-zero input", "reversed batch", "M and V swapped", "chunks out of order",
         "a padded row returned")


def _wrong_output(real: Real, kind: str) -> np.ndarray:
    """What an engine with this defect would return for ``real.windows``."""
    want, windows = real.want, real.windows
    eager = real.eager
    if kind == "ignores the skeleton":  # the best any skeleton-blind output can do: each class's mean
        return np.repeat(want.mean(axis=0, keepdims=True), len(want), axis=0)
    zero_row = eager.scores(np.zeros_like(windows[:1]), eager.prepare_text(real.text))
    if kind == "all-zero input":  # bindings never filled: every window reads as zeros
        return np.repeat(zero_row, len(want), axis=0)
    if kind == "reversed batch":
        return want[::-1].copy()
    if kind == "M and V swapped":  # [B, 3, T, 25, 2] memory read as if it were [B, 3, T, 2, 25]
        swapped = np.ascontiguousarray(windows.transpose(0, 1, 2, 4, 3)).reshape(windows.shape)
        return eager.scores(swapped, eager.prepare_text(real.text))
    if kind == "chunks out of order":  # chunks of 4 concatenated in the wrong order
        return np.concatenate([want[4:8], want[8:], want[:4]])
    if kind == "a padded row returned":  # the last window's row taken from the padding
        return np.concatenate([want[:-1], zero_row])
    raise ValueError(kind)


@pytest.mark.parametrize("kind", WRONG)
def test_wrong_engine_outputs_fail_the_engine_comparison(real: Real, kind: str) -> None:
    got = _wrong_output(real, kind)
    for precision in ("fp32", "fp16"):
        with pytest.raises(AssertionError, match="max \\|got - want\\|"):
            assert_engine_output(got, real.want, precision, kind)
        r = compare_scores(kind, precision, got, real.want)
        assert r.max_rel > 10 * r.tolerance  # not a near miss
    if kind != "a padded row returned":  # one bad row of twelve is still a large error; the rest are global
        assert compare_scores(kind, "fp16", got, real.want).centred_rel > 0.5


def test_a_random_weight_model_cannot_tell_a_wrong_engine(tmp_path: Path) -> None:
    """Why the engine tests use the bundled model: with random weights the scores barely depend on the
    window, so the plain fp16 check passes a reversed batch; the engine comparison refuses to judge."""
    model = save_untrained_model(tmp_path / "model", "stgcn", class_names=("wave", "sit down", "jump"))
    eager = TorchRuntime(model)
    windows = demo_windows(eager.info.recipe)
    want = eager.scores(windows, eager.prepare_text(check_text(60, eager.info.text_dim)))
    reversed_batch = want[::-1].copy()
    plain = compare_scores("reversed batch", "fp16", reversed_batch, want)
    assert plain.passed and not plain.discriminates and plain.window_spread < 1e-2
    with pytest.raises(AssertionError, match="cannot tell a wrong engine"):
        assert_engine_output(reversed_batch, want, "fp16")


# ------------------------------------------------------------------------------------------ profile


def test_one_source_of_profile_bounds() -> None:
    """The engine profile's defaults, the CLI's and ONNX Runtime's TensorRT provider's are one object's,
    tuned for one window per call (what the live loop sends)."""
    from dvta_live.cli.export import export_command
    from dvta_live.runtimes import ORT_TENSORRT_PROFILE, ort_tensorrt_profile

    bounds = ProfileBounds()
    assert ORT_TENSORRT_PROFILE == bounds and bounds.opt_batch == 1
    params = inspect.signature(export_command).parameters
    cli = ProfileBounds(*(params[f"{e}_{axis}"].default for axis in ("batch", "classes")
                          for e in ("min", "opt", "max")))
    assert cli == bounds
    options = ort_tensorrt_profile(bounds, 64, 384)
    for i, kind in enumerate(("min", "opt", "max")):
        spec = options[f"trt_profile_{kind}_shapes"]
        parsed = {name: tuple(int(d) for d in dims.split("x")) for name, dims in
                  (entry.split(":") for entry in spec.split(","))}
        assert parsed == {n: bounds.shapes(n, 64, 384)[i] for n in WINDOW_INPUTS}
    assert "skeleton:1x3x64x25x2," in options["trt_profile_opt_shapes"]
    assert "keys:3x256x384," in options["trt_profile_max_shapes"]


def test_fp16_is_decided_from_the_compute_capability() -> None:
    assert fast_fp16((8, 9)) and fast_fp16((7, 5)) and fast_fp16((6, 0)) and fast_fp16((9, 0))
    assert not fast_fp16((6, 1)) and not fast_fp16((5, 2))  # consumer Pascal: fp16 at 1/64 rate


def test_bounded_runtimes_split_and_pad_batches_and_refuse_labels_beyond_their_classes(real: Real) -> None:
    """ONNX Runtime with the TensorRT provider has the engine's bounds: the shared code splits and pads."""
    rt = OnnxRuntime(real.model, real.folder, providers=["CPUExecutionProvider"], threads=1)
    prepared = rt.prepare_text(real.text)
    calls: list[int] = []
    run = rt._run
    rt._run = lambda windows, side: calls.append(len(windows)) or run(windows, side)  # type: ignore[method-assign]
    rt.profile = ProfileBounds(2, 2, 5, 1, 25, 64)  # what the TensorRT provider sets
    got = rt.scores(real.windows[:11], prepared)
    assert calls == [5, 5, 2]  # 11 windows: 5 + 5 + 1 padded to the minimum of 2
    assert_engine_output(got, real.want[:11], "fp32", "onnxruntime, split")
    assert rt.scores(real.windows[:0], prepared).shape == (0, 25)
    with pytest.raises(UserError, match="the labels have 65 classes; onnxruntime-cpu is set up for 1-64"):
        rt.prepare_text(check_text(65, rt.info.text_dim))


# --------------------------------------------------------------------------------------- stand-in


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The strict TensorRT 10 stand-in as ``tensorrt``, the host as the CUDA device."""
    import dvta_live.exporters.engine as engine_module

    trt = make_tensorrt()
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    monkeypatch.setattr(engine_module, "CudaDevice", HostCuda)
    monkeypatch.setattr(engine_module, "tensorrt_missing",
                        lambda: engine_module.tensorrt_version_problem(sys.modules["tensorrt"].__version__))
    return trt


def _build(real: Real, out: Path, profile: ProfileBounds, fp16: bool | None = False,
           timing_cache: Path | None = None, notes: list[str] | None = None) -> Path:
    from dvta_live.exporters.engine import export_engine

    return export_engine(real.window_graph, out, metadata=onnx_metadata(real.window_graph), profile=profile,
                         fp16=fp16, timing_cache=timing_cache, notes=notes)


def test_standin_fp32_engine_is_strict_fp32_and_runs_end_to_end(real: Real, standin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from dvta_live.exporters.engine import read_engine_header
    from dvta_live.runtimes import TensorRTRuntime

    notes: list[str] = []
    engine = _build(real, tmp_path / "fp32.engine", ProfileBounds(1, 1, 4, 1, 25, 64),
                    timing_cache=tmp_path / "t.cache", notes=notes)
    header = read_engine_header(engine)
    assert header["precision"] == "fp32" and header["tf32"] is False and notes == []
    assert (header["gpu"], header["compute_capability"], header["tensorrt"]) == (GPU_NAME, list(CAPABILITY),
                                                                                standin.__version__)
    rt = TensorRTRuntime(real.model, engine)
    assert "TF32" not in rt.engine.flags and "FP16" not in rt.engine.flags
    assert rt.profile == ProfileBounds(1, 1, 4, 1, 25, 64)
    assert rt.profile_shapes("skeleton") == ((1, 3, 64, 25, 2), (1, 3, 64, 25, 2), (4, 3, 64, 25, 2))
    got = rt.scores(real.windows, rt.prepare_text(real.text))
    assert rt.context.executions == 3  # 12 windows, chunks of 4
    assert_engine_output(got, real.want, "fp32", "stand-in engine, chunked")


def test_standin_min_batch_engine_takes_one_window(real: Real, standin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from dvta_live.runtimes import TensorRTRuntime

    rt = TensorRTRuntime(real.model, _build(real, tmp_path / "min2.engine", ProfileBounds(2, 2, 4, 1, 25, 64)))
    prepared = rt.prepare_text(real.text)
    rows = [rt.scores(real.windows[i:i + 1], prepared) for i in range(len(real.windows))]
    assert {row.shape for row in rows} == {(1, 25)}
    assert_engine_output(np.concatenate(rows), real.want, "fp32", "stand-in engine, B=1 padded to 2")


def test_standin_fp16_by_default_on_a_fast_fp16_gpu(real: Real, standin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from dvta_live.exporters.engine import read_engine_header
    from dvta_live.runtimes import TensorRTRuntime

    engine = _build(real, tmp_path / "auto.engine", ProfileBounds(1, 1, 16, 1, 25, 64), fp16=None)
    header = read_engine_header(engine)
    assert header["precision"] == "fp16" and header["tf32"] is True  # recorded as it is
    rt = TensorRTRuntime(real.model, engine)
    assert "FP16" in rt.engine.flags and rt.precision == "fp16"


def test_standin_timing_cache_of_another_gpu_or_damaged_is_replaced(real: Real, standin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cache = tmp_path / "t.cache"
    profile = ProfileBounds(1, 1, 4, 1, 25, 64)

    def entries() -> tuple[str, int]:
        fields = json.loads(cache.read_bytes().split(b"\n", 1)[1])
        return fields["device"], fields["entries"]

    cache.write_bytes(bytes(ITimingCache("NVIDIA A100 sm80", 7).serialize()))  # copied with a model folder
    notes: list[str] = []
    _build(real, tmp_path / "a.engine", profile, timing_cache=cache, notes=notes)
    assert len(notes) == 1 and str(cache) in notes[0] and "another GPU or TensorRT version" in notes[0]
    assert entries() == (f"{GPU_NAME} sm89", 1)  # a fresh cache, this build's timings
    notes.clear()
    _build(real, tmp_path / "b.engine", profile, timing_cache=cache, notes=notes)
    assert notes == [] and entries()[1] == 2  # taken as it is now
    cache.write_bytes(b"\x00half a file")
    _build(real, tmp_path / "c.engine", profile, timing_cache=cache, notes=notes)
    assert len(notes) == 1 and entries()[1] == 1


def test_standin_runner_checks_what_tensorrt_answers(real: Real, standin, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from dvta_live.runtimes import TensorRTRuntime

    rt = TensorRTRuntime(real.model, _build(real, tmp_path / "e.engine", ProfileBounds(1, 1, 4, 1, 25, 64)))
    prepared = rt.prepare_text(real.text)
    with pytest.raises(UserError, match=r"input skeleton of shape \[5, 3, 64, 25, 2\] is outside"):
        rt._run(real.windows[:5], prepared)  # set_input_shape answers False
    with pytest.raises(UserError, match="65 classes; this engine was built for 1-64") as err:
        rt.prepare_text(check_text(65, rt.info.text_dim))
    assert "--max-classes 65" in str(err.value) and "e.engine" in str(err.value)
    monkeypatch.setattr(type(rt.context), "infer_shapes", lambda self: ["sq_ctx"])
    with pytest.raises(UserError, match=r"cannot infer the shapes of \['sq_ctx'\]"):
        rt.scores(real.windows[:2], prepared)


def test_standin_runner_works_on_the_device_it_was_given(real: Real, standin, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """device=1: deserialising and every execution happen with device 1 current, not device 0."""
    import contextlib

    import dvta_live.exporters.engine as engine_module
    from dvta_live.runtimes import TensorRTRuntime

    engine = _build(real, tmp_path / "d.engine", ProfileBounds(1, 1, 4, 1, 25, 64))
    current: list[int | None] = [None]
    seen: list[tuple[str, int | None]] = []

    class RecordingCuda(HostCuda):
        @contextlib.contextmanager
        def scope(self):  # type: ignore[no-untyped-def, override]
            before, current[0] = current[0], self.index
            try:
                yield
            finally:
                current[0] = before

    def spy(cls: type, method: str) -> None:
        real_method = getattr(cls, method)

        def wrapped(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            seen.append((method, current[0]))
            return real_method(self, *args, **kwargs)

        monkeypatch.setattr(cls, method, wrapped)

    monkeypatch.setattr(engine_module, "CudaDevice", RecordingCuda)
    spy(standin.Runtime, "deserialize_cuda_engine")
    spy(standin.ICudaEngine, "create_execution_context")
    spy(standin.IExecutionContext, "execute_async_v3")
    rt = TensorRTRuntime(real.model, engine, device=1)
    rt.scores(real.windows[:6], rt.prepare_text(real.text))
    assert [s for s in seen if s[0] != "execute_async_v3"] == [("deserialize_cuda_engine", 1),
                                                               ("create_execution_context", 1)]
    assert [s for s in seen if s[0] == "execute_async_v3"] == [("execute_async_v3", 1)] * 2


def test_the_standin_is_strict(standin) -> None:  # type: ignore[no-untyped-def]
    """API misuse raises here as in TensorRT 10 (or is gone, as in 11), so the end-to-end tests above mean
    something."""
    trt = standin
    builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
    config = builder.create_builder_config()
    with pytest.raises(AttributeError):
        builder.platform_has_fast_fp16  # noqa: B018 - deprecated in 10.x, gone in 11
    with pytest.raises(AttributeError):
        trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH  # noqa: B018
    with pytest.raises(AttributeError):
        config.max_workspace_size = 1 << 30  # TensorRT 8's; 10 has set_memory_pool_limit
    with pytest.raises(TypeError):
        config.set_flag(7)  # an int where a BuilderFlag goes
    with pytest.raises(TypeError):
        config.set_timing_cache(config.create_timing_cache(b""), ignore=False)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        trt.Runtime(trt.Logger()).deserialize_cuda_engine("not a buffer")
    with pytest.raises(RuntimeError):
        builder.create_optimization_profile().set_shape("skeleton", (4,), (2,), (8,))
    assert config.get_flag(trt.BuilderFlag.TF32)  # TensorRT 10 allows TF32 unless told not to
    assert config.create_timing_cache(b"junk") is None
    assert config.set_timing_cache(config.create_timing_cache(b""), False) is True
    assert config.add_optimization_profile(builder.create_optimization_profile()) == -1  # an empty one


@pytest.mark.parametrize("version", ["11.0.0.14", "9.3.0.1"])
def test_other_tensorrt_majors_are_refused_in_one_line(version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from dvta_live.exporters.engine import require_tensorrt

    monkeypatch.setitem(sys.modules, "tensorrt", make_tensorrt(version))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with pytest.raises(UserError) as err:
        require_tensorrt()
    message = str(err.value)
    assert "\n" not in message and f"TensorRT {version} is installed" in message
    assert "written for TensorRT 10.x" in message and "pip install 'tensorrt>=10,<11'" in message
    assert message == tensorrt_missing()


def test_the_tensorrt_extra_is_pinned_to_the_supported_major() -> None:
    from dvta_live.exporters.engine import TENSORRT_MAJOR

    extra = re.search(r"^tensorrt = \[(.*?)\]", (REPO / "pyproject.toml").read_text(), re.MULTILINE)
    assert extra and extra.group(1) == f'"tensorrt>={TENSORRT_MAJOR},<{TENSORRT_MAJOR + 1}"'


def test_torch_dtype_covers_the_tensorrt_io_types() -> None:
    import torch

    from dvta_live.runtimes.tensorrt_runtime import _torch_dtype

    trt = make_tensorrt()
    pairs = {trt.float32: torch.float32, trt.float16: torch.float16, trt.bfloat16: torch.bfloat16,
             trt.int32: torch.int32, trt.int64: torch.int64, trt.int8: torch.int8, trt.uint8: torch.uint8,
             trt.bool: torch.bool}
    assert {t: _torch_dtype(torch, trt, t) for t in pairs} == pairs
    with pytest.raises(UserError, match="no torch equivalent"):
        _torch_dtype(torch, trt, trt.fp8)


# ------------------------------------------------------------------------------------------ labels


def _labels_file(path: Path, count: int) -> Path:
    names = ["wave", "clap", "jump", "sit down", "kick"][:count]
    path.write_text("actions:\n" + "".join(f"  - name: {n}\n    context: The person does a {n}.\n" for n in names))
    return path


def test_labels_beyond_the_engine_are_a_rejected_edit(real: Real, standin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A hot reload to more classes than the engine takes keeps the last good labels, like any broken edit;
    at start, with no last good labels, it is one clear error; the live loop applies the same limit."""
    from dvta_live.labels.watcher import LabelsWatcher
    from dvta_live.pose.sources import open_source
    from dvta_live.realtime.live import recognize
    from dvta_live.runtimes import TensorRTRuntime

    rt = TensorRTRuntime(real.model, _build(real, tmp_path / "c3.engine", ProfileBounds(1, 1, 4, 1, 2, 3)))
    path = _labels_file(tmp_path / "live.yaml", 3)
    watcher = LabelsWatcher(path, min_interval=0.0, expected_dim=rt.info.text_dim, check_classes=rt.check_classes)
    good = watcher.state
    _labels_file(path, 4)
    assert watcher.poll() is False
    assert watcher.state.labels is good.labels and watcher.text is good.text  # the last good labels stay
    assert watcher.error.startswith(f"{path}: 4 actions that the recogniser cannot score")
    assert "the labels have 4 classes; this engine was built for 1-3" in watcher.error
    assert watcher.status.startswith("labels edit rejected, keeping 3 actions")
    _labels_file(path, 2)
    assert watcher.poll() is True and watcher.error is None and len(watcher.labels) == 2
    assert rt.prepare_text(watcher.text.embeddings).num_classes == 2

    with pytest.raises(UserError, match="4 actions.*built for 1-3") as err:
        LabelsWatcher(_labels_file(tmp_path / "big.yaml", 4), check_classes=rt.check_classes)
    assert str(err.value).startswith(str(tmp_path / "big.yaml"))
    unchecked = LabelsWatcher(tmp_path / "big.yaml", expected_dim=rt.info.text_dim)
    with open_source(str(DEMO), realtime=False) as source, pytest.raises(UserError, match="built for 1-3"):
        next(recognize(source, rt, unchecked))


# ---------------------------------------------------------------------------------------------- GPU

needs_tensorrt = pytest.mark.skipif(tensorrt_missing() is not None, reason=str(tensorrt_missing()))


@pytest.fixture(scope="module")
def gpu_engine(real: Real):  # type: ignore[no-untyped-def]
    """build(name, profile, fp16) -> the runtime of a real engine of the bundled model (built once)."""
    from dvta_live.runtimes import TensorRTRuntime

    built: dict[str, TensorRTRuntime] = {}

    def build(name: str, profile: ProfileBounds, fp16: bool) -> TensorRTRuntime:
        if name not in built:
            engine = _build(real, real.folder / f"{name}.engine", profile, fp16=fp16,
                            timing_cache=real.folder / "timing.cache")
            built[name] = TensorRTRuntime(real.model, engine)
        return built[name]

    return build


WIDE = ProfileBounds(1, 1, 16, 1, 25, 64)


def _figures(capsys: pytest.CaptureFixture[str], r, what: str) -> None:  # type: ignore[no-untyped-def]
    with capsys.disabled():
        print(f"\n{what}: max rel {r.max_rel:.2e} (tolerance {r.tolerance:.0e}), window-centred {r.centred_rel:.2e}, "
              f"window spread {r.window_spread:.2f}, top-1 same {r.top1_agreement:.0%}")


@pytest.mark.gpu
@needs_tensorrt
def test_gpu_fp32_engine_matches_eager(real: Real, gpu_engine, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    rt = gpu_engine("fp32-wide", WIDE, False)
    assert rt.header["precision"] == "fp32" and rt.header["tf32"] is False
    r = assert_engine_output(rt.scores(real.windows, rt.prepare_text(real.text)), real.want, "fp32", "fp32 engine")
    _figures(capsys, r, f"TensorRT fp32 engine vs eager, bundled model, {len(real.windows)} demo windows")


@pytest.mark.gpu
@needs_tensorrt
def test_gpu_fp16_engine_within_tolerance(real: Real, gpu_engine, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    rt = gpu_engine("fp16-wide", WIDE, True)
    assert rt.precision == "fp16"
    r = assert_engine_output(rt.scores(real.windows, rt.prepare_text(real.text)), real.want, "fp16", "fp16 engine")
    _figures(capsys, r, "TensorRT fp16 engine vs eager")


@pytest.mark.gpu
@needs_tensorrt
def test_gpu_chunked_equals_one_unchunked_call(real: Real, gpu_engine) -> None:  # type: ignore[no-untyped-def]
    small, wide = gpu_engine("fp32-max4", ProfileBounds(1, 1, 4, 1, 25, 64), False), gpu_engine("fp32-wide", WIDE, False)
    chunked = small.scores(real.windows, small.prepare_text(real.text))  # 3 calls of 4
    whole = wide.scores(real.windows, wide.prepare_text(real.text))  # 1 call of 12
    assert_engine_output(chunked, whole, "fp32", "chunked vs one call")
    assert_engine_output(chunked, real.want, "fp32", "chunked vs eager")


@pytest.mark.gpu
@needs_tensorrt
def test_gpu_min_batch_engine_called_with_one_window(real: Real, gpu_engine) -> None:  # type: ignore[no-untyped-def]
    rt = gpu_engine("fp32-min2", ProfileBounds(2, 2, 4, 1, 25, 64), False)
    prepared = rt.prepare_text(real.text)
    rows = [rt.scores(real.windows[i:i + 1], prepared) for i in range(len(real.windows))]
    assert {row.shape for row in rows} == {(1, 25)}
    assert_engine_output(np.concatenate(rows), real.want, "fp32", "B=1 on a min-batch-2 engine")


@pytest.mark.gpu
@needs_tensorrt
def test_gpu_engine_bounds_and_refusals(real: Real, gpu_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from dvta_live.runtimes import TensorRTRuntime

    rt = gpu_engine("fp32-max4", ProfileBounds(1, 1, 4, 1, 25, 64), False)
    assert rt.profile_shapes("skeleton") == ((1, 3, 64, 25, 2), (1, 3, 64, 25, 2), (4, 3, 64, 25, 2))
    assert [shape[1] for shape in rt.profile_shapes("keys")] == [1, 25, 64]
    prepared = rt.prepare_text(real.text)
    with pytest.raises(UserError, match="is outside this engine's optimisation profile"):
        rt._run(real.windows[:5], prepared)  # what TensorRT's set_input_shape answers
    with pytest.raises(UserError, match="built for 1-64"):
        rt.prepare_text(check_text(65, rt.info.text_dim))
    other = save_untrained_model(tmp_path / "other", "shiftgcn", seed=5)
    with pytest.raises(UserError, match="built from another model"):
        TensorRTRuntime(other, rt.engine_path)


@pytest.mark.gpu
@needs_tensorrt
def test_gpu_engine_on_a_second_device(real: Real, tmp_path: Path) -> None:
    import torch

    from dvta_live.exporters.engine import export_engine
    from dvta_live.runtimes import TensorRTRuntime

    if torch.cuda.device_count() < 2:
        pytest.skip("needs two CUDA devices")
    engine = export_engine(real.window_graph, tmp_path / "d1.engine", metadata=onnx_metadata(real.window_graph),
                           profile=ProfileBounds(1, 1, 4, 1, 25, 64), fp16=False, device=1)
    rt = TensorRTRuntime(real.model, engine, device=1)
    assert_engine_output(rt.scores(real.windows, rt.prepare_text(real.text)), real.want, "fp32", "device 1")


@pytest.mark.gpu
@needs_tensorrt
def test_gpu_export_fp32_engine_check_passes(tmp_path: Path) -> None:
    """`dvta export --format engine --fp32 --check`: fp32 is strict fp32, so the 1e-4 tolerance holds."""
    from typer.testing import CliRunner

    from dvta_live.cli import app

    result = CliRunner().invoke(app, ["export", "--out", str(tmp_path / "x.onnx"), "--format", "engine", "--fp32",
                                      "--max-batch", "8", "--max-classes", "64", "--check", "--check-data",
                                      str(DEMO), "--check-classes", "25"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "tensorrt" in result.output and "FAIL" not in result.output
