"""Config of linear attention. Its entry point declares the name ``linear``; ``module_class`` names the module."""

from typing import ClassVar, Literal

from noether.plugin import AttentionConfig, config, field, model_validator


@config(extra="forbid")
class LinearAttentionConfig(AttentionConfig):
    """Softmax-free linear attention: O(N) in the number of tokens."""

    module_class: ClassVar[str] = "noether_linear_attention.module:LinearAttention"  # imported only when used

    feature_map: Literal["elu", "relu", "softplus"] = field(
        default="elu", description="Positive feature map phi applied to queries and keys (elu: elu(x) + 1)."
    )
    eps: float = field(default=1e-6, ge=0.0, description="Added to the normaliser, against division by zero.")

    @model_validator
    def validate_no_rope(self) -> None:
        if self.use_rope:
            raise ValueError("linear attention does not support use_rope (rotations break its positive features)")
