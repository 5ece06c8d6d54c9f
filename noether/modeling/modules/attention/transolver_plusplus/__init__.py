from noether._lazy import lazy_exports
from noether.modeling.modules.attention.transolver_plusplus.config import TransolverPlusPlusAttentionConfig

__all__ = ["TransolverPlusPlusAttention", "TransolverPlusPlusAttentionConfig"]
__getattr__, __dir__ = lazy_exports(
    globals(), {"TransolverPlusPlusAttention": f"{__name__}.module:TransolverPlusPlusAttention"}
)
