from noether._lazy import lazy_exports
from noether.modeling.modules.blocks.perceiver.config import PerceiverBlockConfig

__all__ = ["PerceiverBlock", "PerceiverBlockConfig"]
__getattr__, __dir__ = lazy_exports(globals(), {"PerceiverBlock": f"{__name__}.module:PerceiverBlock"})
