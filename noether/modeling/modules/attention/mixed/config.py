from collections.abc import Sequence

from noether.core.schemas import config
from noether.core.schemas.modules.attention import AttentionPattern, TokenSpec
from noether.modeling.modules.attention.dot_product.config import DotProductAttentionConfig
from noether.modeling.modules.attention.mixed.layout import TokenLayout, as_patterns, as_token_specs


@config(extra="forbid")
class MixedAttentionConfig(DotProductAttentionConfig):
    """Attention among named token groups by patterns; the generic options only."""

    def check_tokens(self, specs: Sequence[TokenSpec], patterns: Sequence[AttentionPattern] = ()) -> None:
        """The token layout rules the module applies in forward, for ``noether-attention check``."""
        groups = as_token_specs(specs)
        TokenLayout.build(type(self).__name__, groups, as_patterns(patterns), sum(g.size or 0 for g in groups))
