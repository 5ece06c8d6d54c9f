from noether._lazy import lazy_exports
from noether.modeling.modules.attention.perceiver.config import PerceiverAttentionConfig

__all__ = ["PerceiverAttention", "PerceiverAttentionConfig"]
__getattr__, __dir__ = lazy_exports(globals(), {"PerceiverAttention": f"{__name__}.module:PerceiverAttention"})
