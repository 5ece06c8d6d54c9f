from noether._lazy import lazy_exports
from noether.modeling.modules.attention.mixed.config import MixedAttentionConfig

__all__ = ["MixedAttention", "MixedAttentionConfig"]
__getattr__, __dir__ = lazy_exports(globals(), {"MixedAttention": f"{__name__}.module:MixedAttention"})
