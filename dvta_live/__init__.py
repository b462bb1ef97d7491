"""dvta-live: real-time zero-shot skeleton action recognition (GCN backbone + DVTA head).

    import dvta_live

    recognizer = dvta_live.load()                   # the bundled model, the bundled everyday labels
    print(recognizer.predict(window).label)         # window: NTU-25 joints [3, T, 25, 2]

Importing the package is light: torch and the runtimes load on the first ``load``.
"""

__version__ = "0.1.0"

# name -> the module that defines it (PEP 562: imported on first access, so `dvta --help` stays fast)
_PUBLIC = {
    "load": "dvta_live.api", "available_models": "dvta_live.api", "Recognizer": "dvta_live.api",
    "Prediction": "dvta_live.realtime.live", "FrameResult": "dvta_live.realtime.live",
    "LiveConfig": "dvta_live.realtime.live", "UserError": "dvta_live.errors",
}
__all__ = ["FrameResult", "LiveConfig", "Prediction", "Recognizer", "UserError", "__version__",
           "available_models", "load"]


def __getattr__(name: str) -> object:
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_PUBLIC[name]), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
