"""The attention registry: built-ins, installed plugins (entry points + pluggy), registrations.

Listing names reads installed metadata only (no plugin code, no torch); using a
name imports that implementation alone. See the README's "Writing a plugin".
Heavy names are imported on first access, so ``noether-attention list`` stays fast.
"""

import threading
from typing import TYPE_CHECKING

from noether._lazy import lazy_exports
from noether.registry.errors import (
    AttentionConflictError,
    BuiltinOverrideError,
    InvalidImplementationError,
    PluginBlockedError,
    PluginImportError,
    RegistryError,
    UnknownAttentionError,
)

if TYPE_CHECKING:
    from noether.registry.build import build_attention
    from noether.registry.hookspecs import hookimpl
    from noether.registry.implementation import AttentionImplementation
    from noether.registry.registry import AttentionRegistry

    attention_registry: AttentionRegistry

__all__ = [
    "AttentionConflictError",
    "AttentionImplementation",
    "AttentionRegistry",
    "BuiltinOverrideError",
    "InvalidImplementationError",
    "PluginBlockedError",
    "PluginImportError",
    "RegistryError",
    "UnknownAttentionError",
    "attention_registry",
    "build_attention",
    "hookimpl",
]

_LAZY = {
    "AttentionImplementation": f"{__name__}.implementation:AttentionImplementation",
    "AttentionRegistry": f"{__name__}.registry:AttentionRegistry",
    "build_attention": f"{__name__}.build:build_attention",
    "hookimpl": f"{__name__}.hookspecs:hookimpl",
}
_lazy_getattr, __dir__ = lazy_exports(globals(), _LAZY)


_singleton_lock = threading.Lock()


def __getattr__(name: str) -> object:
    if name == "attention_registry":  # the process-wide registry, made once on first use
        with _singleton_lock:
            if name not in globals():
                from noether.registry.registry import AttentionRegistry

                globals()[name] = AttentionRegistry()
        return globals()[name]
    return _lazy_getattr(name)
