from noether.core.schemas import config
from noether.modeling.modules.attention.dot_product.config import DotProductAttentionConfig


@config(extra="forbid")
class MixedAttentionConfig(DotProductAttentionConfig):
    """Attention among named token groups by patterns; the generic options only."""
