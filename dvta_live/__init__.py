"""dvta-live: real-time zero-shot skeleton action recognition (GCN backbone + DVTA head).

    import dvta_live

    recognizer = dvta_live.load()                   # the bundled skeleton model, the bundled everyday labels
    print(recognizer.predict(window).label)         # window: NTU-25 joints [3, T, 25, 2]
    camera = dvta_live.load(source="clip.mp4")      # the bundled camera model (2-D keypoints from images)
    for prediction in camera.recognize("clip.mp4", frames=False): ...
    take = dvta_live.read_skeleton("takes.dvta.safetensors#0")   # any skeleton file the project reads
    dvta_live.export(out="exported/")                             # `dvta export`: ONNX graphs (or an engine)

Importing the package is light: torch and the runtimes load on the first ``load``.
"""

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


__getattr__ = lazy_names(__name__, _PUBLIC)


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
