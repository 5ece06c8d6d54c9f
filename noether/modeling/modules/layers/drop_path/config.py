from noether.core.schemas import Config, config, field


@config
class UnquantizedDropPathConfig(Config):
    """Stochastic depth (Huang et al. 2016): drop a residual branch per sample while training."""

    drop_prob: float = field(default=0.0, ge=0.0, le=1.0, description="Probability of dropping the branch.")
    scale_by_keep: bool = field(default=True, description="Divide kept branches by the keep probability.")
