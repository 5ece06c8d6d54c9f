"""Attention modules, each with its config beside it, and the KV cache of anchor attention."""

from noether._lazy import lazy_exports
from noether.modeling.modules.attention.anchor import (
    CrossAnchorAttentionConfig,
    JointAnchorAttentionConfig,
    MultiBranchAnchorAttentionConfig,
)
from noether.modeling.modules.attention.dot_product import DotProductAttentionConfig
from noether.modeling.modules.attention.mixed import MixedAttentionConfig
from noether.modeling.modules.attention.perceiver import PerceiverAttentionConfig
from noether.modeling.modules.attention.transolver import TransolverAttentionConfig
from noether.modeling.modules.attention.transolver_plusplus import TransolverPlusPlusAttentionConfig

_MODULES = {
    "DotProductAttention": "dot_product",
    "PerceiverAttention": "perceiver",
    "TransolverAttention": "transolver",
    "TransolverPlusPlusAttention": "transolver_plusplus",
    "MixedAttention": "mixed",
    "MultiBranchAnchorAttention": "anchor",
    "SelfAnchorAttention": "anchor",
    "CrossAnchorAttention": "anchor",
    "JointAnchorAttention": "anchor",
}

__all__ = [
    "CrossAnchorAttentionConfig",
    "DotProductAttentionConfig",
    "JointAnchorAttentionConfig",
    "KVCache",
    "MixedAttentionConfig",
    "MultiHeadAttentionBase",
    "MultiBranchAnchorAttentionConfig",
    "PerceiverAttentionConfig",
    "TransolverAttentionConfig",
    "TransolverPlusPlusAttentionConfig",
    *_MODULES,
]
__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        "KVCache": f"{__name__}.kv_cache:KVCache",
        "MultiHeadAttentionBase": f"{__name__}.heads:MultiHeadAttentionBase",
        **{name: f"{__name__}.{package}.module:{name}" for name, package in _MODULES.items()},
    },
)
