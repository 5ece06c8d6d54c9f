from collections.abc import Callable, Mapping
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from noether.plugin import AttentionConfig, MultiHeadAttentionBase, check_key_padding_mask, init_linears
from noether_linear_attention.config import LinearAttentionConfig

_FEATURE_MAPS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "elu": lambda t: F.elu(t) + 1.0,
    "relu": F.relu,
    "softplus": F.softplus,
}


class LinearAttention(MultiHeadAttentionBase):
    """Linear attention (Katharopoulos et al., 2020): keys and values are summarised per head
    into a (head_dim x head_dim) matrix, so cost grows linearly with the number of tokens.

    There are no query-key scores for an ``attn_mask``: padding is ``key_padding_mask``
    (earlier versions passed it as a (batch, tokens) ``attn_mask``, still adapted).
    """

    accepts = frozenset({"key_padding_mask"})
    legacy_positional = ("attn_mask",)
    legacy_names: ClassVar[Mapping[str, str]] = {"attn_mask": "key_padding_mask"}

    def __init__(self, config: AttentionConfig) -> None:
        config = LinearAttentionConfig.coerce(config)
        super().__init__(config)
        self.qkv = nn.Linear(config.hidden_dim, 3 * config.hidden_dim, bias=config.bias)
        init_linears(type(self).__name__, config.init_weights, [self.qkv], output=self.proj)
        self.feature_map = _FEATURE_MAPS[config.feature_map]
        self.eps = config.eps
        self.attn_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, *, key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` (batch, tokens, hidden) -> same shape; ``key_padding_mask``: bool (batch, tokens), True = real."""
        self.check_input("x", x)
        check_key_padding_mask(type(self).__name__, key_padding_mask, x.shape[0], x.shape[1], x.device)
        q, k, v = self.split_heads(self.qkv(x), 3)
        q, k = self.feature_map(self.norm_q(q)), self.feature_map(self.norm_k(k))
        if key_padding_mask is not None:
            k = k * key_padding_mask[:, None, :, None].to(k.dtype)
        summary = torch.einsum("bhnd,bhne->bhde", k, v)  # sum_j phi(k_j) v_j^T
        normaliser = torch.einsum("bhnd,bhd->bhn", q, k.sum(dim=2)) + self.eps
        out = torch.einsum("bhnd,bhde->bhne", q, self.attn_dropout(summary)) / normaliser.unsqueeze(-1)
        result: torch.Tensor = self.project_out(self.merge_heads(out))
        return result
