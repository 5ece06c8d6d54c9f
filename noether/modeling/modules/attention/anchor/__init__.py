from noether._lazy import lazy_exports
from noether.modeling.modules.attention.anchor.config import (
    CrossAnchorAttentionConfig,
    JointAnchorAttentionConfig,
    MultiBranchAnchorAttentionConfig,
)

__all__ = [
    "CrossAnchorAttention",
    "CrossAnchorAttentionConfig",
    "JointAnchorAttention",
    "JointAnchorAttentionConfig",
    "MultiBranchAnchorAttention",
    "MultiBranchAnchorAttentionConfig",
    "SelfAnchorAttention",
]
__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        name: f"{__name__}.module:{name}"
        for name in (
            "CrossAnchorAttention",
            "JointAnchorAttention",
            "MultiBranchAnchorAttention",
            "SelfAnchorAttention",
        )
    },
)
