from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from noether.modeling.functional.init import init_linears
from noether.modeling.modules.factory import Device, FactoryModule
from noether.modeling.modules.layers.linear_projection.config import LinearProjectionConfig

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}


class LinearProjection(FactoryModule):
    """``project``: nn.Linear, a 1x1 convolution, or nn.Identity (state-dict key ``project.*``)."""

    def __init__(
        self,
        config: LinearProjectionConfig | Mapping[str, Any],
        *,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        config = LinearProjectionConfig.coerce(config)
        self.project: nn.Module
        if config.optional and config.input_dim == config.output_dim:
            self.project = nn.Identity()
        elif config.ndim is None:
            self.project = nn.Linear(config.input_dim, config.output_dim, bias=config.bias)
        else:
            self.project = _CONV[config.ndim](config.input_dim, config.output_dim, kernel_size=1, bias=config.bias)
        self.init_weights = config.init_weights
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """(Re)initialise ``project`` by ``init_weights``."""
        init_linears(type(self).__name__, self.init_weights, [], output=self.project)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.project(x)
        return out
