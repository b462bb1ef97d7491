"""Backbones: a skeleton window -> a 256-d feature (and class logits).

- :class:`ShiftGCN`: Shift-GCN in plain PyTorch (ONNX/TensorRT-exportable), loads the official weights.
- :class:`STGCN`: ST-GCN in the SMIE / DVTA configuration.
- :class:`X3D`: PoseC3D X3D-shallow on COCO-17 keypoints (pyskl checkpoints), heatmaps drawn in-graph.
- :class:`KeypointGCN`: the project's own camera backbone, an ST-GCN on COCO-17 keypoints with scores.
- :mod:`.checkpoint`: official-checkpoint import and the project's ``.safetensors`` format.

Every model's ``forward`` returns ``(feature, logits)``.
"""

from dvta_live._lazy import lazy_names

# Importing the package is light (``dvta --help`` must not pay for torch): names load on first use.
_WHERE = {
    "BackboneInfo": "checkpoint", "build_backbone": "checkpoint", "import_checkpoint": "checkpoint",
    "load_backbone": "checkpoint", "load_torch_checkpoint": "checkpoint", "read_backbone_info": "checkpoint",
    "save_backbone": "checkpoint", "agcn_spatial_graph": "graph", "stgcn_spatial_graph": "graph",
    "ShiftGCN": "shiftgcn", "TemporalShift": "shiftgcn", "STGCN": "stgcn",
    "X3D": "x3d", "KeypointGCN": "keypoint_gcn",
}
__all__ = [
    "STGCN",
    "X3D",
    "BackboneInfo",
    "KeypointGCN",
    "ShiftGCN",
    "TemporalShift",
    "agcn_spatial_graph",
    "build_backbone",
    "import_checkpoint",
    "load_backbone",
    "load_torch_checkpoint",
    "read_backbone_info",
    "save_backbone",
    "stgcn_spatial_graph",
]


__getattr__ = lazy_names(__name__, _WHERE)
