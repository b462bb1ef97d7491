"""The package's layer order, lowest first: a module may import its own layer and the layers below it,
never one above, and imports never run in a circle (``tests/test_layers.py`` parses every module's imports,
function-level ones included, and fails on either).

A layer is a list of module prefixes; the longest prefix that matches a module names its layer.
"""

from __future__ import annotations

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # conventions and infrastructure every layer may use: errors, console, atomic outputs, the cache folder
    ("core", ("dvta_live", "dvta_live._lazy", "dvta_live.errors", "dvta_live.console", "dvta_live.outputs",
              "dvta_live.cache", "dvta_live.conventions", "dvta_live.training", "dvta_live.cuda",
              "dvta_live.layers")),
    ("skeleton data", ("dvta_live.skeleton",)),  # readers, layouts, the recipe, stores (numpy)
    ("pose estimation", ("dvta_live.pose",)),  # cameras' and videos' frames -> skeletons (MediaPipe)
    ("labels", ("dvta_live.labels",)),  # the labels file, text encoding, examples' syntax
    ("models", ("dvta_live.backbone", "dvta_live.dvta", "dvta_live.model")),  # backbones, the head, a model folder
    ("export writers", ("dvta_live.exporters",)),  # ONNX graphs, TensorRT engines: files only
    ("runtimes", ("dvta_live.runtimes",)),  # torch / ONNX Runtime / TensorRT behind one interface
    ("live", ("dvta_live.realtime",)),  # the live loop: windows, scoring, examples beside the text
    ("teach", ("dvta_live.teach",)),  # adding examples from files or a camera
    ("api", ("dvta_live.api", "dvta_live.doctor")),  # load() / Recognizer, the machine check
    ("cli", ("dvta_live.cli", "dvta_live.__main__")),  # commands: parse options, call the library, print
)


def layer_of(module: str) -> int:
    """The index in ``LAYERS`` of a ``dvta_live`` module (ValueError for one no layer holds)."""
    best, index = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, index = len(prefix), i
    if index < 0:
        raise ValueError(f"{module} is in no layer of dvta_live.layers.LAYERS")
    return index
