from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from noether.modeling.modules.factory import Device, FactoryModule
from noether.modeling.modules.layers.layer_scale.config import LayerScaleConfig


class LayerScale(FactoryModule):
    """``x * gamma`` with a learnable ``gamma`` (hidden_dim,), or the identity when ``init_values`` is None."""

    def __init__(
        self, config: LayerScaleConfig | Mapping[str, Any], *, device: Device = None, dtype: torch.dtype | None = None
    ) -> None:
        super().__init__()
        config = LayerScaleConfig.coerce(config)
        self.gamma = (
            None if config.init_values is None else nn.Parameter(torch.full((config.hidden_dim,), config.init_values))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.gamma is None else x * self.gamma
