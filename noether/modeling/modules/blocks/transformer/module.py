from collections.abc import Mapping, Sequence
from typing import Any

import torch

from noether.core.schemas.modules.attention import AttentionPattern, TokenSpec
from noether.modeling.modules.attention.kv_cache import KVCache
from noether.modeling.modules.blocks.base import AttentionCall, ResidualBlock
from noether.modeling.modules.blocks.transformer.config import TransformerBlockConfig


class TransformerBlock(ResidualBlock):
    """Pre-norm transformer block with any registered attention (``attention_constructor``).

    ``token_specs``, ``attention_patterns``, ``attn_mask``, ``freqs`` and ``kv_cache``
    are passed through to the attention, which must accept those given.
    """

    def __init__(self, config: TransformerBlockConfig | Mapping[str, Any]) -> None:
        from noether.registry import build_attention

        config = TransformerBlockConfig.coerce(config)
        super().__init__(config)
        self.config = config
        self.norm1 = self.layer_norm(config, config.hidden_dim)
        self.attention_block = build_attention(config.attention_options(), name=config.attention_constructor)
        self._call = AttentionCall(type(self).__name__, config.attention_constructor, self.attention_block)

    def forward(
        self,
        x: torch.Tensor,
        token_specs: Sequence[TokenSpec | Mapping[str, int | None]] | None = None,
        *,
        condition: torch.Tensor | None = None,
        attention_patterns: Sequence[AttentionPattern | Mapping[str, Any]] | None = None,
        attn_mask: torch.Tensor | None = None,
        freqs: torch.Tensor | None = None,
        kv_cache: KVCache | None = None,
    ) -> torch.Tensor:
        """``x`` (batch, tokens, hidden) -> same shape; ``condition`` (batch, condition_dim) when conditioned."""
        kwargs = self._call.kwargs({"token_specs": token_specs, "attention_patterns": attention_patterns,
                                    "attn_mask": attn_mask, "freqs": freqs, "kv_cache": kv_cache})  # fmt: skip
        return self.residual(x, lambda h: self.attention_block(h, **kwargs), self.norm1(x), condition)
