"""The DVTA head (Dual Visual-Text Alignment): projectors, description enhancement, metric network, loss."""

from dvta_live._lazy import lazy_names

# Importing the package is light (no torch): names load on first use.
_WHERE = {"DVTAHead": "head", "LeakySigmoid": "head", "TextSide": "head", "TextSideScorer": "head",
          "multi_positive_kl_loss": "loss"}
__all__ = [
    "DVTAHead",
    "LeakySigmoid",
    "TextSide",
    "TextSideScorer",
    "multi_positive_kl_loss",
]


__getattr__ = lazy_names(__name__, _WHERE)
