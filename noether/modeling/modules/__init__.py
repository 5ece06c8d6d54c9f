"""Modules on torch, each config next to its module class; configs import without torch."""

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
