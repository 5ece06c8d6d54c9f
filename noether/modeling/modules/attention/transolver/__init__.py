from noether._lazy import lazy_exports
from noether.modeling.modules.attention.transolver.config import TransolverAttentionConfig

__all__ = ["TransolverAttention", "TransolverAttentionConfig"]
__getattr__, __dir__ = lazy_exports(globals(), {"TransolverAttention": f"{__name__}.module:TransolverAttention"})
