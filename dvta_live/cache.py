"""The one cache folder: ``$DVTA_CACHE``, else the user cache directory's ``dvta-live`` (``~/.cache/dvta-live``
on Linux, ``~/Library/Caches/dvta-live`` on macOS, ``%LOCALAPPDATA%/dvta-live`` on Windows).

Everything in it can be deleted at any time; it is rebuilt on demand. Its named subfolders (``FOLDERS``):

- ``text/``: label text embeddings, per text model (``labels.cache.EmbeddingCache``);
- ``poses/``: example videos already through pose estimation, per video hash, range and pose model;
- ``example-features/``: backbone features of recorded examples, per model hash (``realtime.example_bank``);
- ``onnx/``: ONNX graphs exported by ``load(..., runtime="onnx")`` for a model that has none beside it;
- ``ort-trt/``: ONNX Runtime's TensorRT engine cache, per model hash.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ENV = "DVTA_CACHE"
FOLDERS = ("text", "poses", "example-features", "onnx", "ort-trt")


def cache_root() -> Path:
    """``$DVTA_CACHE`` or the platform's user cache directory + ``dvta-live``, read at each call."""
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser()
    try:
        home = Path.home()
    except (RuntimeError, KeyError):  # HOME unset and no passwd entry: a per-user temp folder instead
        return Path(tempfile.gettempdir()) / f"dvta-live-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    return base / "dvta-live"


def cache_folder(name: str, *parts: str) -> Path:
    """``<cache root>/<name>/<parts...>``; ``name`` is one of ``FOLDERS`` (a typo is a bug, not a new folder)."""
    if name not in FOLDERS:
        raise ValueError(f"unknown cache folder {name!r}; one of {FOLDERS}")
    return cache_root().joinpath(name, *parts)
