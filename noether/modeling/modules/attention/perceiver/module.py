from typing import Any

import torch
from torch import nn

from noether.core.schemas.modules.attention import AttentionConfig
from noether.modeling.functional.init import init_linears
from noether.modeling.modules.attention.heads import MultiHeadAttentionBase, check_attn_mask
from noether.modeling.modules.attention.perceiver.config import PerceiverAttentionConfig


class PerceiverAttention(MultiHeadAttentionBase):
    """Multi-head cross-attention (Perceiver, Jaegle et al. 2021): ``q`` attends to ``kv``."""

    def __init__(self, config: AttentionConfig) -> None:
        config = PerceiverAttentionConfig.coerce(config)
        super().__init__(config)
        self.kv_dim = config.kv_dim or config.hidden_dim
        self.kv = nn.Linear(self.kv_dim, 2 * config.hidden_dim, bias=config.bias)
        self.q = nn.Linear(config.hidden_dim, config.hidden_dim, bias=config.bias)
        init_linears(type(self).__name__, config.init_weights, [self.kv, self.q], output=self.proj)

    def example_inputs(self, batch_size: int, tokens: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Random inputs of this shape (``bench``, ``doctor``): queries and as many key/value tokens."""
        return (torch.randn(batch_size, tokens, self.hidden_dim), torch.randn(batch_size, tokens, self.kv_dim)), {}

    def forward(
        self,
        q: torch.Tensor,
        kv: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        q_freqs: torch.Tensor | None = None,
        k_freqs: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``q`` (batch, queries, hidden), ``kv`` (batch, keys, kv_dim) -> (batch, queries, hidden).

        ``attn_mask`` follows ``F.scaled_dot_product_attention`` (broadcastable to
        (batch, heads, queries, keys)); ``q_freqs``/``k_freqs`` rotate queries and
        keys when ``use_rope``.
        """
        self.check_input("q", q)
        self.check_input("kv", kv, self.kv_dim)
        if q.shape[0] != kv.shape[0]:
            raise ValueError(f"PerceiverAttention: q has batch size {q.shape[0]} but kv has {kv.shape[0]}")
        self.check_freqs(q_freqs=q_freqs, k_freqs=k_freqs)
        check_attn_mask(type(self).__name__, attn_mask)
        query = self.rotate(self.norm_q(self.split_heads(self.q(q), 1)[0]), q_freqs)
        key, value = self.split_heads(self.kv(kv), 2)
        key = self.rotate(self.norm_k(key), k_freqs)
        return self.project_out(self.merge_heads(self.attend(query, key, value, attn_mask)))
