from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from noether.modeling.modules.blocks.perceiver.module import PerceiverBlock
from noether.modeling.modules.decoders.deep_perceiver.config import DeepPerceiverDecoderConfig
from noether.modeling.modules.factory import Device, FactoryModule


class DeepPerceiverDecoder(FactoryModule):
    """``depth`` Perceiver blocks: queries attend to ``kv`` (cross-attention only), each block refining them.

    Queries never attend to each other, so any subset of them decodes to the same
    values: query points can be decoded in chunks.
    """

    def __init__(
        self,
        config: DeepPerceiverDecoderConfig | Mapping[str, Any],
        *,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        config = DeepPerceiverDecoderConfig.coerce(config)
        self.config = config
        self.blocks = nn.ModuleList(PerceiverBlock(config.perceiver_block_config) for _ in range(config.depth))

    def forward(
        self,
        kv: torch.Tensor,
        queries: torch.Tensor,
        attn_kwargs: Mapping[str, Any] | None = None,
        condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``kv`` (batch, tokens, kv_dim), ``queries`` (batch, queries, hidden) -> (batch, queries, hidden)."""
        for name, tensor in (("kv", kv), ("queries", queries)):
            if tensor.ndim != 3:
                raise ValueError(
                    f"DeepPerceiverDecoder: {name} must be (batch, tokens, features), got {tuple(tensor.shape)}"
                )
        for block in self.blocks:
            queries = block(queries, kv, condition, attn_kwargs)
        return queries
