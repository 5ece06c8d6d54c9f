from noether.core.schemas import Config, config, field


@config
class LayerScaleConfig(Config):
    """Per-channel scaling of a residual branch (CaiT, Touvron et al. 2021)."""

    hidden_dim: int = field(ge=1, description="Channels.")
    init_values: float | None = field(default=1e-5, ge=0.0, description="Initial scale; None: identity, no parameter.")
