from noether._lazy import lazy_exports
from noether.modeling.modules.mlp.mlp.config import MLPConfig

__all__ = ["MLP", "MLPConfig"]
__getattr__, __dir__ = lazy_exports(globals(), {"MLP": f"{__name__}.module:MLP"})
