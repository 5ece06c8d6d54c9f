from noether._lazy import lazy_exports
from noether.modeling.modules.blocks.stack.config import TransformerStackConfig

__all__ = ["TransformerStack", "TransformerStackConfig"]
__getattr__, __dir__ = lazy_exports(globals(), {"TransformerStack": f"{__name__}.module:TransformerStack"})
