from noether._lazy import lazy_exports
from noether.modeling.modules.attention.dot_product.config import DotProductAttentionConfig

__all__ = ["DotProductAttention", "DotProductAttentionConfig"]
__getattr__, __dir__ = lazy_exports(globals(), {"DotProductAttention": f"{__name__}.module:DotProductAttention"})
