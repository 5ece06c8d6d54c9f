"""Attention modules, each with its config beside it, and the KV cache of anchor attention.

Every name is exported lazily, from the table in :mod:`noether.catalog`.
"""

from noether._lazy import lazy_exports
from noether.catalog import exports

_EXPORTS = exports("attention")
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
