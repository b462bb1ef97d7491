"""dvta-live: real-time zero-shot skeleton action recognition (GCN backbone + DVTA head)."""

__version__ = "0.1.0"
