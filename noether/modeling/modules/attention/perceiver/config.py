from noether.core.schemas import config, field
from noether.core.schemas.modules.attention import AttentionConfig


@config(extra="forbid")
class PerceiverAttentionConfig(AttentionConfig):
    """Cross-attention from queries to a key/value sequence of another width."""

    kv_dim: int | None = field(default=None, ge=1, description="Width of the key/value input; None: hidden_dim.")
