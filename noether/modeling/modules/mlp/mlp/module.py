import itertools
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from noether.modeling.functional.activation import activation
from noether.modeling.functional.init import init_linears
from noether.modeling.modules.factory import Device, FactoryModule
from noether.modeling.modules.mlp.mlp.config import MLPConfig


class MLP(FactoryModule):
    """``mlp``: a Sequential of Linear and activation layers (keys ``mlp.0.*``, ``mlp.2.*``, ...)."""

    def __init__(
        self, config: MLPConfig | Mapping[str, Any], *, device: Device = None, dtype: torch.dtype | None = None
    ) -> None:
        super().__init__()
        config = MLPConfig.coerce(config)
        dims = [
            config.input_dim,
            *([config.hidden_dim] * (config.num_layers + 1)),
            config.output_dim or config.input_dim,
        ]
        layers: list[nn.Module] = []
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(dims)):
            layers.append(nn.Linear(fan_in, fan_out, bias=config.bias))
            if i < len(dims) - 2:
                layers.append(activation(config.activation))
        self.mlp = nn.Sequential(*layers)
        self.init_weights = config.init_weights
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """(Re)initialise the linear layers by ``init_weights`` ('-identity' zeroes the last one)."""
        *hidden, output = [m for m in self.mlp if isinstance(m, nn.Linear)]
        init_linears(type(self).__name__, self.init_weights, hidden, output=output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.mlp(x)
        return out
