from typing import Literal

from noether.core.schemas import Config, config, field, model_validator
from noether.core.types import InitWeightsMode


@config
class SupernodePoolingConfig(Config):
    """Pool a point cloud onto supernodes: each supernode gathers messages from its radius or kNN neighbours."""

    hidden_dim: int = field(ge=1, description="Width of the position embeddings, messages and supernode tokens.")
    input_dim: int = field(ge=1, description="Coordinate dimensions (3 for points in space).")
    radius: float | None = field(default=None, ge=0.0, description="Neighbours within this distance; or set k.")
    k: int | None = field(default=None, ge=1, description="The k nearest neighbours; or set radius.")
    max_degree: int = field(default=32, ge=1, description="Most neighbours per supernode (radius graph).")
    spool_pos_mode: Literal["abspos", "relpos", "absrelpos"] = field(
        default="abspos",
        description="Messages from absolute positions, relative positions (offset and distance), or both.",
    )
    init_weights: InitWeightsMode = field(default="truncnormal002", description="Weight initialisation scheme.")
    readd_supernode_pos: bool = field(
        default=True, description="Concatenate each supernode's position embedding after pooling, project back."
    )
    aggregation: Literal["mean", "sum"] = field(default="mean", description="How a supernode combines its messages.")
    message_mode: Literal["mlp", "linear", "identity"] = field(
        default="mlp", description="Messages by a 2-layer MLP, one linear layer, or as they are."
    )
    input_features_dim: int | None = field(
        default=None, ge=0, description="Features per point besides its position; None: positions only."
    )

    @model_validator
    def validate_neighbourhood(self) -> None:
        if (self.radius is None) == (self.k is None):
            raise ValueError("set exactly one of radius and k (Either radius or k has to be set, not both)")
        if self.spool_pos_mode == "absrelpos" and self.input_features_dim is not None:
            raise ValueError("spool_pos_mode 'absrelpos' takes no input features; use 'abspos' or 'relpos'")
