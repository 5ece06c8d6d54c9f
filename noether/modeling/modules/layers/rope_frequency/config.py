from typing import Literal

from noether.core.schemas import Config, config, field


@config
class RopeFrequencyConfig(Config):
    """Frequencies of rotary embeddings for ``input_dim``-dimensional coordinates."""

    hidden_dim: int = field(ge=2, description="Features to rotate (usually the head dimension).")
    input_dim: int = field(ge=1, description="Coordinate dimensions, e.g. 3 for points in space.")
    max_wavelength: float = field(default=10000.0, ge=1.0, description="Longest wavelength of the sinusoids.")
    implementation: Literal["real", "complex"] = field(
        default="real",
        description="'complex': unit complex rotations of feature pairs (faster); 'real': per-axis angles rotating"
        " features by halves (emmiai-noether 1.x's default, and its numbers).",
    )
