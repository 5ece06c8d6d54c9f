"""Configs of the AB-UPT model and of the data it is built for; torch-free."""

from collections.abc import Mapping
from typing import Any, Literal

from noether.core.schemas import Config, config, field, model_validator
from noether.core.types import InitWeightsMode
from noether.modeling.modules.blocks.perceiver.config import PerceiverBlockConfig
from noether.modeling.modules.blocks.transformer.config import TransformerBlockConfig
from noether.modeling.modules.encoders.supernode_pooling.config import SupernodePoolingConfig

BRANCHES = ("surface", "volume")
PHYSICS_ATTENTION = {"shared": "self_anchor", "cross": "cross_anchor", "joint": "joint_anchor"}
"""Physics block names of AB-UPT -> the anchor attention they use (``perceiver``: a Perceiver block)."""


def _fields(description: str, required: bool = False) -> Any:
    """Named fields -> channels: every field has at least one channel (bounds the schema states too)."""
    if required:
        return field(ge=1, min_length=1, description=description)
    return field(default=None, ge=1, description=description)


def field_slices(dims: Mapping[str, int]) -> dict[str, slice]:
    """Where each field's channels sit in the concatenated prediction, in order."""
    out, start = {}, 0
    for name, dim in dims.items():
        out[name] = slice(start, start + dim)
        start += dim
    return out


class FieldDimSpec(dict[str, int]):
    """Named fields and their channels, in order (1.x's class): a dict with its total and slices."""

    @property
    def total_dim(self) -> int:
        return sum(self.values())

    @property
    def field_slices(self) -> dict[str, slice]:
        return field_slices(self)


@config
class AeroDataSpecs(Config):
    """What the data holds: coordinate dimensions, and the named fields (and channels) to predict or condition on."""

    position_dim: int = field(ge=1, description="Coordinate dimensions (3 for a car in space).")
    surface_feature_dim: dict[str, int] | None = _fields("Input features per surface point, by name.")
    volume_feature_dim: dict[str, int] | None = _fields("Input features per volume point, by name.")
    surface_output_dims: dict[str, int] = _fields("Predicted surface fields -> channels, e.g. {pressure: 1}.", True)
    volume_output_dims: dict[str, int] | None = _fields("Predicted volume fields -> channels, e.g. {velocity: 3}.")
    conditioning_dims: dict[str, int] | None = _fields("Conditioning scalars -> channels (the blocks' condition).")
    use_physics_features: bool = field(default=False, description="Whether the data pipeline adds physics features.")

    def output_dims(self, branch: str) -> dict[str, int]:
        """The predicted fields of ``branch`` ("surface" or "volume") -> channels."""
        return (self.surface_output_dims if branch == "surface" else self.volume_output_dims) or {}

    @property
    def condition_dim(self) -> int | None:
        total = sum((self.conditioning_dims or {}).values())
        return total or None


def _derived_1x(name: str) -> Any:
    return field(default=None, derived=True, description=f"emmiai-noether 1.x's computed {name} (its dumps carry it).")


