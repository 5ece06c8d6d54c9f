from noether._lazy import lazy_exports
from noether.modeling.modules.blocks.transformer.config import TransformerBlockConfig

__all__ = ["TransformerBlock", "TransformerBlockConfig"]
__getattr__, __dir__ = lazy_exports(globals(), {"TransformerBlock": f"{__name__}.module:TransformerBlock"})
