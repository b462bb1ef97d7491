"""The DVTA head (Dual Visual-Text Alignment): projectors, description enhancement, metric network, loss."""

from dvta_live.dvta.head import DVTAHead, LeakySigmoid, TextSide, TextSideScorer
from dvta_live.dvta.loss import multi_positive_kl_loss

__all__ = ["DVTAHead", "LeakySigmoid", "TextSide", "TextSideScorer", "multi_positive_kl_loss"]
