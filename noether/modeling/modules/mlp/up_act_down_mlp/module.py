from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from noether.modeling.functional.activation import activation
from noether.modeling.functional.init import init_linears
from noether.modeling.modules.factory import Device, FactoryModule
from noether.modeling.modules.mlp.up_act_down_mlp.config import UpActDownMLPConfig


class UpActDownMlp(FactoryModule):
    """``fc2(act(fc1(x)))`` with ``fc1``: input -> hidden and ``fc2``: hidden -> input."""

    def __init__(
        self, config: UpActDownMLPConfig | Mapping[str, Any], *, device: Device = None, dtype: torch.dtype | None = None
    ) -> None:
        super().__init__()
        config = UpActDownMLPConfig.coerce(config)
        self.fc1 = nn.Linear(config.input_dim, config.hidden_dim, bias=config.bias)
        self.act = activation(config.activation)
        self.fc2 = nn.Linear(config.hidden_dim, config.input_dim, bias=config.bias)
        self.init_weights = config.init_weights
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """(Re)initialise ``fc1`` and ``fc2`` by ``init_weights``."""
        init_linears(type(self).__name__, self.init_weights, [self.fc1], output=self.fc2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.fc2(self.act(self.fc1(x)))
        return out
