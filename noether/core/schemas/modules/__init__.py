"""Back-compat namespace for module configs.

The base attention schemas are exported here directly. Every concrete module
config lives next to its module class in :mod:`noether.modeling.modules` and is
re-exported here lazily (the identical class), so old import paths keep working
while importing this package stays free of torch and of modeling code.
"""

from noether._lazy import lazy_exports
from noether.catalog import LEGACY, config_paths, legacy_exports
from noether.core.schemas.modules.attention import AttentionConfig, AttentionPattern, TokenSpec

MODULE_CONFIGS: dict[str, str] = {
    **config_paths(),
    **{
        name: target
        for path in LEGACY
        if path.startswith(f"{__name__}.")
        for name, target in legacy_exports(path).items()
    },
}
"""Exported name -> ``"module:attr"`` of every concrete module config (torch-free modules)."""

__all__ = ["AttentionConfig", "AttentionPattern", "TokenSpec", *MODULE_CONFIGS]

__getattr__, __dir__ = lazy_exports(globals(), MODULE_CONFIGS)
