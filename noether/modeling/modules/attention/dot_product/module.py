import torch
from torch import nn

from noether.core.schemas.modules.attention import AttentionConfig
from noether.modeling.functional.rope import Freqs
from noether.modeling.modules.attention.dot_product.config import DotProductAttentionConfig
from noether.modeling.modules.attention.heads import MultiHeadAttentionBase
from noether.modeling.modules.attention.masks import sdpa_mask
from noether.modeling.modules.factory import Device


class QKVAttention(MultiHeadAttentionBase):
    """One ``qkv`` projection (hidden -> 3 * hidden) feeding multi-head attention."""

    qkv: nn.Linear

    def __init__(self, config: AttentionConfig, *, device: Device = None, dtype: torch.dtype | None = None) -> None:
        super().__init__(config, qkv=nn.Linear(config.hidden_dim, 3 * config.hidden_dim, bias=config.bias))

    def project(self, x: torch.Tensor, part: int) -> torch.Tensor:
        """One part of ``qkv`` alone (0 queries, 1 keys, 2 values), as (batch, heads, tokens, head_dim).

        For queries against cached keys/values, or keys/values to cache: the
        result is a view of a buffer of its own, which a cache can keep as it is.
        """
        rows = slice(part * self.hidden_dim, (part + 1) * self.hidden_dim)
        bias = None if self.qkv.bias is None else self.qkv.bias[rows]
        return self.split_heads(torch.nn.functional.linear(x, self.qkv.weight[rows], bias), 1)[0]


class DotProductAttention(QKVAttention):
    """Multi-head self-attention through ``F.scaled_dot_product_attention``."""

    accepts = frozenset({"attn_mask", "key_padding_mask", "freqs"})
    legacy_positional = ("attn_mask", "freqs")

    def __init__(self, config: AttentionConfig, *, device: Device = None, dtype: torch.dtype | None = None) -> None:
        super().__init__(DotProductAttentionConfig.coerce(config))

    def forward(
        self,
        x: torch.Tensor,
        *,
        attn_mask: torch.Tensor | None = None,
        freqs: Freqs | None = None,
        key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``x`` (batch, tokens, hidden) -> same shape.

        ``attn_mask``: as ``F.scaled_dot_product_attention``'s, broadcastable to
        (batch, heads, tokens, tokens); ``key_padding_mask``: bool (batch, tokens),
        True for real tokens (see :mod:`~noether.modeling.modules.attention.masks`).
        ``freqs``: RoPE rotations from ``RopeFrequency`` when ``use_rope``.
        """
        self.check_input("x", x)
        self.check_freqs(freqs=(freqs, x))
        batch, tokens, _ = x.shape
        mask = sdpa_mask(
            type(self).__name__, attn_mask, key_padding_mask, batch, self.num_heads, tokens, tokens, x.device
        )
        q, k, v = self.split_heads(self.qkv(x), 3)
        q = self.rotate(self.norm_q(q), freqs)
        k = self.rotate(self.norm_k(k), freqs)
        return self.project_out(self.merge_heads(self.attend(q, k, v, mask)))
