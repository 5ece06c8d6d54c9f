from collections.abc import Mapping
from typing import Any, cast

import torch
from torch import nn

from noether.modeling.contract import check_tensor
from noether.modeling.functional.rope import Freqs
from noether.modeling.modules.blocks.perceiver.module import PerceiverBlock
from noether.modeling.modules.decoders.deep_perceiver.config import DeepPerceiverDecoderConfig
from noether.modeling.modules.factory import Device, FactoryModule


class DeepPerceiverDecoder(FactoryModule):
    """``depth`` Perceiver blocks: queries attend to ``kv`` (cross-attention only), each block refining them.

    Queries never attend to each other, so any subset of them decodes to the same
    values: query points can be decoded in chunks. 1.x's ``decoder(kv, queries,
    attn_kwargs, condition)`` is adapted by :mod:`noether.compat.calls`.
    """

    inputs = ("kv", "queries")
    needs_kv = True
    accepts = frozenset({"condition", "attn_mask", "key_padding_mask", "q_freqs", "k_freqs"})
    legacy_positional = ("attn_kwargs", "condition")

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
        *,
        condition: torch.Tensor | None = None,
        attn_mask: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
        q_freqs: Freqs | None = None,
        k_freqs: Freqs | None = None,
    ) -> torch.Tensor:
        """``kv`` (batch, tokens, kv_dim), ``queries`` (batch, queries, hidden) -> (batch, queries, hidden)."""
        name, first = type(self).__name__, cast(PerceiverBlock, self.blocks[0])
        like, hidden = first.reference_weight(), first.hidden_dim
        sizes = check_tensor(name, "kv", kv, "batch keys kv_dim", {"kv_dim": first.config.kv_dim or hidden}, like=like)
        check_tensor(name, "queries", queries, "batch queries hidden", {"batch": sizes["batch"], "hidden": hidden},
                     like=like)  # fmt: skip
        given = {"attn_mask": attn_mask, "key_padding_mask": key_padding_mask, "q_freqs": q_freqs, "k_freqs": k_freqs}
        kwargs = {key: value for key, value in given.items() if value is not None}
        for block in self.blocks:
            queries = block(queries, kv, condition=condition, **kwargs)
        return queries
