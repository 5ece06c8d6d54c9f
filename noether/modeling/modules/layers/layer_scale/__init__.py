from noether._lazy import lazy_exports
from noether.modeling.modules.layers.layer_scale.config import LayerScaleConfig

__all__ = ["LayerScale", "LayerScaleConfig"]
__getattr__, __dir__ = lazy_exports(globals(), {"LayerScale": f"{__name__}.module:LayerScale"})
