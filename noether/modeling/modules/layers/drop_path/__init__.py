from noether._lazy import lazy_exports
from noether.modeling.modules.layers.drop_path.config import UnquantizedDropPathConfig

__all__ = ["UnquantizedDropPath", "UnquantizedDropPathConfig"]
__getattr__, __dir__ = lazy_exports(globals(), {"UnquantizedDropPath": f"{__name__}.module:UnquantizedDropPath"})
