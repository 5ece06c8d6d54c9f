from noether.core.schemas import Config, config, field
from noether.core.types import InitWeightsMode


@config
class ScalarsConditionerConfig(Config):
    """A conditioning vector (for the blocks' adaLN modulation) from a few scalars such as inflow velocity."""

    hidden_dim: int = field(ge=1, description="Width of each scalar's sin-cos embedding and MLP.")
    num_scalars: int = field(ge=1, description="How many scalars are embedded.")
    condition_dim: int | None = field(default=None, ge=1, description="Output width; None: 4 * hidden_dim.")
    init_weights: InitWeightsMode = field(default="truncnormal002", description="Weight initialisation of the MLPs.")