@config
class AnchorBranchedUPTConfig(Config):
    """AB-UPT (anchored branched universal physics transformer): geometry, physics and decoder branches.

    The geometry branch pools the car's surface points onto supernodes and runs
    ``geometry_depth`` transformer blocks. Physics blocks then run on surface and
    volume tokens (anchors, and queries that attend only to anchors): ``perceiver``
    attends to the geometry, ``shared``/``cross``/``joint`` are self/cross/joint anchor
    attention between the branches, and any other registered attention name is a
    transformer block with that attention. Surface and volume decoder blocks and a
    linear head per branch give the fields of ``data_specs``.
    """

    supernode_pooling_config: SupernodePoolingConfig = field(description="The geometry encoder.")
    transformer_block_config: TransformerBlockConfig = field(
        description="Every transformer block; use_rope is required; condition_dim is set from data_specs."
    )
    geometry_depth: int = field(ge=0, description="Transformer blocks on the geometry tokens.")
    hidden_dim: int = field(ge=1, description="Token width everywhere.")
    physics_blocks: list[str] = field(
        min_length=1, description="Physics blocks in order: perceiver, shared, cross, joint, or an attention name."
    )
    num_surface_blocks: int = field(ge=1, description="Decoder blocks of the surface branch.")
    num_volume_blocks: int = field(ge=1, description="Decoder blocks of the volume branch.")
    init_weights: InitWeightsMode = field(default="truncnormal002", description="Init of the model's own layers.")
    drop_path_rate: float = field(
        default=0.0, ge=0.0, le=1.0, description="Unused, as in 1.x; set transformer_block_config.drop_path."
    )
    data_specs: AeroDataSpecs = field(description="Coordinate dimensions and the fields to predict.")
    kind: str | None = field(default=None, description="1.x trainer metadata (class path); not used here.")
    name: str | None = field(default=None, description="1.x trainer metadata (model name); not used here.")
    optimizer_config: dict[str, Any] | None = field(default=None, description="1.x trainer metadata; not used here.")
    initializers: list[dict[str, Any]] | None = field(default=None, description="1.x trainer metadata; not used.")
    is_frozen: bool | None = field(default=False, description="1.x trainer metadata; not used here.")
    forward_properties: list[str] | None = field(factory=list, description="1.x trainer metadata; not used here.")
    rope_frequency_config: dict[str, Any] | None = _derived_1x("rope_frequency_config")
    pos_embed_config: dict[str, Any] | None = _derived_1x("pos_embed_config")
    bias_mlp_config: dict[str, Any] | None = _derived_1x("bias_mlp_config")
    perceiver_block_config: dict[str, Any] | None = field(
        default=None, derived=True, check=lambda given: PerceiverBlockConfig.from_dict(given).to_dict(),
        description="emmiai-noether 1.x's computed perceiver_block_config (its dumps carry it), compared as a config.",
    )  # fmt: skip
    surface_decoder_config: dict[str, Any] | None = _derived_1x("surface_decoder_config")
    volume_decoder_config: dict[str, Any] | None = _derived_1x("volume_decoder_config")

    @model_validator
    def validate_model(self) -> None:
        block, pooling = self.transformer_block_config, self.supernode_pooling_config
        for name, width in (
            ("supernode_pooling_config", pooling.hidden_dim),
            ("transformer_block_config", block.hidden_dim),
        ):
            if width != self.hidden_dim:
                raise ValueError(f"{name}.hidden_dim ({width}) must match model hidden_dim ({self.hidden_dim})")
        if not block.use_rope:
            raise ValueError("AB-UPT requires RoPE: set transformer_block_config.use_rope")
        if self.data_specs.volume_output_dims is None:
            raise ValueError("AB-UPT predicts surface and volume fields: set data_specs.volume_output_dims")
        if block.condition_dim != self.data_specs.condition_dim:  # the condition is the conditioning scalars
            self.transformer_block_config = block.model_copy(update={"condition_dim": self.data_specs.condition_dim})
        for name, value in self.sub_configs().items():
            setattr(self, name, value)

    def sub_configs(self) -> dict[str, Any]:
        """The sub-module configs, as dicts (1.x computed these and wrote them into its dumps)."""
        h, block, specs = self.hidden_dim, self.transformer_block_config, self.data_specs
        factor = block.mlp_expansion_factor

        def head(width: int) -> dict[str, Any]:
            return {"input_dim": h, "output_dim": width, "ndim": None, "bias": True, "optional": False,
                    "init_weights": "truncnormal002"}  # fmt: skip

        perceiver = {"hidden_dim": h, "num_heads": block.num_heads, "mlp_expansion_factor": factor,
                     "mlp_hidden_dim": h * factor if factor else block.mlp_hidden_dim, "use_rope": block.use_rope,
                     "condition_dim": block.condition_dim}  # fmt: skip
        return {
            "rope_frequency_config": {"hidden_dim": h // block.num_heads, "input_dim": specs.position_dim,
                                      "max_wavelength": 10000, "implementation": "complex"},
            "pos_embed_config": {"hidden_dim": h, "input_dim": specs.position_dim, "max_wavelength": 10000},
            "bias_mlp_config": {"input_dim": h, "output_dim": h, "hidden_dim": h, "num_layers": 0,
                                "activation": "GELU", "init_weights": "truncnormal002"},
            "perceiver_block_config": PerceiverBlockConfig.from_dict(perceiver).to_dict(),
            "surface_decoder_config": head(sum(specs.output_dims("surface").values())),
            "volume_decoder_config": head(sum(specs.output_dims("volume").values())),
        }  # fmt: skip

    def physics_block(self, name: str) -> tuple[Literal["perceiver", "transformer"], dict[str, Any]]:
        """What physics block ``name`` is: a Perceiver block, or a transformer block config (a dict)."""
        if name == "perceiver":
            return "perceiver", dict(self.perceiver_block_config or {})
        attention = PHYSICS_ATTENTION.get(name, name)
        arguments = {"branches": list(BRANCHES)} if attention in PHYSICS_ATTENTION.values() else {}
        block = self.transformer_block_config.to_dict()
        return "transformer", {**block, "attention_constructor": attention, "attention_arguments": arguments}

    def decoder_block(self, branch: str) -> dict[str, Any]:
        """The config of the decoder blocks of ``branch``: self-anchor attention within it."""
        block = self.transformer_block_config.to_dict()
        return {**block, "attention_constructor": "self_anchor", "attention_arguments": {"branches": [branch]}}
