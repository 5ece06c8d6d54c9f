from noether.core.schemas import config, field
from noether.modeling.modules.blocks.transformer.config import BlockOptions


@config
class PerceiverBlockConfig(BlockOptions):
    """Pre-norm cross-attention block: queries attend to a key/value sequence, then an MLP."""

    kv_dim: int | None = field(default=None, ge=1, description="Width of the key/value input; None: hidden_dim.")
    attention_constructor: str = field(
        default="perceiver", description="Registered cross-attention name; checked when built."
    )
