"""A strict stand-in for the ``tensorrt`` module, so the engine builder and runner run end to end on a
machine without a GPU or TensorRT.

Strict: only TensorRT 10's Python names exist, with the argument names, argument types and return values
its bindings declare (python/src/infer/pyCore.cpp, pyFoundationalTypes.cpp, parsers/onnx/pyOnnx.cpp of
the 10.x tags). A misspelt method or keyword, an int where an enum goes, an attribute set that the
bindings do not have, all raise; a result the real API reports with a bool or None (a refused timing
cache, a shape outside the profile, an engine of another GPU) is reported the same way here. Names
deprecated within 10.x and gone in 11 are left out (``Builder.platform_has_fast_fp16``,
``NetworkDefinitionCreationFlag.EXPLICIT_BATCH``), so code that still leans on them fails here.

An "engine" is the ONNX graph plus what the build was told (profile, flags, GPU). Executing it runs the
graph with ONNX Runtime on the CPU, reading the inputs from and writing the outputs to the addresses given
to ``set_tensor_address`` (host memory: torch CPU tensors here), so a wrong binding, shape or batch order
in the runner gives wrong scores, as it would on a GPU. ``HostCuda`` stands in for
``dvta_live.exporters.engine.CudaDevice`` on the host.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import importlib.machinery
import json
import types
from typing import Any

import numpy as np

GPU_NAME, CAPABILITY = "NVIDIA L4", (8, 9)
_ENGINE_MAGIC, _CACHE_MAGIC = b"STANDIN-TRT-ENGINE\n", b"STANDIN-TRT-TIMING\n"


class _State:
    version = "10.8.0.43"
    device = f"{GPU_NAME} sm{CAPABILITY[0]}{CAPABILITY[1]}"  # what a timing cache / engine is tied to


def _need(value: Any, kind: Any, what: str) -> None:
    """pybind11's argument check: a wrong type is a TypeError ("incompatible function arguments")."""
    if isinstance(value, bool) and kind is int or not isinstance(value, kind):
        raise TypeError(f"{what}: incompatible function arguments: got {type(value).__name__} {value!r}")


def _dims(value: Any, what: str) -> tuple[int, ...]:
    """A Dims argument: a tuple, list or Dims of ints (torch.Size is a tuple)."""
    _need(value, (tuple, list), what)
    for d in value:
        _need(d, (int, np.integer), what)
    return tuple(int(d) for d in value)


def _buffer(value: Any, what: str) -> bytes:
    try:
        return bytes(memoryview(value))
    except TypeError:
        raise TypeError(f"{what}: incompatible function arguments: {type(value).__name__} is not a buffer") from None


class Dims(tuple):
    """What shape getters return (iterable, indexable, len())."""


class IHostMemory(bytes):
    """Serialized data with the buffer protocol (``memoryview(x)``)."""

    @property
    def nbytes(self) -> int:
        return len(self)


# ------------------------------------------------------------------------------------------ enums


class DataType(enum.Enum):
    FLOAT = "float32"
    HALF = "float16"
    BF16 = "bfloat16"
    INT8 = "int8"
    INT32 = "int32"
    INT64 = "int64"
    BOOL = "bool"
    UINT8 = "uint8"
    FP8 = "fp8"
    INT4 = "int4"


_NUMPY = {DataType.FLOAT: np.float32, DataType.HALF: np.float16, DataType.INT8: np.int8,
          DataType.INT32: np.int32, DataType.INT64: np.int64, DataType.BOOL: np.bool_, DataType.UINT8: np.uint8}
_FROM_ONNX = {1: DataType.FLOAT, 10: DataType.HALF, 16: DataType.BF16, 3: DataType.INT8, 6: DataType.INT32,
              7: DataType.INT64, 9: DataType.BOOL, 2: DataType.UINT8}


