"""Config of linear attention, and the plugin hook (this module is what noether registers with pluggy)."""

from collections.abc import Mapping
from typing import Literal

from noether.core.schemas import config, field, model_validator
from noether.core.schemas.modules import AttentionConfig
from noether.registry import AttentionImplementation, hookimpl


@config(extra="forbid")
class LinearAttentionConfig(AttentionConfig):
    """Softmax-free linear attention: O(N) in the number of tokens."""

    feature_map: Literal["elu", "relu", "softplus"] = field(
        default="elu", description="Positive feature map phi applied to queries and keys (elu: elu(x) + 1)."
    )
    eps: float = field(default=1e-6, ge=0.0, description="Added to the normaliser, against division by zero.")

    @model_validator
    def validate_no_rope(self) -> None:
        if self.use_rope:
            raise ValueError("linear attention does not support use_rope (rotations break its positive features)")


@hookimpl
def noether_attention_implementations() -> Mapping[str, AttentionImplementation]:
    return {"linear": AttentionImplementation(module="noether_linear_attention.module:LinearAttention",
                                              config=LinearAttentionConfig)}  # fmt: skip
