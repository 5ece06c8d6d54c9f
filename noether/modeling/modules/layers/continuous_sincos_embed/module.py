from collections.abc import Mapping
from typing import Any

import torch

from noether.modeling.contract import InputError
from noether.modeling.functional.rope import wave_frequencies
from noether.modeling.modules.factory import Device, FactoryModule
from noether.modeling.modules.layers.continuous_sincos_embed.config import ContinuousSincosEmbeddingConfig


class ContinuousSincosEmbed(FactoryModule):
    """The transformer's sinusoidal position encoding, for continuous coordinates of any dimension.

    Each axis gets an equal share of the features, half sines and half cosines of
    geometrically spaced frequencies; features that do not divide evenly are zero
    (``padding_tensor``, a buffer kept for 1.x checkpoints).
    """

    omega: torch.Tensor
    padding_tensor: torch.Tensor

    def __init__(
        self,
        config: ContinuousSincosEmbeddingConfig | Mapping[str, Any],
        *,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        config = ContinuousSincosEmbeddingConfig.coerce(config)
        self.hidden_dim = config.hidden_dim
        self.input_dim = config.input_dim
        self.max_wavelength = config.max_wavelength
        omega, self.padding = wave_frequencies(config.hidden_dim, config.input_dim, config.max_wavelength)
        self.register_buffer("omega", omega)
        self.register_buffer("padding_tensor", torch.zeros(self.padding))

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        """``coords`` (..., input_dim) -> (..., hidden_dim), computed in float32."""
        if coords.shape[-1] != self.input_dim:
            raise InputError(f"ContinuousSincosEmbed expects {self.input_dim}-d coordinates, got {coords.shape[-1]}")
        angles = coords.float().unsqueeze(-1) * self.omega  # (..., input_dim, per_axis)
        emb = torch.cat([angles.sin(), angles.cos()], dim=-1).flatten(-2)
        if not self.padding:
            return emb
        return torch.cat([emb, self.padding_tensor.expand(*emb.shape[:-1], -1)], dim=-1)

    def extra_repr(self) -> str:
        return f"hidden_dim={self.hidden_dim}, input_dim={self.input_dim}"
