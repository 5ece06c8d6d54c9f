from typing import Any, ClassVar

from noether.core.schemas import config, field
from noether.modeling.modules.blocks.transformer.config import BlockOptions, _derived_1x


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

    perceiver_attention_config: dict[str, Any] | None = _derived_1x("perceiver_attention_config")

    modulated_inputs: ClassVar[int] = 2  # queries and key/values

    def derive_inputs(self) -> None:
        if self.attention_constructor == "dot_product":  # 1.x dumps: inherited from its block config, never used
            self.attention_constructor = "perceiver"
        if self.condition_dim is None:
            if self.kv_dim is None:
                self.kv_dim = self.hidden_dim
        elif self.kv_dim not in (None, self.hidden_dim):
            raise ValueError(
                f"a conditioned PerceiverBlock scales and shifts the key/values with hidden_dim-wide modulation, "
                f"so kv_dim must be None or hidden_dim ({self.hidden_dim}), got {self.kv_dim}"
            )

    def sub_configs_1x(self) -> dict[str, Any]:
        h = self.hidden_dim
        attention = {"hidden_dim": h, "num_heads": self.num_heads, "use_rope": self.use_rope, "dropout": 0.0,
                     "init_weights": self.init_weights, "bias": self.bias, "head_dim": h // self.num_heads,
                     "kv_dim": self.kv_dim or h}  # fmt: skip
        return {**super().sub_configs_1x(), "perceiver_attention_config": attention}
