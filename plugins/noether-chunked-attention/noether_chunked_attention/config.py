"""Config of chunked dot-product attention, and the plugin hook (the other way to name the module class)."""

from collections.abc import Mapping

from noether.modeling.modules.attention.dot_product.config import DotProductAttentionConfig
from noether.plugin import AttentionImplementation, config, field, hookimpl


@config(extra="forbid")
class ChunkedDotProductAttentionConfig(DotProductAttentionConfig):
    """Exact dot-product self-attention with memory bounded by ``query_chunk_size`` x tokens."""

    query_chunk_size: int = field(default=4096, ge=1, description="Queries attended at once.")


@hookimpl
def noether_attention_implementations() -> Mapping[str, AttentionImplementation]:
    module = "noether_chunked_attention.module:ChunkedDotProductAttention"
    return {"chunked_dot_product": AttentionImplementation(module=module, config=ChunkedDotProductAttentionConfig)}
