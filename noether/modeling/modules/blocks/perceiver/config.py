from noether.core.schemas import config, field, model_validator
from noether.modeling.modules.blocks.transformer.config import BlockOptions


@config
class PerceiverBlockConfig(BlockOptions):
    """Pre-norm cross-attention block: queries attend to a key/value sequence, then an MLP."""

    kv_dim: int | None = field(
        default=None, ge=1,
        description="Width of the key/value input; None: hidden_dim (set on validation unless conditioned, as in 1.x).",
    )  # fmt: skip
    attention_constructor: str = field(
        default="perceiver", description="Registered cross-attention name; checked when built."
    )

    @model_validator
    def validate_kv_dim(self) -> None:
        if self.condition_dim is None:
            if self.kv_dim is None:
                self.kv_dim = self.hidden_dim
        elif self.kv_dim not in (None, self.hidden_dim):
            raise ValueError(
                f"a conditioned PerceiverBlock scales and shifts the key/values with hidden_dim-wide modulation, "
                f"so kv_dim must be None or hidden_dim ({self.hidden_dim}), got {self.kv_dim}"
            )
