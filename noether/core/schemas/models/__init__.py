"""The emmiai-noether 1.x import path: the same objects, re-exported lazily (see ``noether.catalog.LEGACY``)."""

from noether._lazy import lazy_exports
from noether.catalog import legacy_exports

_EXPORTS = legacy_exports(__name__)
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
