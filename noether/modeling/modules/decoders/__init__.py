"""Decoders: tokens to values at query points.

Every name is exported lazily, from the table in :mod:`noether.catalog`.
"""

from noether._lazy import lazy_exports
from noether.catalog import exports

_EXPORTS = exports("decoders")
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
