from typing import Literal

from noether.core.schemas import config, field
from noether.modeling.modules.attention.transolver.config import TransolverAttentionConfig


@config(extra="forbid")
class TransolverPlusPlusAttentionConfig(TransolverAttentionConfig):
    """Transolver++ (Luo et al., 2025): eidetic physics states for million-point geometries."""

    use_overparameterization: bool = field(
        default=True,
        description="Temperature from Transolver++'s two-layer MLP (head_dim -> num_slices -> 1, GELU after each);"
        " False: one linear layer and temperature_activation.",
    )
    use_adaptive_temperature: bool = field(
        default=True, description="Per-token temperature from the token's features plus a per-head bias."
    )
    temperature_activation: Literal["sigmoid", "softplus", "exp"] | None = field(
        default="softplus",
        description="Activation after the one-layer temperature (use_overparameterization false); the two-layer MLP"
        " ends in GELU, as in Transolver++ and emmiai-noether 1.x. None: none.",
    )
    use_gumbel_softmax: bool = field(
        default=True, description="Gumbel-softmax slice assignment in training (plain softmax in eval)."
    )
