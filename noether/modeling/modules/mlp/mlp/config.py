from noether.core.schemas import Config, config, field
from noether.core.types import ActivationName, InitWeightsMode


@config
class MLPConfig(Config):
    """Input layer, ``num_layers`` hidden layers, output layer; one activation after every layer but the last."""

    input_dim: int = field(ge=1, description="Input features.")
    hidden_dim: int = field(ge=1, description="Width of every hidden layer.")
    output_dim: int | None = field(default=None, ge=1, description="Output features; None: input_dim.")
    num_layers: int = field(default=0, ge=0, description="Hidden-to-hidden layers between input and output layer.")
    activation: ActivationName = field(default="GELU", description="Non-linearity between layers.")
    bias: bool = field(default=True, description="Learn biases.")
    init_weights: InitWeightsMode = field(
        default="truncnormal002", description="Weight initialisation scheme; '-identity' zeroes the output layer."
    )