class BuilderFlag(enum.IntEnum):
    """py::arithmetic in the bindings. The names of 10.x; the values are not TensorRT's (nothing may
    depend on them)."""

    FP16 = enum.auto()
    BF16 = enum.auto()
    INT8 = enum.auto()
    FP8 = enum.auto()
    INT4 = enum.auto()
    TF32 = enum.auto()
    DEBUG = enum.auto()
    GPU_FALLBACK = enum.auto()
    REFIT = enum.auto()
    DISABLE_TIMING_CACHE = enum.auto()
    SPARSE_WEIGHTS = enum.auto()
    SAFETY_SCOPE = enum.auto()
    OBEY_PRECISION_CONSTRAINTS = enum.auto()
    PREFER_PRECISION_CONSTRAINTS = enum.auto()
    DIRECT_IO = enum.auto()
    REJECT_EMPTY_ALGORITHMS = enum.auto()
    VERSION_COMPATIBLE = enum.auto()
    EXCLUDE_LEAN_RUNTIME = enum.auto()
    ERROR_ON_TIMING_CACHE_MISS = enum.auto()
    DISABLE_COMPILATION_CACHE = enum.auto()
    STRIP_PLAN = enum.auto()
    REFIT_IDENTICAL = enum.auto()
    WEIGHT_STREAMING = enum.auto()


class NetworkDefinitionCreationFlag(enum.IntEnum):  # EXPLICIT_BATCH (deprecated in 10.0) left out
    STRONGLY_TYPED = 1


class MemoryPoolType(enum.Enum):
    WORKSPACE = 0
    DLA_MANAGED_SRAM = 1
    DLA_LOCAL_DRAM = 2
    DLA_GLOBAL_DRAM = 3
    TACTIC_DRAM = 4
    TACTIC_SHARED_MEMORY = 5


class TensorIOMode(enum.Enum):
    NONE = 0
    INPUT = 1
    OUTPUT = 2


class ExecutionContextAllocationStrategy(enum.IntEnum):
    STATIC = 0
    ON_PROFILE_CHANGE = 1
    USER_MANAGED = 2


class ILogger:
    class Severity(enum.IntEnum):
        INTERNAL_ERROR = 0
        ERROR = 1
        WARNING = 2
        INFO = 3
        VERBOSE = 4

    # export_values(): trt.ILogger.WARNING, and through inheritance trt.Logger.WARNING
    INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = Severity


class Logger(ILogger):
    __slots__ = ("messages", "min_severity")

    def __init__(self, min_severity: ILogger.Severity = ILogger.Severity.WARNING) -> None:
        _need(min_severity, ILogger.Severity, "Logger(min_severity)")
        self.min_severity = min_severity
        self.messages: list[str] = []

    def log(self, severity: ILogger.Severity, msg: str) -> None:
        _need(severity, ILogger.Severity, "Logger.log(severity)")
        if severity <= self.min_severity:
            self.messages.append(msg)


# ---------------------------------------------------------------------------------------- network


class ITensor:
    __slots__ = ("_params", "dtype", "name", "shape")

    def __init__(self, name: str, shape: Dims, dtype: DataType, params: tuple[str | None, ...]) -> None:
        self.name, self.shape, self.dtype, self._params = name, shape, dtype, params


class INetworkDefinition:
    __slots__ = ("_flags", "_inputs", "_onnx", "_outputs")

    def __init__(self, flags: int) -> None:
        self._flags = flags
        self._inputs: list[ITensor] = []
        self._outputs: list[ITensor] = []
        self._onnx = b""

    @property
    def num_inputs(self) -> int:
        return len(self._inputs)

    @property
    def num_outputs(self) -> int:
        return len(self._outputs)

    def get_input(self, index: int) -> ITensor:
        _need(index, int, "get_input(index)")
        return self._inputs[index]

    def get_output(self, index: int) -> ITensor:
        _need(index, int, "get_output(index)")
        return self._outputs[index]


class ParserError:
    __slots__ = ("_desc",)

    def __init__(self, desc: str) -> None:
        self._desc = desc

    def desc(self) -> str:
        return self._desc

    def __str__(self) -> str:
        return f"In node -1 (parse): INVALID_GRAPH: {self._desc}"


