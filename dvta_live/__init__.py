"""dvta-live: real-time zero-shot skeleton action recognition (GCN backbone + DVTA head).

    import dvta_live

    recognizer = dvta_live.load()                   # the bundled model, the bundled everyday labels
    print(recognizer.predict(window).label)         # window: NTU-25 joints [3, T, 25, 2]
    for prediction in recognizer.recognize("clip.mp4", frames=False): ...
    take = dvta_live.read_skeleton("takes.dvta.safetensors#0")   # any skeleton file the project reads
    dvta_live.export(out="exported/")                             # `dvta export`: ONNX graphs (or an engine)

Importing the package is light: torch and the runtimes load on the first ``load``.
"""

import sys
from types import ModuleType

from dvta_live._lazy import lazy_names

__version__ = "0.1.0"

# name -> the module that defines it (PEP 562: imported on first access, so `dvta --help` stays fast)
_PUBLIC = {
    "load": "dvta_live.api", "available_models": "dvta_live.api", "Recognizer": "dvta_live.api",
    "read_skeleton": "dvta_live.api", "export": "dvta_live.api",
    "Prediction": "dvta_live.realtime.scoring", "FrameResult": "dvta_live.realtime.live",
    "LiveConfig": "dvta_live.realtime.scoring", "UserError": "dvta_live.errors",
}
__all__ = ["FrameResult", "LiveConfig", "Prediction", "Recognizer", "UserError", "__version__",
           "available_models", "export", "load", "read_skeleton"]


_names = lazy_names(__name__, _PUBLIC)


class _CallablePackage(ModuleType):
    """The ``dvta_live.export`` subpackage (the ONNX / TensorRT writers), callable as the function
    ``dvta_live.export(...)`` (``api.export``): the two share the name, and importing the subpackage makes
    it the package's attribute, so the subpackage itself answers the call."""

    def __call__(self, *args: object, **kwargs: object) -> object:
        return _names("export")(*args, **kwargs)  # type: ignore[operator]

    @property
    def __signature__(self) -> object:  # inspect.signature / help show api.export's parameters
        import inspect

        return inspect.signature(_names("export"))  # type: ignore[arg-type]


class _Package(ModuleType):
    def __setattr__(self, name: str, value: object) -> None:
        if name == "export" and type(value) is ModuleType:  # the import system setting the subpackage
            value.__class__ = _CallablePackage
        super().__setattr__(name, value)


def __getattr__(name: str) -> object:
    if name == "export":  # imports the (light) subpackage, which then answers dvta_live.export(...)
        from importlib import import_module

        return import_module("dvta_live.export")
    return _names(name)


sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
