"""Small layers the attention modules are built from."""

from noether._lazy import lazy_exports
from noether.modeling.modules.layers.linear_projection import LinearProjectionConfig
from noether.modeling.modules.layers.rope_frequency import RopeFrequencyConfig

__all__ = ["LinearProjection", "LinearProjectionConfig", "RopeFrequency", "RopeFrequencyConfig", "rope"]
__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        "LinearProjection": f"{__name__}.linear_projection.module:LinearProjection",
        "RopeFrequency": f"{__name__}.rope_frequency.module:RopeFrequency",
        "rope": "noether.modeling.functional.rope:rope",
    },
)
