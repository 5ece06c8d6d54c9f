from noether.core.schemas import config, field
from noether.core.schemas.modules.attention import AttentionConfig


@config(extra="forbid")
class TransolverAttentionConfig(AttentionConfig):
    """Physics-attention of Transolver (Wu et al., ICML 2024)."""

    num_slices: int = field(default=512, ge=1, description="Slices (physics states) the tokens are softly assigned to.")
