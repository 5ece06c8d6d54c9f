"""The config of neighbourhood attention on irregular points (emmiai-noether 1.x had the config, no module).

Kept so that 1.x config files that carry it still load; no attention module
implements it, here or in 1.x, so it is not a registry name.
"""

from noether.core.schemas import config, field
from noether.core.schemas.modules.attention import AttentionConfig


@config(extra="forbid")
class IrregularNatAttentionConfig(AttentionConfig):
    """Neighbourhood attention (NAT) over a radius graph of irregular points."""

    input_dim: int = field(ge=0, description="Width of the input features.")
    radius: float = field(default=0.1, ge=0.0, description="Radius of the neighbourhood graph.")
    max_degree: int = field(default=16, ge=1, description="Most neighbours per point.")
    relpos_mlp_hidden_dim: int = field(default=32, ge=1, description="Hidden width of the relative-position bias MLP.")
    relpos_mlp_dropout: float = field(
        default=0.0, ge=0.0, le=1.0, description="Dropout in the relative-position bias MLP."
    )
