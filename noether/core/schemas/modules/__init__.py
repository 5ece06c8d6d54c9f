"""Back-compat namespace for module configs.

The base attention schemas are exported here directly. Every concrete module
config lives next to its module class in :mod:`noether.modeling.modules` and is
re-exported here lazily (the identical class), so old import paths keep working
while importing this package stays free of torch and of modeling code.
"""

from noether._lazy import lazy_exports
from noether.core.schemas.modules.attention import AttentionConfig, AttentionPattern, TokenSpec

_ATTENTION = "noether.modeling.modules.attention"
_LAYERS = "noether.modeling.modules.layers"
_MLP = "noether.modeling.modules.mlp"
_BLOCKS = "noether.modeling.modules.blocks"

MODULE_CONFIGS: dict[str, str] = {
    "DotProductAttentionConfig": f"{_ATTENTION}.dot_product.config:DotProductAttentionConfig",
    "PerceiverAttentionConfig": f"{_ATTENTION}.perceiver.config:PerceiverAttentionConfig",
    "TransolverAttentionConfig": f"{_ATTENTION}.transolver.config:TransolverAttentionConfig",
    "TransolverPlusPlusAttentionConfig": f"{_ATTENTION}.transolver_plusplus.config:TransolverPlusPlusAttentionConfig",
    "MixedAttentionConfig": f"{_ATTENTION}.mixed.config:MixedAttentionConfig",
    "MultiBranchAnchorAttentionConfig": f"{_ATTENTION}.anchor.config:MultiBranchAnchorAttentionConfig",
    "CrossAnchorAttentionConfig": f"{_ATTENTION}.anchor.config:CrossAnchorAttentionConfig",
    "JointAnchorAttentionConfig": f"{_ATTENTION}.anchor.config:JointAnchorAttentionConfig",
    "LinearProjectionConfig": f"{_LAYERS}.linear_projection.config:LinearProjectionConfig",
    "RopeFrequencyConfig": f"{_LAYERS}.rope_frequency.config:RopeFrequencyConfig",
    "LayerScaleConfig": f"{_LAYERS}.layer_scale.config:LayerScaleConfig",
    "UnquantizedDropPathConfig": f"{_LAYERS}.drop_path.config:UnquantizedDropPathConfig",
    "ContinuousSincosEmbeddingConfig": f"{_LAYERS}.continuous_sincos_embed.config:ContinuousSincosEmbeddingConfig",
    "MLPConfig": f"{_MLP}.mlp.config:MLPConfig",
    "UpActDownMLPConfig": f"{_MLP}.up_act_down_mlp.config:UpActDownMLPConfig",
    "TransformerBlockConfig": f"{_BLOCKS}.transformer.config:TransformerBlockConfig",
    "PerceiverBlockConfig": f"{_BLOCKS}.perceiver.config:PerceiverBlockConfig",
    "TransformerStackConfig": f"{_BLOCKS}.stack.config:TransformerStackConfig",
}
"""Exported name -> ``"module:attr"`` of every concrete module config (torch-free modules)."""

__all__ = ["AttentionConfig", "AttentionPattern", "TokenSpec", *MODULE_CONFIGS]

__getattr__, __dir__ = lazy_exports(globals(), MODULE_CONFIGS)
