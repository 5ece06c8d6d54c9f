from typing import Any, ClassVar

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


def _derived_1x(name: str) -> Any:
    return field(
        default=None, derived=True,
        description=f"emmiai-noether 1.x's computed {name}, derived from the fields (1.x dumps carry it).",
    )  # fmt: skip


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
    linear_projection_config: dict[str, Any] | None = _derived_1x("linear_projection_config")
    layerscale_config: dict[str, Any] | None = _derived_1x("layerscale_config")
    drop_path_config: dict[str, Any] | None = _derived_1x("drop_path_config")
    modulation_linear_projection_config: dict[str, Any] | None = _derived_1x("modulation_linear_projection_config")
    up_act_down_mlp_config: dict[str, Any] | None = _derived_1x("up_act_down_mlp_config")

    modulated_inputs: ClassVar[int] = 1
    """Attention inputs the condition scales and shifts (the modulation is ``(2 * this + 4) * hidden_dim`` wide)."""

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
        self.derive_inputs()
        for name, value in self.sub_configs_1x().items():
            setattr(self, name, value)

    def derive_inputs(self) -> None:
        """Set input widths left to the config (subclasses), before the 1.x sub-configs are derived."""

    def sub_configs_1x(self) -> dict[str, Any]:
        """The sub-configs 1.x computed from a block config (and wrote into its dumps), as 1.x dumped them."""
        h = self.hidden_dim

        def projection(fan_in: int, fan_out: int, bias: bool, init: str) -> dict[str, Any]:
            return {"input_dim": fan_in, "output_dim": fan_out, "ndim": None, "bias": bias, "optional": False,
                    "init_weights": init}  # fmt: skip

        modulation = None
        if self.condition_dim is not None:
            modulation = projection(self.condition_dim, (2 * self.modulated_inputs + 4) * h, True, "zeros")
        return {
            "linear_projection_config": projection(h, h, self.bias, self.init_weights),
            "layerscale_config": {"hidden_dim": h, "init_values": self.layerscale},
            "drop_path_config": {"drop_prob": self.drop_path, "scale_by_keep": True},
            "modulation_linear_projection_config": modulation,
            "up_act_down_mlp_config": {"input_dim": h, "hidden_dim": self.mlp_hidden_dim, "bias": self.bias,
                                       "init_weights": self.init_weights},
        }  # fmt: skip

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
