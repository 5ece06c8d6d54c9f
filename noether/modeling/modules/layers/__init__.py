"""Small layers the attention modules and blocks are built from."""

from noether._lazy import lazy_exports
from noether.modeling.modules.layers.continuous_sincos_embed import ContinuousSincosEmbeddingConfig
from noether.modeling.modules.layers.drop_path import UnquantizedDropPathConfig
from noether.modeling.modules.layers.layer_scale import LayerScaleConfig
from noether.modeling.modules.layers.linear_projection import LinearProjectionConfig
from noether.modeling.modules.layers.rope_frequency import RopeFrequencyConfig

_MODULES = {
    "ContinuousSincosEmbed": "continuous_sincos_embed",
    "LayerScale": "layer_scale",
    "LinearProjection": "linear_projection",
    "RopeFrequency": "rope_frequency",
    "UnquantizedDropPath": "drop_path",
}

__all__ = [
    "ContinuousSincosEmbeddingConfig",
    "LayerScaleConfig",
    "LinearProjectionConfig",
    "RopeFrequencyConfig",
    "UnquantizedDropPathConfig",
    "rope",
    *_MODULES,
]
__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        "rope": "noether.modeling.functional.rope:rope",
        **{name: f"{__name__}.{package}.module:{name}" for name, package in _MODULES.items()},
    },
)
