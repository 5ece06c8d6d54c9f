from noether.core.schemas import config
from noether.core.schemas.modules.attention import AttentionConfig


@config(extra="forbid")
class DotProductAttentionConfig(AttentionConfig):
    """Multi-head self-attention; the generic options only."""
