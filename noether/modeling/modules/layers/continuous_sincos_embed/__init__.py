from noether._lazy import lazy_exports
from noether.modeling.modules.layers.continuous_sincos_embed.config import ContinuousSincosEmbeddingConfig

__all__ = ["ContinuousSincosEmbed", "ContinuousSincosEmbeddingConfig"]
__getattr__, __dir__ = lazy_exports(globals(), {"ContinuousSincosEmbed": f"{__name__}.module:ContinuousSincosEmbed"})
