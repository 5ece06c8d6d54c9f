from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from noether.plugin import AttentionConfig, MultiHeadAttentionBase, init_linears
from noether_linear_attention.config import LinearAttentionConfig

_FEATURE_MAPS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "elu": lambda t: F.elu(t) + 1.0,
    "relu": F.relu,
    "softplus": F.softplus,
}


class LinearAttention(MultiHeadAttentionBase):
    """Linear attention (Katharopoulos et al., 2020): keys and values are summarised per head
    into a (head_dim x head_dim) matrix, so cost grows linearly with the number of tokens."""

    def __init__(self, config: AttentionConfig) -> None:
        config = LinearAttentionConfig.coerce(config)
        super().__init__(config)
        self.qkv = nn.Linear(config.hidden_dim, 3 * config.hidden_dim, bias=config.bias)
        init_linears(type(self).__name__, config.init_weights, [self.qkv], output=self.proj)
        self.feature_map = _FEATURE_MAPS[config.feature_map]
        self.eps = config.eps
        self.attn_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` (batch, tokens, hidden) -> same shape; ``attn_mask``: bool (batch, tokens), True = valid."""
        self.check_input("x", x)
        if attn_mask is not None and (attn_mask.dtype != torch.bool or attn_mask.shape != x.shape[:2]):
            raise ValueError(
                f"LinearAttention: attn_mask must be a bool mask of valid tokens with shape {tuple(x.shape[:2])}, "
                f"got {attn_mask.dtype} {tuple(attn_mask.shape)}"
            )
        q, k, v = self.split_heads(self.qkv(x), 3)
        q, k = self.feature_map(self.norm_q(q)), self.feature_map(self.norm_k(k))
        if attn_mask is not None:
            k = k * attn_mask[:, None, :, None].to(k.dtype)
        summary = torch.einsum("bhnd,bhne->bhde", k, v)  # sum_j phi(k_j) v_j^T
        normaliser = torch.einsum("bhnd,bhd->bhn", q, k.sum(dim=2)) + self.eps
        out = torch.einsum("bhnd,bhde->bhne", q, self.attn_dropout(summary)) / normaliser.unsqueeze(-1)
        result: torch.Tensor = self.project_out(self.merge_heads(out))
        return result
