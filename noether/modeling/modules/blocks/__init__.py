"""Transformer and Perceiver blocks with pluggable attention, and block stacks."""

from noether._lazy import lazy_exports
from noether.modeling.modules.blocks.perceiver import PerceiverBlockConfig
from noether.modeling.modules.blocks.stack import TransformerStackConfig
from noether.modeling.modules.blocks.transformer import TransformerBlockConfig

__all__ = [
    "PerceiverBlock",
    "PerceiverBlockConfig",
    "TransformerBlock",
    "TransformerBlockConfig",
    "TransformerStack",
    "TransformerStackConfig",
]
__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        "PerceiverBlock": f"{__name__}.perceiver.module:PerceiverBlock",
        "TransformerBlock": f"{__name__}.transformer.module:TransformerBlock",
        "TransformerStack": f"{__name__}.stack.module:TransformerStack",
    },
)