class OnnxParser:
    __slots__ = ("_errors", "_network")

    def __init__(self, network: INetworkDefinition, logger: ILogger) -> None:
        _need(network, INetworkDefinition, "OnnxParser(network)")
        _need(logger, ILogger, "OnnxParser(logger)")
        self._network = network
        self._errors: list[ParserError] = []

    def parse(self, model: Any, path: str | None = None) -> bool:
        import onnx

        data = _buffer(model, "OnnxParser.parse(model)")
        if path is not None:
            _need(path, str, "OnnxParser.parse(path)")
        try:
            proto = onnx.load_model_from_string(data)
            onnx.checker.check_model(proto)
        except Exception as exc:  # noqa: BLE001 - the real parser reports, never raises
            self._errors.append(ParserError(f"cannot read the model: {str(exc)[:200]}"))
            return False

        def tensor(value: Any) -> ITensor:
            dims = value.type.tensor_type.shape.dim
            shape = Dims(d.dim_value if d.HasField("dim_value") else -1 for d in dims)
            params = tuple(d.dim_param if d.HasField("dim_param") else None for d in dims)
            return ITensor(value.name, shape, _FROM_ONNX[value.type.tensor_type.elem_type], params)

        initializers = {i.name for i in proto.graph.initializer}
        self._network._inputs = [tensor(v) for v in proto.graph.input if v.name not in initializers]
        self._network._outputs = [tensor(v) for v in proto.graph.output]
        self._network._onnx = data
        return True

    @property
    def num_errors(self) -> int:
        return len(self._errors)

    def get_error(self, index: int) -> ParserError:
        _need(index, int, "get_error(index)")
        return self._errors[index]

    def clear_errors(self) -> None:
        self._errors.clear()


# ---------------------------------------------------------------------------------------- builder


class IOptimizationProfile:
    __slots__ = ("_shapes",)

    def __init__(self) -> None:
        self._shapes: dict[str, tuple[Dims, Dims, Dims]] = {}

    def set_shape(self, input: str, min: Any, opt: Any, max: Any) -> None:
        _need(input, str, "set_shape(input)")
        lo, mid, hi = (_dims(v, f"set_shape({k})") for k, v in (("min", min), ("opt", opt), ("max", max)))
        if not (len(lo) == len(mid) == len(hi)) or any(a > b for a, b in zip(lo, mid)) or any(
                a > b for a, b in zip(mid, hi)) or any(d < 0 for d in lo):
            raise RuntimeError("Shape provided for min/opt/max is inconsistent with other shapes.")
        self._shapes[input] = (Dims(lo), Dims(mid), Dims(hi))

    def get_shape(self, input: str) -> list[Dims]:
        _need(input, str, "get_shape(input)")
        return list(self._shapes.get(input, ()))

    def __bool__(self) -> bool:
        return bool(self._shapes)


class ITimingCache:
    __slots__ = ("_device", "_entries")

    def __init__(self, device: str, entries: int) -> None:
        self._device, self._entries = device, entries

    def serialize(self) -> IHostMemory:
        return IHostMemory(_CACHE_MAGIC + json.dumps({"device": self._device, "entries": self._entries}).encode())

    def reset(self) -> bool:
        self._entries = 0
        return True


