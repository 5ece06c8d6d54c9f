import torch
from torch import nn

from noether.modeling.modules.layers.continuous_sincos_embed.config import ContinuousSincosEmbeddingConfig


class ContinuousSincosEmbed(nn.Module):
    """The transformer's sinusoidal position encoding, for continuous coordinates of any dimension.

    Each axis gets an equal share of the features, half sines and half cosines of
    geometrically spaced frequencies; features that do not divide evenly are zero.
    """

    omega: torch.Tensor

    def __init__(self, config: ContinuousSincosEmbeddingConfig) -> None:
        super().__init__()
        self.hidden_dim = config.hidden_dim
        self.input_dim = config.input_dim
        per_axis = config.hidden_dim // config.input_dim // 2
        if per_axis < 1:
            raise ValueError(
                f"ContinuousSincosEmbed needs hidden_dim >= 2 * input_dim, got hidden_dim={config.hidden_dim}, "
                f"input_dim={config.input_dim}"
            )
        self.padding = config.hidden_dim - 2 * per_axis * config.input_dim
        exponents = torch.arange(per_axis, dtype=torch.float64) / per_axis
        self.register_buffer("omega", (config.max_wavelength**-exponents).float(), persistent=False)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        """``coords`` (..., input_dim) -> (..., hidden_dim), computed in float32."""
        if coords.shape[-1] != self.input_dim:
            raise ValueError(f"ContinuousSincosEmbed expects {self.input_dim}-d coordinates, got {coords.shape[-1]}")
        angles = coords.float().unsqueeze(-1) * self.omega  # (..., input_dim, per_axis)
        emb = torch.cat([angles.sin(), angles.cos()], dim=-1).flatten(-2)
        return torch.nn.functional.pad(emb, (0, self.padding)) if self.padding else emb
