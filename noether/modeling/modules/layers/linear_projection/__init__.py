from noether._lazy import lazy_exports
from noether.modeling.modules.layers.linear_projection.config import LinearProjectionConfig

__all__ = ["LinearProjection", "LinearProjectionConfig"]
__getattr__, __dir__ = lazy_exports(globals(), {"LinearProjection": f"{__name__}.module:LinearProjection"})
