from typing import Any

from noether.core.schemas import Config, config, field, model_validator
from noether.core.types import InitWeightsMode

_SHARED = ("hidden_dim", "num_heads", "use_rope", "init_weights", "bias")
"""Block options the attention's config takes from the block itself."""


def _own_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    shared = [k for k in _SHARED if k in arguments]
    if shared:
        raise ValueError(f"{', '.join(shared)} come from the block itself; set them on the block, not here")
    return arguments


def _layer_norm_only(value: Any) -> None:
    """Early 1.x configs named the norm class; only LayerNorm was ever usable, so that is all it may name."""
    named = value if isinstance(value, str) else f"{getattr(value, '__module__', '')}.{getattr(value, '__name__', '')}"
    if (
        value is not None
        and named not in ("LayerNorm", "nn.LayerNorm", "torch.nn.LayerNorm")
        and not (named.startswith("torch.nn.") and named.endswith(".LayerNorm"))
    ):
        raise ValueError(
            f"blocks always use torch.nn.LayerNorm; normalization_constructor may only name it, got {value!r}"
        )
    return None


@config
class BlockOptions(Config):
    """Options every block shares."""

    hidden_dim: int = field(ge=1, description="Token width.")
    num_heads: int = field(ge=1, description="Attention heads; must divide hidden_dim.")
    mlp_hidden_dim: int | None = field(
        default=None, ge=1, description="MLP width; None: hidden_dim * mlp_expansion_factor (set on validation)."
    )
    mlp_expansion_factor: int | None = field(default=None, ge=1, description="MLP width as a multiple of hidden_dim.")
    drop_path: float = field(default=0.0, ge=0.0, le=1.0, description="Stochastic-depth probability per branch.")
    attention_arguments: dict[str, Any] = field(
        factory=dict, check=_own_arguments,
        description="Extra options for the attention's config (say branches, num_slices); checked when built.",
    )  # fmt: skip
    layerscale: float | None = field(default=None, ge=0.0, description="LayerScale init value; None: no LayerScale.")
    condition_dim: int | None = field(
        default=None, ge=1, description="Width of a conditioning vector for adaLN modulation (DiT); None: none."
    )
    bias: bool = field(default=True, description="Biases in norms and projections.")
    eps: float = field(default=1e-6, ge=0.0, description="LayerNorm epsilon.")
    init_weights: InitWeightsMode = field(default="truncnormal002", description="Weight initialisation scheme.")
    use_rope: bool = field(default=False, description="RoPE in the attention (pass freqs to forward).")
    normalization_constructor: Any = field(
        default=None, check=_layer_norm_only, json_schema={"enum": [None, "LayerNorm", "torch.nn.LayerNorm"]},
        description="Accepted for early emmiai-noether 1.x configs: only LayerNorm (always used); stored as None.",
    )  # fmt: skip

    @model_validator
    def validate_block(self) -> None:
        if self.hidden_dim % self.num_heads != 0:
            raise ValueError(
                f"The 'hidden_dim' must be divisible by 'num_heads', got {self.hidden_dim} and {self.num_heads}"
            )
        if self.mlp_hidden_dim is None:
            if self.mlp_expansion_factor is None:
                raise ValueError("set mlp_hidden_dim or mlp_expansion_factor")
            self.mlp_hidden_dim = self.hidden_dim * self.mlp_expansion_factor

    def attention_options(self) -> dict[str, Any]:
        """The attention's config: the shared options, then ``attention_arguments``."""
        shared = {name: getattr(self, name) for name in _SHARED}
        return {**shared, **self.attention_arguments}


@config
class TransformerBlockConfig(BlockOptions):
    """Pre-norm transformer block: attention and MLP, each in a residual branch."""

    attention_constructor: str = field(
        default="dot_product", description="Registered attention name (built-in or plugin); checked when built."
    )
