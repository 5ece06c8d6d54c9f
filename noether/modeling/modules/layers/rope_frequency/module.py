import torch
from torch import nn

from noether.modeling.modules.layers.rope_frequency.config import RopeFrequencyConfig


class RopeFrequency(nn.Module):
    """Unit complex rotations for RoPE (Su et al. 2021) at continuous coordinates.

    Each coordinate axis gets an equal share of the rotated feature pairs, with
    wavelengths spaced geometrically up to ``max_wavelength``; features left over
    when ``hidden_dim`` does not split evenly are not rotated (angle zero).
    """

    omega: torch.Tensor

    def __init__(self, config: RopeFrequencyConfig) -> None:
        super().__init__()
        self.hidden_dim = config.hidden_dim
        self.input_dim = config.input_dim
        pairs_per_axis = config.hidden_dim // 2 // config.input_dim
        if pairs_per_axis < 1:
            raise ValueError(
                f"RopeFrequency needs hidden_dim >= 2 * input_dim, got hidden_dim={config.hidden_dim}, "
                f"input_dim={config.input_dim}"
            )
        self.padding = config.hidden_dim // 2 - pairs_per_axis * config.input_dim
        exponents = torch.arange(pairs_per_axis, dtype=torch.float64) / pairs_per_axis
        self.register_buffer("omega", (config.max_wavelength**-exponents).float(), persistent=False)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        """``coords`` (..., input_dim) -> complex (..., hidden_dim // 2)."""
        if coords.shape[-1] != self.input_dim:
            raise ValueError(f"RopeFrequency expects coordinates with {self.input_dim} dims, got {coords.shape[-1]}")
        angles = (coords.float().unsqueeze(-1) * self.omega).flatten(-2)
        if self.padding:
            angles = torch.nn.functional.pad(angles, (0, self.padding))
        return torch.polar(torch.ones_like(angles), angles)
