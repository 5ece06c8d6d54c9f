from noether.core.schemas import Config, config, field, model_validator
from noether.core.types import ActivationName, InitWeightsMode


@config
class UpActDownMLPConfig(Config):
    """The transformer feed-forward: up-projection, activation, down-projection."""

    input_dim: int = field(ge=1, description="Input and output features.")
    hidden_dim: int = field(ge=1, description="Width of the expansion; must exceed input_dim.")
    activation: ActivationName = field(default="GELU", description="Non-linearity between the projections.")
    bias: bool = field(default=True, description="Learn biases.")
    init_weights: InitWeightsMode = field(
        default="truncnormal002", description="Weight initialisation; '-identity' zeroes fc2."
    )

    @model_validator
    def validate_expansion(self) -> None:
        if self.hidden_dim <= self.input_dim:
            raise ValueError(
                f"hidden_dim ({self.hidden_dim}) must exceed input_dim ({self.input_dim}) in an up-act-down MLP"
            )
