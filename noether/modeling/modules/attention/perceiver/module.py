from typing import Any

import torch
from torch import nn

from noether.core.schemas.modules.attention import AttentionConfig
from noether.modeling.contract import InputError, check_tensor
from noether.modeling.functional.rope import Freqs
from noether.modeling.modules.attention.heads import MultiHeadAttentionBase
from noether.modeling.modules.attention.masks import sdpa_mask
from noether.modeling.modules.attention.perceiver.config import PerceiverAttentionConfig
from noether.modeling.modules.factory import Device


class PerceiverAttention(MultiHeadAttentionBase):
    """Multi-head cross-attention (Perceiver, Jaegle et al. 2021): ``q`` attends to ``kv``."""

    inputs = ("q", "kv")
    accepts = frozenset({"attn_mask", "key_padding_mask", "q_freqs", "k_freqs"})
    needs_kv = True
    legacy_positional = ("attn_mask", "q_freqs", "k_freqs")

    kv: nn.Linear
    q: nn.Linear

    def __init__(self, config: AttentionConfig, *, device: Device = None, dtype: torch.dtype | None = None) -> None:
        config = PerceiverAttentionConfig.coerce(config)
        kv_dim = config.kv_dim or config.hidden_dim
        kv = nn.Linear(kv_dim, 2 * config.hidden_dim, bias=config.bias)
        super().__init__(config, kv=kv, q=nn.Linear(config.hidden_dim, config.hidden_dim, bias=config.bias))
        self.kv_dim = kv_dim

    def example_inputs(self, batch_size: int, tokens: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Random inputs of this shape (``bench``, ``doctor``): queries and as many key/value tokens."""
        return (torch.randn(batch_size, tokens, self.hidden_dim), torch.randn(batch_size, tokens, self.kv_dim)), {}

    def forward(
        self,
        q: torch.Tensor,
        kv: torch.Tensor,
        *,
        attn_mask: torch.Tensor | None = None,
        q_freqs: Freqs | None = None,
        k_freqs: Freqs | None = None,
        key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``q`` (batch, queries, hidden), ``kv`` (batch, keys, kv_dim) -> (batch, queries, hidden).

        ``attn_mask``: as ``F.scaled_dot_product_attention``'s, broadcastable to
        (batch, heads, queries, keys); ``key_padding_mask``: bool (batch, keys),
        True for real ``kv`` tokens. ``q_freqs``/``k_freqs`` rotate queries and
        keys when ``use_rope``.
        """
        name = type(self).__name__
        sizes = check_tensor(name, "q", q, "batch queries hidden", {"hidden": self.hidden_dim}, like=self.proj.weight)
        check_tensor(name, "kv", kv, "batch keys kv_dim", {"batch": sizes["batch"], "kv_dim": self.kv_dim},
                     like=self.proj.weight)  # fmt: skip
        if kv.shape[1] == 0:
            raise InputError(f"{name}: kv has no tokens, so the queries would attend to nothing; got {tuple(kv.shape)}")
        self.check_freqs(q_freqs=(q_freqs, q), k_freqs=(k_freqs, kv))
        batch, queries, keys = q.shape[0], q.shape[1], kv.shape[1]
        mask = sdpa_mask(
            type(self).__name__, attn_mask, key_padding_mask, batch, self.num_heads, queries, keys, q.device
        )
        query = self.rotate(self.norm_q(self.split_heads(self.q(q), 1)[0]), q_freqs)
        key, value = self.split_heads(self.kv(kv), 2)
        key = self.rotate(self.norm_k(key), k_freqs)
        return self.project_out(self.merge_heads(self.attend(query, key, value, mask)))
