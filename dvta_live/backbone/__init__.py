"""GCN backbones: skeleton [N, 3, T, 25, 2] -> 256-d feature (and class logits).

- :class:`ShiftGCN`: Shift-GCN in plain PyTorch (ONNX/TensorRT-exportable), loads the official weights.
- :class:`STGCN`: ST-GCN in the SMIE / DVTA configuration.
- :mod:`.checkpoint`: official-checkpoint import and the project's ``.safetensors`` format.

Both models' ``forward`` returns ``(feature, logits)``.
"""

from dvta_live.backbone.checkpoint import (
    BackboneInfo,
    build_backbone,
    import_checkpoint,
    load_backbone,
    load_torch_checkpoint,
    read_backbone_info,
    save_backbone,
)
from dvta_live.backbone.graph import agcn_spatial_graph, stgcn_spatial_graph
from dvta_live.backbone.shiftgcn import ShiftGCN, TemporalShift
from dvta_live.backbone.stgcn import STGCN

__all__ = [
    "STGCN",
    "BackboneInfo",
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
