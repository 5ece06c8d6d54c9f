from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from noether.modeling.contract import InputError
from noether.modeling.modules.factory import Device, FactoryModule
from noether.modeling.modules.layers.continuous_sincos_embed.module import ContinuousSincosEmbed
from noether.modeling.modules.layers.linear_projection.module import LinearProjection
from noether.modeling.modules.layers.scalar_conditioner.config import ScalarsConditionerConfig


class ScalarsConditioner(FactoryModule):
    """Scalars -> one conditioning vector (batch, condition_dim) for conditioned blocks (``condition_dim``).

    Each scalar gets a sin-cos embedding and its own one-layer MLP; the results are
    concatenated and a shared two-layer MLP maps them to ``condition_dim``. Pass the
    scalars by keyword (``conditioner(velocity=v, yaw=a)``) so their order cannot drift.
    """

    def __init__(
        self,
        config: ScalarsConditionerConfig | Mapping[str, Any],
        *,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        config = ScalarsConditionerConfig.coerce(config)
        self.hidden_dim, self.num_scalars = config.hidden_dim, config.num_scalars
        self.condition_dim = config.condition_dim or 4 * config.hidden_dim

        def linear(fan_in: int, fan_out: int) -> LinearProjection:
            return LinearProjection({"input_dim": fan_in, "output_dim": fan_out, "init_weights": config.init_weights})

        self.embed = ContinuousSincosEmbed({"hidden_dim": config.hidden_dim, "input_dim": 1})
        hidden = config.hidden_dim
        self.mlps = nn.ModuleList(nn.Sequential(linear(hidden, hidden), nn.GELU()) for _ in range(self.num_scalars))
        self.shared_mlp = nn.Sequential(
            linear(hidden * self.num_scalars, hidden), nn.GELU(), linear(hidden, self.condition_dim), nn.GELU()
        )

    def forward(self, *args: torch.Tensor, **kwargs: torch.Tensor) -> torch.Tensor:
        """Scalars of shape (batch,) or (batch, 1), positionally or by keyword -> (batch, condition_dim)."""
        scalars = [*args, *kwargs.values()]
        name = type(self).__name__
        if len(scalars) != self.num_scalars:
            raise InputError(f"{name}: got {len(scalars)} scalars but num_scalars == {self.num_scalars}")
        batch = scalars[0].shape[0] if scalars[0].ndim else 0
        for i, scalar in enumerate(scalars):
            if scalar.ndim not in (1, 2) or scalar.numel() != scalar.shape[0] or scalar.shape[0] != batch:
                raise InputError(f"{name}: scalar {i} must be ({batch},) or ({batch}, 1), got {tuple(scalar.shape)}")
        embeds = self.embed(torch.cat([s.reshape(-1, 1) for s in scalars])).chunk(self.num_scalars)
        out: torch.Tensor = self.shared_mlp(
            torch.cat([mlp(e) for mlp, e in zip(self.mlps, embeds, strict=True)], dim=1)
        )
        return out
