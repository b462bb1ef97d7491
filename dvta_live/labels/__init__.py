"""The labels file: actions with context sentences, validation, text encoding with caching, hot reload.

    from dvta_live.labels import load_labels, encode_labels, LabelsWatcher, bundled_labels_path

    labels = load_labels(bundled_labels_path("everyday"))   # validated, immutable
    text = encode_labels(labels)                             # TextTensor: embeddings [C, 2, D] float32
    watcher = LabelsWatcher("my-labels.yaml").start()        # watcher.text stays current while you edit

Importing this package is light: each name loads its module on first use, and sentence-transformers loads
on the first text that is not cached.
"""

from dvta_live._lazy import lazy_names

_WHERE = {
    "bundled_labels": "bundled", "bundled_labels_dir": "bundled", "bundled_labels_path": "bundled", "is_bundled": "bundled",
    "EmbeddingCache": "cache", "default_cache_root": "cache",
    "EditResult": "edit", "add_action": "edit", "add_examples": "edit", "init_labels": "edit", "remove_action": "edit", "write_atomic": "edit",
    "DEFAULT_MODEL": "encoder", "ModelRef": "encoder", "TextEncoder": "encoder", "encode_labels": "encoder", "get_encoder": "encoder", "packaged_model_path": "encoder", "resolve_model": "encoder",
    "examples_folder": "examples", "parse_example": "examples", "save_example": "examples",
    "LabelsError": "loader", "Problem": "loader", "check_labels": "loader", "load_labels": "loader", "parse_labels": "loader",
    "Action": "schema", "Example": "schema", "Labels": "schema", "TextTensor": "schema", "name_key": "schema",
    "LabelsState": "watcher", "LabelsWatcher": "watcher",
}
__all__ = [
    "DEFAULT_MODEL",
    "Action",
    "EditResult",
    "EmbeddingCache",
    "Example",
    "Labels",
    "LabelsError",
    "LabelsState",
    "LabelsWatcher",
    "ModelRef",
    "Problem",
    "TextEncoder",
    "TextTensor",
    "add_action",
    "add_examples",
    "bundled_labels",
    "bundled_labels_dir",
    "bundled_labels_path",
    "check_labels",
    "default_cache_root",
    "encode_labels",
    "examples_folder",
    "get_encoder",
    "init_labels",
    "is_bundled",
    "load_labels",
    "name_key",
    "packaged_model_path",
    "parse_example",
    "parse_labels",
    "remove_action",
    "resolve_model",
    "save_example",
    "write_atomic",
]


__getattr__ = lazy_names(__name__, _WHERE)
