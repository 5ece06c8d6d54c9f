"""Chunked exact attention for noether, found through the entry point ``chunked_dot_product``."""

from noether_chunked_attention.config import ChunkedDotProductAttentionConfig

__all__ = ["ChunkedDotProductAttentionConfig"]
