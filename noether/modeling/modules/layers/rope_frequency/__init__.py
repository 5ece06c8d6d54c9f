from noether._lazy import lazy_exports
from noether.modeling.modules.layers.rope_frequency.config import RopeFrequencyConfig

__all__ = ["RopeFrequency", "RopeFrequencyConfig", "rope"]
__getattr__, __dir__ = lazy_exports(
    globals(),
    {"RopeFrequency": f"{__name__}.module:RopeFrequency", "rope": "noether.modeling.functional.rope:rope"},
)
