from noether._lazy import lazy_exports
from noether.catalog import exports

_EXPORTS = exports("encoders.supernode_pooling")
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
