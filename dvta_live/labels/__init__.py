"""The labels file: actions with context sentences, validation, text encoding with caching, hot reload.

    from dvta_live.labels import load_labels, encode_labels, LabelsWatcher, bundled_labels_path

    labels = load_labels(bundled_labels_path("everyday"))   # validated, immutable
    text = encode_labels(labels)                             # TextTensor: embeddings [C, 2, D] float32
    watcher = LabelsWatcher("my-labels.yaml").start()        # watcher.text stays current while you edit

Importing this package is light: sentence-transformers loads on the first text that is not cached.
"""

from dvta_live.labels.bundled import bundled_labels, bundled_labels_dir, bundled_labels_path, is_bundled
from dvta_live.labels.cache import EmbeddingCache, default_cache_root
from dvta_live.labels.edit import EditResult, add_action, init_labels, remove_action, write_atomic
from dvta_live.labels.encoder import (
    DEFAULT_MODEL,
    ModelRef,
    TextEncoder,
    encode_labels,
    get_encoder,
    packaged_model_path,
    resolve_model,
)
from dvta_live.labels.loader import LabelsError, Problem, check_labels, load_labels, parse_labels
from dvta_live.labels.schema import Action, Labels, TextTensor, name_key
from dvta_live.labels.watcher import LabelsState, LabelsWatcher

__all__ = [
    "DEFAULT_MODEL", "Action", "EditResult", "EmbeddingCache", "Labels", "LabelsError", "LabelsState",
    "LabelsWatcher", "ModelRef", "Problem", "TextEncoder", "TextTensor", "add_action", "bundled_labels",
    "bundled_labels_dir", "bundled_labels_path", "check_labels", "default_cache_root", "encode_labels",
    "get_encoder", "init_labels", "is_bundled", "load_labels", "name_key", "packaged_model_path",
    "parse_labels", "remove_action", "resolve_model", "write_atomic",
]
