"""Feed-forward networks."""

from noether._lazy import lazy_exports
from noether.modeling.modules.mlp.mlp import MLPConfig
from noether.modeling.modules.mlp.up_act_down_mlp import UpActDownMLPConfig

__all__ = ["MLP", "MLPConfig", "UpActDownMLPConfig", "UpActDownMlp"]
__getattr__, __dir__ = lazy_exports(
    globals(),
    {"MLP": f"{__name__}.mlp.module:MLP", "UpActDownMlp": f"{__name__}.up_act_down_mlp.module:UpActDownMlp"},
)
