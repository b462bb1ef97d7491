"""On-disk cache of text embeddings keyed by (model, text): editing one line re-encodes one line.

One small file per entry, `<root>/<model>/<ab>/<sha256>.emb`, so that
- concurrent writers are safe without locks: each writes a private temp file in the same folder and
  `os.replace`s it into place (atomic on POSIX and Windows); readers see the old file, the new one, or
  none, never a partial one. Two writers of the same key write the same bytes, so the last one wins
  harmlessly;
- a corrupt entry (truncated by a crash, edited, wrong key) fails its checksum and is treated as a miss,
  then overwritten by the next encode.
A per-instance dict in front of the disk makes repeated lookups (hot reload every few frames) free.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dvta_live.cache import cache_folder

MAGIC = b"DVTAEMB1"
_HEADER = struct.Struct("<8sI")  # magic, dim
_DIGEST = 16  # blake2b digest bytes over (entry key, vector bytes)


def default_cache_root() -> Path:
    """Where label text embeddings are cached: the cache's ``text/`` folder (``dvta_live.cache``)."""
    return cache_folder("text")


@dataclass
class CacheStats:
    """Counters since the cache object was made (lookups, where they were found, problems)."""

    memory_hits: int = 0
    disk_hits: int = 0
    misses: int = 0
    corrupt: int = 0
    writes: int = 0
    write_errors: int = 0


class EmbeddingCache:
    """Embeddings of one text model, in memory and (unless root is None) on disk."""

    def __init__(self, model_key: str, root: str | Path | None = None, *, disk: bool = True,
                 memory_limit: int = 200_000) -> None:
        self.model_key = model_key
        self.root = (Path(root) if root is not None else default_cache_root()) if disk else None
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_key.rsplit("/", 1)[-1])[:40]
        self.folder = None if self.root is None else self.root / f"{slug}-{_sha(model_key)[:12]}"
        self._memory: dict[str, np.ndarray] = {}
        self._memory_limit = memory_limit
        self.stats = CacheStats()
        self.warning: str | None = None  # set once when the disk cache had to be switched off

    def _entry_key(self, text: str) -> str:
        return _sha(self.model_key + "\x00" + text)

    def _file(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / key[:2] / f"{key}.emb"

    def get(self, text: str) -> np.ndarray | None:
        """The cached unit vector of `text` (read-only float32 [D]) or None."""
        key = self._entry_key(text)
        vec = self._memory.get(key)
        if vec is not None:
            self.stats.memory_hits += 1
            return vec
        if self.folder is not None:
            vec = self._read(key)
            if vec is not None:
                self.stats.disk_hits += 1
                self._remember(key, vec)
                return vec
        self.stats.misses += 1
        return None

    def put(self, text: str, vector: np.ndarray) -> None:
        """Store the vector of `text` (in memory always, on disk when possible)."""
        key = self._entry_key(text)
        vec = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1).copy()
        vec.setflags(write=False)
        self._remember(key, vec)
        if self.folder is not None:
            self._write(key, vec)

    def _remember(self, key: str, vec: np.ndarray) -> None:
        if len(self._memory) >= self._memory_limit:
            self._memory.clear()  # crude bound; the disk still has everything
        self._memory[key] = vec

    def _read(self, key: str) -> np.ndarray | None:
        path = self._file(key)
        try:
            blob = path.read_bytes()
        except OSError:  # absent (the usual miss) or unreadable: either way, encode it
            return None
        vec = decode_entry(blob, key)
        if vec is None:
            self.stats.corrupt += 1
        return vec

    def _write(self, key: str, vec: np.ndarray) -> None:
        path = self._file(key)
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key[:16]}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(encode_entry(vec, key))
            os.replace(tmp, path)
            tmp = None
            self.stats.writes += 1
        except OSError as exc:
            # A read-only or full cache dir must not stop recognition: keep going from memory.
            self.stats.write_errors += 1
            if self.warning is None:
                self.warning = f"text cache {self.folder} not writable ({exc.strerror}); set DVTA_CACHE"
            if self.stats.write_errors >= 3:
                self.folder = None
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _digest(key: str, payload: bytes) -> bytes:
    return hashlib.blake2b(key.encode("ascii") + payload, digest_size=_DIGEST).digest()


def encode_entry(vec: np.ndarray, key: str) -> bytes:
    """The bytes of one cache file: magic, dim, float32 little-endian values, checksum (covers the key)."""
    payload = np.ascontiguousarray(vec, dtype="<f4").tobytes()
    return _HEADER.pack(MAGIC, vec.size) + payload + _digest(key, payload)


def decode_entry(blob: bytes, key: str) -> np.ndarray | None:
    """The vector of a cache file, or None when it is damaged or belongs to another key."""
    if len(blob) < _HEADER.size + _DIGEST:
        return None
    magic, dim = _HEADER.unpack_from(blob)
    if magic != MAGIC or dim == 0 or len(blob) != _HEADER.size + 4 * dim + _DIGEST:
        return None
    payload = blob[_HEADER.size:_HEADER.size + 4 * dim]
    if _digest(key, payload) != blob[-_DIGEST:]:
        return None
    vec = np.frombuffer(payload, dtype="<f4").astype(np.float32)
    if not np.all(np.isfinite(vec)):
        return None
    vec.setflags(write=False)
    return vec
