"""The DVTA head (Dual Visual-Text Alignment): projectors, description enhancement, metric network, loss."""

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


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
