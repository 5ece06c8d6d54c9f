from collections.abc import Sequence

from noether.core.schemas import config
from noether.core.schemas.modules.attention import AttentionPattern, TokenSpec
from noether.modeling.modules.attention.dot_product.config import DotProductAttentionConfig
from noether.modeling.modules.attention.mixed.layout import TokenLayout


@config(extra="forbid")
class MixedAttentionConfig(DotProductAttentionConfig):
    """Attention among named token groups by patterns; the generic options only."""

    def check_tokens(self, specs: Sequence[TokenSpec], patterns: Sequence[AttentionPattern] = ()) -> None:
        """The token layout rules the module applies in forward, for ``noether-attention check``."""
        TokenLayout.build(type(self).__name__, specs, patterns, sum(s.size or 0 for s in specs))
