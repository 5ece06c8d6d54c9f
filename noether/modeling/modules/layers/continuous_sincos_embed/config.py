from noether.core.schemas import Config, config, field


@config
class ContinuousSincosEmbeddingConfig(Config):
    """Sine-cosine features of continuous coordinates with any number of dimensions."""

    hidden_dim: int = field(ge=1, description="Output features.")
    input_dim: int = field(ge=1, description="Coordinate dimensions (1 for a sequence, 3 for points in space).")
    max_wavelength: float = field(default=10000.0, ge=1.0, description="Longest wavelength of the sinusoids.")
