"""Modules on torch, each config next to its module class; configs import without torch."""

from typing import TYPE_CHECKING

from noether._lazy import lazy_exports
from noether.modeling.modules import attention, blocks, layers, mlp
from noether.modeling.modules.attention import (
    CrossAnchorAttentionConfig,
    DotProductAttentionConfig,
    JointAnchorAttentionConfig,
    MixedAttentionConfig,
    MultiBranchAnchorAttentionConfig,
    PerceiverAttentionConfig,
    TransolverAttentionConfig,
    TransolverPlusPlusAttentionConfig,
)
from noether.modeling.modules.blocks import PerceiverBlockConfig, TransformerBlockConfig, TransformerStackConfig
from noether.modeling.modules.layers import (
    ContinuousSincosEmbeddingConfig,
    LayerScaleConfig,
    LinearProjectionConfig,
    RopeFrequencyConfig,
    UnquantizedDropPathConfig,
)
from noether.modeling.modules.mlp import MLPConfig, UpActDownMLPConfig

_LAZY = {
    **{name: f"{attention.__name__}:{name}" for name in (*attention._MODULES, "KVCache", "MultiHeadAttentionBase")},
    **{name: f"{layers.__name__}:{name}" for name in layers._MODULES},
    **{name: f"{blocks.__name__}:{name}" for name in ("PerceiverBlock", "TransformerBlock", "TransformerStack")},
    "MLP": f"{mlp.__name__}:MLP",
    "UpActDownMlp": f"{mlp.__name__}:UpActDownMlp",
}

__all__ = [
    "ContinuousSincosEmbeddingConfig",
    "CrossAnchorAttentionConfig",
    "DotProductAttentionConfig",
    "JointAnchorAttentionConfig",
    "LayerScaleConfig",
    "LinearProjectionConfig",
    "MLPConfig",
    "MixedAttentionConfig",
    "MultiBranchAnchorAttentionConfig",
    "PerceiverAttentionConfig",
    "PerceiverBlockConfig",
    "RopeFrequencyConfig",
    "TransformerBlockConfig",
    "TransformerStackConfig",
    "TransolverAttentionConfig",
    "TransolverPlusPlusAttentionConfig",
    "UnquantizedDropPathConfig",
    "UpActDownMLPConfig",
    *_LAZY,
]
__getattr__, __dir__ = lazy_exports(globals(), _LAZY)

if TYPE_CHECKING:  # the lazily exported classes, for type checkers and IDEs
    from noether.modeling.modules.attention.anchor.module import (
        CrossAnchorAttention,
        JointAnchorAttention,
        MultiBranchAnchorAttention,
        SelfAnchorAttention,
    )
    from noether.modeling.modules.attention.dot_product.module import DotProductAttention
    from noether.modeling.modules.attention.heads import MultiHeadAttentionBase
    from noether.modeling.modules.attention.kv_cache import KVCache
    from noether.modeling.modules.attention.mixed.module import MixedAttention
    from noether.modeling.modules.attention.perceiver.module import PerceiverAttention
    from noether.modeling.modules.attention.transolver.module import TransolverAttention
    from noether.modeling.modules.attention.transolver_plusplus.module import TransolverPlusPlusAttention
    from noether.modeling.modules.blocks.perceiver.module import PerceiverBlock
    from noether.modeling.modules.blocks.stack.module import TransformerStack
    from noether.modeling.modules.blocks.transformer.module import TransformerBlock
    from noether.modeling.modules.layers.continuous_sincos_embed.module import ContinuousSincosEmbed
    from noether.modeling.modules.layers.drop_path.module import UnquantizedDropPath
    from noether.modeling.modules.layers.layer_scale.module import LayerScale
    from noether.modeling.modules.layers.linear_projection.module import LinearProjection
    from noether.modeling.modules.layers.rope_frequency.module import RopeFrequency
    from noether.modeling.modules.mlp.mlp.module import MLP
    from noether.modeling.modules.mlp.up_act_down_mlp.module import UpActDownMlp