class IBuilderConfig:
    __slots__ = ("_cache", "_flags", "_pools", "_profiles")

    def __init__(self) -> None:
        self._flags = {BuilderFlag.TF32}  # TensorRT 10's default: TF32 allowed
        self._pools: dict[MemoryPoolType, int] = {}
        self._profiles: list[IOptimizationProfile] = []
        self._cache: ITimingCache | None = None

    def set_memory_pool_limit(self, pool: MemoryPoolType, pool_size: int) -> None:
        _need(pool, MemoryPoolType, "set_memory_pool_limit(pool)")
        _need(pool_size, int, "set_memory_pool_limit(pool_size)")
        if pool_size < 0:
            raise TypeError("set_memory_pool_limit(pool_size): incompatible function arguments (negative size)")
        self._pools[pool] = pool_size

    def get_memory_pool_limit(self, pool: MemoryPoolType) -> int:
        _need(pool, MemoryPoolType, "get_memory_pool_limit(pool)")
        return self._pools.get(pool, 1 << 40)

    def set_flag(self, flag: BuilderFlag) -> None:
        _need(flag, BuilderFlag, "set_flag(flag)")
        self._flags.add(flag)

    def clear_flag(self, flag: BuilderFlag) -> None:
        _need(flag, BuilderFlag, "clear_flag(flag)")
        self._flags.discard(flag)

    def get_flag(self, flag: BuilderFlag) -> bool:
        _need(flag, BuilderFlag, "get_flag(flag)")
        return flag in self._flags

    def add_optimization_profile(self, profile: IOptimizationProfile) -> int:
        _need(profile, IOptimizationProfile, "add_optimization_profile(profile)")
        if not profile:
            return -1
        self._profiles.append(profile)
        return len(self._profiles) - 1

    @property
    def num_optimization_profiles(self) -> int:
        return len(self._profiles)

    def create_timing_cache(self, serialized_timing_cache: Any) -> ITimingCache | None:
        data = _buffer(serialized_timing_cache, "create_timing_cache(serialized_timing_cache)")
        if not data:
            return ITimingCache(_State.device, 0)
        if not data.startswith(_CACHE_MAGIC):
            return None  # TensorRT logs the damaged blob and returns nullptr
        fields = json.loads(data[len(_CACHE_MAGIC):])
        return ITimingCache(fields["device"], int(fields["entries"]))

    def set_timing_cache(self, cache: ITimingCache, ignore_mismatch: bool) -> bool:
        _need(cache, ITimingCache, "set_timing_cache(cache)")
        _need(ignore_mismatch, bool, "set_timing_cache(ignore_mismatch)")
        if cache._device != _State.device and not ignore_mismatch:
            return False
        self._cache = cache
        return True

    def get_timing_cache(self) -> ITimingCache | None:
        return self._cache


class Builder:
    __slots__ = ("_logger",)

    def __init__(self, logger: ILogger) -> None:
        _need(logger, ILogger, "Builder(logger)")
        self._logger = logger

    def create_network(self, flags: int = 0) -> INetworkDefinition:
        _need(flags, int, "create_network(flags)")
        return INetworkDefinition(flags)

    def create_builder_config(self) -> IBuilderConfig:
        return IBuilderConfig()

    def create_optimization_profile(self) -> IOptimizationProfile:
        return IOptimizationProfile()

    @property
    def platform_has_tf32(self) -> bool:
        return CAPABILITY >= (8, 0)

    def build_serialized_network(self, network: INetworkDefinition, config: IBuilderConfig) -> IHostMemory | None:
        _need(network, INetworkDefinition, "build_serialized_network(network)")
        _need(config, IBuilderConfig, "build_serialized_network(config)")
        if not network._inputs or not config._profiles:
            return None
        profile = config._profiles[0]
        inputs = {}
        for t in network._inputs:
            if t.name not in profile._shapes:  # a dynamic input without profile shapes: TensorRT refuses
                return None
            lo, mid, hi = profile._shapes[t.name]
            for shape in (lo, mid, hi):  # the profile must agree with the graph's fixed dimensions
                if len(shape) != len(t.shape) or any(s != d for s, d in zip(shape, t.shape) if d >= 0):
                    return None
            inputs[t.name] = {"dtype": t.dtype.value, "shape": list(t.shape), "params": list(t._params),
                              "profile": [list(lo), list(mid), list(hi)]}
        if config._cache is not None:
            config._cache._entries += 1
        meta = {"version": _State.version, "device": _State.device, "inputs": inputs,
                "outputs": {t.name: {"dtype": t.dtype.value, "shape": list(t.shape), "params": list(t._params)}
                            for t in network._outputs},
                "flags": sorted(f.name for f in config._flags)}
        blob = json.dumps(meta).encode()
        return IHostMemory(_ENGINE_MAGIC + len(blob).to_bytes(4, "little") + blob + network._onnx)


# ---------------------------------------------------------------------------------------- runtime


