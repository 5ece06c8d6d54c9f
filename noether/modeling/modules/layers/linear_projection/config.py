from typing import Literal

from noether.core.schemas import Config, config, field
from noether.core.types import InitWeightsMode


@config
class LinearProjectionConfig(Config):
    """A linear map over the last dimension, or a 1x1 convolution over 1-3 spatial dims."""

    input_dim: int = field(ge=1, description="Input features.")
    output_dim: int = field(ge=1, description="Output features.")
    bias: bool = field(default=True, description="Learn an additive bias.")
    init_weights: InitWeightsMode = field(
        default="torch", description="Weight initialisation scheme; '-identity' zeroes the projection."
    )
    ndim: Literal[1, 2, 3] | None = field(
        default=None, description="None: nn.Linear on (..., input_dim); 1-3: 1x1 ConvNd on (batch, channels, ...)."
    )
    optional: bool = field(default=False, description="Use nn.Identity when input_dim == output_dim.")
