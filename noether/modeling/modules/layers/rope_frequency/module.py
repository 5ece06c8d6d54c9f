from collections.abc import Mapping
from typing import Any

import torch

from noether.modeling.contract import InputError
from noether.modeling.functional.rope import Freqs, wave_frequencies
from noether.modeling.modules.factory import Device, FactoryModule
from noether.modeling.modules.layers.rope_frequency.config import RopeFrequencyConfig


class RopeFrequency(FactoryModule):
    """Rotations for RoPE (Su et al. 2021) at continuous coordinates.

    Each coordinate axis gets an equal share of the rotated feature pairs, with
    wavelengths spaced geometrically up to ``max_wavelength``; features left over
    when ``hidden_dim`` does not split evenly are not rotated. ``implementation``
    "complex" returns unit complex numbers (fast); "real" (1.x's default) returns
    one angle tensor per axis, rotating features by halves as 1.x did.
    """

    omega: torch.Tensor

    def __init__(
        self,
        config: RopeFrequencyConfig | Mapping[str, Any],
        *,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        config = RopeFrequencyConfig.coerce(config)
        self.hidden_dim = config.hidden_dim
        self.input_dim = config.input_dim
        self.max_wavelength = config.max_wavelength
        self.implementation = config.implementation
        omega, self.padding = wave_frequencies(config.hidden_dim, config.input_dim, config.max_wavelength)
        self.register_buffer("omega", omega)

    def forward(self, coords: torch.Tensor) -> Freqs:
        """``coords`` (..., input_dim) -> complex (..., hidden_dim // 2), or a tuple of ``input_dim`` angle tensors."""
        angles = self._angles(coords)
        if isinstance(angles, tuple):
            return angles
        return torch.polar(torch.ones_like(angles), angles)

    def rotations(self, coords: torch.Tensor) -> Freqs:
        """``forward``'s rotations in real numbers: for "complex", their cosines then sines, (..., hidden_dim).

        What the built-in models use: ``rope`` turns the features with real arithmetic only, which a
        compiler fuses (no complex tensor in the graph); the numbers are the complex form's.
        """
        angles = self._angles(coords)
        if isinstance(angles, tuple):
            return angles
        return torch.cat([angles.cos(), angles.sin()], dim=-1)

    def _angles(self, coords: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if coords.shape[-1] != self.input_dim:
            raise InputError(f"RopeFrequency expects coordinates with {self.input_dim} dims, got {coords.shape[-1]}")
        angles = coords.float().unsqueeze(-1) * self.omega  # (..., input_dim, per_axis)
        if self.implementation == "real":
            return tuple(torch.cat([angles, angles], dim=-1).unbind(-2))
        angles = angles.flatten(-2)
        if self.padding:
            angles = torch.nn.functional.pad(angles, (0, self.padding // 2))
        return angles

    def extra_repr(self) -> str:
        return f"hidden_dim={self.hidden_dim}, input_dim={self.input_dim}, implementation={self.implementation!r}"
