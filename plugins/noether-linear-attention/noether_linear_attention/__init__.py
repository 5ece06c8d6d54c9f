"""Linear attention for noether, found through the ``noether.attention`` entry point ``linear``."""

from noether_linear_attention.config import LinearAttentionConfig

__all__ = ["LinearAttentionConfig"]
