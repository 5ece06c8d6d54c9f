from noether._lazy import lazy_exports
from noether.modeling.modules.mlp.up_act_down_mlp.config import UpActDownMLPConfig

__all__ = ["UpActDownMlp", "UpActDownMLPConfig"]
__getattr__, __dir__ = lazy_exports(globals(), {"UpActDownMlp": f"{__name__}.module:UpActDownMlp"})
