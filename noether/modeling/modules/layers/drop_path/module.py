from collections.abc import Mapping
from typing import Any

import torch

from noether.modeling.modules.factory import Device, FactoryModule
from noether.modeling.modules.layers.drop_path.config import UnquantizedDropPathConfig


class UnquantizedDropPath(FactoryModule):
    """Zeroes a residual branch for a random subset of samples (each with ``drop_prob``), in training only.

    "Unquantized": every sample draws its own keep decision, so the kept fraction
    of a batch varies freely instead of being rounded to a fixed subset size.
    """

    def __init__(
        self,
        config: UnquantizedDropPathConfig | Mapping[str, Any],
        *,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        config = UnquantizedDropPathConfig.coerce(config)
        self.drop_prob = config.drop_prob
        self.scale_by_keep = config.scale_by_keep

    @property
    def keep_prob(self) -> float:
        """The probability of keeping a sample's branch: ``1 - drop_prob``."""
        return 1.0 - self.drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.drop_prob == 0.0:
            return x
        keep = self.keep_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        if self.scale_by_keep and keep > 0.0:
            mask = mask / keep
        return x * mask

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob:0.2f}"
