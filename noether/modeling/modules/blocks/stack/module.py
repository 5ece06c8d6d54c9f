from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn

from noether.modeling.contract import capabilities
from noether.modeling.modules.blocks.stack.config import TransformerStackConfig
from noether.modeling.modules.blocks.transformer.module import TransformerBlock
from noether.modeling.modules.factory import Device, FactoryModule


class TransformerStack(FactoryModule):
    """``depth`` transformer blocks applied in turn; keyword arguments reach every block.

    With anchor attention and a shared ``KVCache`` this is what ``stream_queries``
    runs: anchors once, then query chunks through every layer. It accepts what its
    blocks accept.
    """

    legacy_positional = ("token_specs",)

    def __init__(
        self,
        config: TransformerStackConfig | Mapping[str, Any],
        *,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        config = TransformerStackConfig.coerce(config)
        self.config = config
        self.blocks = nn.ModuleList(TransformerBlock(config.block) for _ in range(config.depth))
        first = capabilities(self.blocks[0])
        self.accepts, self.can_prefill = first.accepts, first.can_prefill

    def __iter__(self) -> Iterator[nn.Module]:
        """The blocks in order: ``stream_queries`` runs a stack block by block."""
        return iter(self.blocks)

    def __len__(self) -> int:
        return len(self.blocks)

    def forward(self, x: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        for block in self:
            x = block(x, **kwargs)
        return x
