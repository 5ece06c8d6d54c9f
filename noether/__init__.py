"""noether: attention building blocks for physics transformers."""

__version__ = "0.1.0"