class Runtime:
    __slots__ = ("_logger",)

    def __init__(self, logger: ILogger) -> None:
        _need(logger, ILogger, "Runtime(logger)")
        self._logger = logger

    def deserialize_cuda_engine(self, serialized_engine: Any) -> ICudaEngine | None:
        data = _buffer(serialized_engine, "deserialize_cuda_engine(serialized_engine)")
        if not data.startswith(_ENGINE_MAGIC):
            return None
        start = len(_ENGINE_MAGIC) + 4
        size = int.from_bytes(data[len(_ENGINE_MAGIC):start], "little")
        meta = json.loads(data[start:start + size])
        if meta["version"] != _State.version or meta["device"] != _State.device:
            return None  # an engine of another TensorRT or GPU does not deserialize
        return ICudaEngine(meta, data[start + size:])


class ICudaEngine:
    __slots__ = ("_meta", "_names", "_onnx", "_session", "flags")

    def __init__(self, meta: dict[str, Any], onnx_bytes: bytes) -> None:
        self._meta, self._onnx = meta, onnx_bytes
        self._names = [*meta["inputs"], *meta["outputs"]]
        self._session: Any = None
        self.flags = set(meta["flags"])  # not a TensorRT name: what the test may inspect

    @property
    def num_io_tensors(self) -> int:
        return len(self._names)

    def get_tensor_name(self, index: int) -> str:
        _need(index, int, "get_tensor_name(index)")
        return self._names[index]

    def get_tensor_mode(self, name: str) -> TensorIOMode:
        _need(name, str, "get_tensor_mode(name)")
        if name in self._meta["inputs"]:
            return TensorIOMode.INPUT
        return TensorIOMode.OUTPUT if name in self._meta["outputs"] else TensorIOMode.NONE

    def _tensor(self, name: str) -> dict[str, Any]:
        found = self._meta["inputs"].get(name) or self._meta["outputs"].get(name)
        if found is None:
            raise RuntimeError(f"{name} is not an IO tensor of this engine")
        return found

    def get_tensor_dtype(self, name: str) -> DataType:
        _need(name, str, "get_tensor_dtype(name)")
        return DataType(self._tensor(name)["dtype"])

    def get_tensor_shape(self, name: str) -> Dims:
        _need(name, str, "get_tensor_shape(name)")
        return Dims(self._tensor(name)["shape"])  # -1 where the dimension is dynamic

    def get_tensor_profile_shape(self, name: str, profile_index: int) -> list[Dims]:
        _need(name, str, "get_tensor_profile_shape(name)")
        _need(profile_index, int, "get_tensor_profile_shape(profile_index)")
        if profile_index != 0 or name not in self._meta["inputs"]:
            raise RuntimeError(f"no profile {profile_index} shape for {name}")
        return [Dims(s) for s in self._meta["inputs"][name]["profile"]]

    def create_execution_context(self, strategy: ExecutionContextAllocationStrategy =
                                 ExecutionContextAllocationStrategy.STATIC) -> IExecutionContext:
        _need(strategy, ExecutionContextAllocationStrategy, "create_execution_context(strategy)")
        return IExecutionContext(self)

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self._session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            self._session = ort.InferenceSession(self._onnx, options, providers=["CPUExecutionProvider"])
        names = list(self._meta["outputs"])
        return dict(zip(names, self._session.run(names, feeds), strict=True))


