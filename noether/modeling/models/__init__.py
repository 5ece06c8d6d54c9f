"""Models built from the modules: AB-UPT.

Every name is exported lazily, from the table in :mod:`noether.catalog`.
"""

from typing import TYPE_CHECKING

from noether._lazy import lazy_exports
from noether.catalog import MODELS, exports

_EXPORTS = exports(root=MODELS)
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

if TYPE_CHECKING:  # the lazily exported names, for type checkers and IDEs
    from noether.modeling.models.ab_upt.config import AeroDataSpecs, AnchorBranchedUPTConfig, FieldDimSpec
    from noether.modeling.models.ab_upt.module import AnchoredBranchedUPT
