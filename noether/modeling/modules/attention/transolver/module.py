from collections.abc import Mapping
from typing import ClassVar, cast

import torch
import torch.nn.functional as F
from torch import nn

from noether.compat.calls import renamed
from noether.core.schemas.modules.attention import AttentionConfig
from noether.core.types import InitWeightsMode
from noether.modeling.contract import InputError, check_tensor
from noether.modeling.functional.init import base_mode, check_init_mode
from noether.modeling.modules.attention.masks import check_key_padding_mask
from noether.modeling.modules.attention.transolver.config import TransolverAttentionConfig
from noether.modeling.modules.factory import Device, FactoryModule
from noether.modeling.modules.layers.linear_projection.config import LinearProjectionConfig
from noether.modeling.modules.layers.linear_projection.module import LinearProjection


def linear(input_dim: int, output_dim: int, bias: bool, init_weights: str) -> LinearProjection:
    mode = cast(InitWeightsMode, base_mode(init_weights))  # modes were checked by the caller
    config = LinearProjectionConfig(input_dim=input_dim, output_dim=output_dim, bias=bias, init_weights=mode)
    return LinearProjection(config)


def zero_(projection: nn.Module) -> None:
    with torch.no_grad():
        for parameter in projection.parameters():
            parameter.zero_()


class SliceAttention(FactoryModule):
    """Shared by Transolver and Transolver++: slice, attend among slices, de-slice.

    Tokens are softly assigned to ``num_slices`` slices per head; each slice token
    is the weighted mean of its tokens, slice tokens attend to each other, and
    every token gathers the result back with its assignment weights. Cost is
    linear in the number of tokens. Slices have no query-key scores: padding is
    ``key_padding_mask`` (1.x passed it as a (batch, tokens) ``attn_mask``).
    """

    accepts = frozenset({"key_padding_mask"})
    legacy_positional = ("attn_mask",)
    legacy_names: ClassVar[Mapping[str, str]] = {"attn_mask": "key_padding_mask"}

    def __init__(
        self, config: TransolverAttentionConfig, *, device: Device = None, dtype: torch.dtype | None = None
    ) -> None:
        super().__init__()
        check_init_mode(type(self).__name__, config.init_weights)
        self.num_heads = config.num_heads
        self.head_dim = config.hidden_dim // config.num_heads
        self.hidden_dim = config.hidden_dim
        self.dropout = config.dropout
        self.q_norm = nn.LayerNorm(self.head_dim) if config.qk_norm else None
        self.k_norm = nn.LayerNorm(self.head_dim) if config.qk_norm else None
        if config.use_rope:
            raise ValueError(f"{type(self).__name__} does not support use_rope: slices have no positions")

    def heads(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, tokens, hidden) -> (batch, heads, tokens, head_dim)."""
        batch, tokens, _ = x.shape
        return x.view(batch, tokens, self.num_heads, self.head_dim).transpose(1, 2)

    def check_inputs(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None) -> None:
        name = type(self).__name__
        check_tensor(name, "x", x, "batch tokens width", {"width": self.hidden_dim}, like=next(self.parameters()))
        check_key_padding_mask(name, key_padding_mask, x.shape[0], x.shape[1], x.device)

    @staticmethod
    def drop_padding(weights: torch.Tensor, key_padding_mask: torch.Tensor | None) -> torch.Tensor:
        """Slice weights (b, h, n, g) with padding tokens' set to zero: they join no slice."""
        if key_padding_mask is None:
            return weights
        return weights * key_padding_mask[:, None, :, None].to(weights.dtype)

    @staticmethod
    def pool(features: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Slice tokens: the ``weights``-weighted means of ``features`` (b, h, n, d) -> (b, h, g, d)."""
        norm = weights.sum(dim=2).unsqueeze(-1)  # (b, h, g, 1)
        return torch.einsum("bhnd,bhng->bhgd", features, weights) / (norm + 1e-5)

    def attend_slices(self, slices: torch.Tensor, weights: torch.Tensor, qkv: nn.Module) -> torch.Tensor:
        """Slice tokens attend to each other; each token gathers the result back: -> (b, n, hidden)."""
        q, k, v = qkv(slices).chunk(3, dim=-1)
        if self.q_norm is not None and self.k_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        tokens = torch.einsum("bhgd,bhng->bhnd", out, weights)
        batch, _, count, _ = tokens.shape
        return tokens.transpose(1, 2).reshape(batch, count, self.hidden_dim)


class TransolverAttention(SliceAttention):
    """Transolver's physics-attention with a learnable per-head temperature (initially 0.5)."""

    def __init__(self, config: AttentionConfig, *, device: Device = None, dtype: torch.dtype | None = None) -> None:
        config = TransolverAttentionConfig.coerce(config)
        super().__init__(config)
        d, hidden, mode = self.head_dim, config.hidden_dim, config.init_weights
        self.temperature = nn.Parameter(torch.full((1, config.num_heads, 1, 1), 0.5))
        self.in_project_x = linear(hidden, hidden, config.bias, mode)
        self.in_project_fx = linear(hidden, hidden, config.bias, mode)
        self.in_project_slice = linear(d, config.num_slices, config.bias, mode)
        self.qkv = linear(d, 3 * d, False, mode)
        self.proj = linear(hidden, hidden, config.bias, mode)
        self.proj_dropout = nn.Dropout(config.dropout)
        if mode == "truncnormal002-identity":
            zero_(self.proj)

    def create_slices(
        self,
        x: torch.Tensor,
        num_input_points: int,
        attn_mask: torch.Tensor | None = None,
        *,
        key_padding_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Slice tokens (batch, heads, slices, head_dim) and slice weights (batch, heads, tokens, slices) of ``x``.

        Padding tokens (False in ``key_padding_mask``) get zero weight. ``num_input_points``
        is the token count of ``x`` (1.x's signature).
        """
        if attn_mask is not None:  # 1.x's padding form
            key_padding_mask = renamed(type(self), {"attn_mask": attn_mask, "key_padding_mask": key_padding_mask})[
                "key_padding_mask"
            ]
        self.check_inputs(x, key_padding_mask)
        if x.shape[1] != num_input_points:
            raise InputError(f"{type(self).__name__}: x has {x.shape[1]} tokens, num_input_points={num_input_points}")
        return self._slices(x, key_padding_mask)

    def _slices(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        weights = F.softmax(self.in_project_slice(self.heads(self.in_project_x(x))) / self.temperature, dim=-1)
        weights = self.drop_padding(weights, key_padding_mask)
        return self.pool(self.heads(self.in_project_fx(x)), weights), weights

    def forward(self, x: torch.Tensor, *, key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` (batch, tokens, hidden) -> same shape; ``key_padding_mask``: bool (batch, tokens), True = real."""
        self.check_inputs(x, key_padding_mask)
        slices, weights = self._slices(x, key_padding_mask)
        result: torch.Tensor = self.proj_dropout(self.proj(self.attend_slices(slices, weights, self.qkv)))
        return result