class IExecutionContext:
    __slots__ = ("_addresses", "_engine", "_shapes", "executions")

    def __init__(self, engine: ICudaEngine) -> None:
        self._engine = engine
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._addresses: dict[str, int] = {}
        self.executions = 0  # not a TensorRT name: what the test may inspect

    @property
    def engine(self) -> ICudaEngine:
        return self._engine

    def set_input_shape(self, name: str, shape: Any) -> bool:
        _need(name, str, "set_input_shape(name)")
        dims = _dims(shape, "set_input_shape(shape)")
        spec = self._engine._meta["inputs"].get(name)
        if spec is None:
            return False
        lo, _, hi = spec["profile"]
        if len(dims) != len(lo) or any(not a <= d <= b for a, d, b in zip(lo, dims, hi)):
            return False  # TensorRT logs "... is out of the range of profile 0" and returns false
        self._shapes[name] = dims
        return True

    def _symbols(self) -> dict[str, int]:
        symbols = {}
        for name, spec in self._engine._meta["inputs"].items():
            for param, d in zip(spec["params"], self._shapes.get(name, ())):
                if param:
                    symbols[param] = d
        return symbols

    def get_tensor_shape(self, name: str) -> Dims:
        _need(name, str, "get_tensor_shape(name)")
        if name in self._shapes:
            return Dims(self._shapes[name])
        spec = self._engine._tensor(name)
        if name in self._engine._meta["inputs"]:
            return Dims(-1 for _ in spec["params"])
        symbols = self._symbols()
        return Dims(symbols.get(p, -1) if p else d for d, p in zip(spec["shape"], spec["params"]))

    def infer_shapes(self) -> list[str]:
        return [n for n in self._engine._meta["inputs"] if n not in self._shapes]

    def set_tensor_address(self, name: str, memory: int) -> bool:
        _need(name, str, "set_tensor_address(name)")
        _need(memory, int, "set_tensor_address(memory)")
        if self._engine.get_tensor_mode(name) == TensorIOMode.NONE or memory == 0:
            return False
        self._addresses[name] = memory
        return True

    def get_tensor_address(self, name: str) -> int:
        _need(name, str, "get_tensor_address(name)")
        return self._addresses.get(name, 0)

    def execute_async_v3(self, stream_handle: int) -> bool:
        _need(stream_handle, int, "execute_async_v3(stream_handle)")
        meta = self._engine._meta
        if self.infer_shapes() or any(n not in self._addresses for n in (*meta["inputs"], *meta["outputs"])):
            return False
        feeds = {}
        for name, spec in meta["inputs"].items():
            dtype = np.dtype(_NUMPY[DataType(spec["dtype"])])
            shape = self._shapes[name]
            size = int(np.prod(shape)) * dtype.itemsize
            raw = (ctypes.c_char * size).from_address(self._addresses[name])
            feeds[name] = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        for name, value in self._engine._run(feeds).items():
            if tuple(value.shape) != tuple(self.get_tensor_shape(name)):
                return False
            value = np.ascontiguousarray(value, dtype=_NUMPY[DataType(meta["outputs"][name]["dtype"])])
            ctypes.memmove(self._addresses[name], value.ctypes.data, value.nbytes)
        self.executions += 1
        return True


# ---------------------------------------------------------------------------------------- module


def make_tensorrt(version: str = "10.8.0.43", device: str | None = None) -> types.ModuleType:
    """A fresh ``tensorrt`` stand-in of ``version``, on a GPU called ``device`` (timing caches and
    engines are tied to it)."""
    _State.version = version
    _State.device = device or f"{GPU_NAME} sm{CAPABILITY[0]}{CAPABILITY[1]}"
    trt = types.ModuleType("tensorrt")
    trt.__spec__ = importlib.machinery.ModuleSpec("tensorrt", None)  # what find_spec probes look at
    trt.__version__ = version
    for value in (Builder, IBuilderConfig, IOptimizationProfile, ITimingCache, INetworkDefinition, ITensor,
                  OnnxParser, ParserError, Runtime, ICudaEngine, IExecutionContext, ILogger, Logger, Dims,
                  IHostMemory, DataType, BuilderFlag, NetworkDefinitionCreationFlag, MemoryPoolType, TensorIOMode,
                  ExecutionContextAllocationStrategy):
        setattr(trt, value.__name__, value)
    aliases = {"float32": DataType.FLOAT, "float16": DataType.HALF, "bfloat16": DataType.BF16,
               "int8": DataType.INT8, "int32": DataType.INT32, "int64": DataType.INT64, "bool": DataType.BOOL,
               "uint8": DataType.UINT8, "fp8": DataType.FP8, "int4": DataType.INT4}
    for name, value in aliases.items():
        setattr(trt, name, value)
    return trt


class HostCuda:
    """``dvta_live.exporters.engine.CudaDevice`` on the host: the CPU as the device, no stream to order."""

    def __init__(self, index: int = 0) -> None:
        import torch

        self.index, self.device = index, torch.device("cpu")

    def scope(self) -> Any:
        return contextlib.nullcontext()

    @property
    def handle(self) -> int:
        return 0x5EED  # any int: the stand-in runs synchronously

    def synchronize(self) -> None:
        pass

    def identity(self) -> tuple[str, tuple[int, int]]:
        return GPU_NAME, CAPABILITY
