"""Modules on torch, each config next to its module class; configs import without torch."""

from noether._lazy import lazy_exports
from noether.modeling.modules import attention, layers
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
from noether.modeling.modules.layers import LinearProjectionConfig, RopeFrequencyConfig

_LAZY = {
    **{name: f"{attention.__name__}:{name}" for name in attention._MODULES},
    "KVCache": f"{attention.__name__}:KVCache",
    "LinearProjection": f"{layers.__name__}:LinearProjection",
    "RopeFrequency": f"{layers.__name__}:RopeFrequency",
}

__all__ = [
    "CrossAnchorAttentionConfig",
    "DotProductAttentionConfig",
    "JointAnchorAttentionConfig",
    "LinearProjectionConfig",
    "MixedAttentionConfig",
    "MultiBranchAnchorAttentionConfig",
    "PerceiverAttentionConfig",
    "RopeFrequencyConfig",
    "TransolverAttentionConfig",
    "TransolverPlusPlusAttentionConfig",
    *_LAZY,
]
__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
