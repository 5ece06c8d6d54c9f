from collections.abc import Mapping
from typing import Any

import torch

from noether.modeling.modules.blocks.base import AttentionCall, ResidualBlock
from noether.modeling.modules.blocks.perceiver.config import PerceiverBlockConfig


class PerceiverBlock(ResidualBlock):
    """Pre-norm cross-attention block: ``q`` attends to ``kv`` (width ``kv_dim``), then an MLP."""

    def __init__(self, config: PerceiverBlockConfig | Mapping[str, Any]) -> None:
        from noether.registry import build_attention

        config = PerceiverBlockConfig.coerce(config)
        super().__init__(config)
        self.config = config
        kv_dim = config.kv_dim or config.hidden_dim
        self.norm1q = self.layer_norm(config, config.hidden_dim)
        self.norm1kv = self.layer_norm(config, kv_dim)
        options = {**config.attention_options(), "kv_dim": kv_dim}
        self.attn = build_attention(options, name=config.attention_constructor)
        self._call = AttentionCall(type(self).__name__, config.attention_constructor, self.attn)

    def forward(
        self,
        q: torch.Tensor,
        kv: torch.Tensor,
        *,
        condition: torch.Tensor | None = None,
        attn_mask: torch.Tensor | None = None,
        q_freqs: torch.Tensor | None = None,
        k_freqs: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``q`` (batch, queries, hidden), ``kv`` (batch, keys, kv_dim) -> (batch, queries, hidden)."""
        kwargs = self._call.kwargs({"attn_mask": attn_mask, "q_freqs": q_freqs, "k_freqs": k_freqs})
        kv_normed = self.norm1kv(kv)
        return self.residual(q, lambda h: self.attn(h, kv_normed, **kwargs), self.norm1q(q), condition)
