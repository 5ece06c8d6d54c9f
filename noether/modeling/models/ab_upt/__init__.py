"""AB-UPT: the model, its config, and the data specs it is built for (configs import without torch)."""

from noether._lazy import lazy_exports
from noether.catalog import MODELS, exports

_EXPORTS = exports("ab_upt", root=MODELS)
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
