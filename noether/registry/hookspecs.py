"""Hooks a noether attention plugin implements (pluggy project name ``"noether"``).

A plugin is the object its ``noether.attention`` entry point names, usually a
module. It marks hook functions with :data:`hookimpl`::

    from noether.registry import AttentionImplementation, hookimpl

    @hookimpl
    def noether_attention_implementations():
        return {"linear": AttentionImplementation(
            module="noether_linear_attention.module:LinearAttention",
            config="noether_linear_attention.config:LinearAttentionConfig",
        )}

Hook names are checked when the plugin is registered: a misspelt hook is an
error, not a hook that silently never runs.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from noether.registry.implementation import AttentionImplementation

PROJECT = "noether"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def noether_attention_implementations() -> Mapping[str, "AttentionImplementation"]:  # type: ignore[empty-body]
    """The attention implementations this plugin provides, by the names configs use.

    Every name must also be an entry point of the plugin's distribution in the
    ``noether.attention`` group (so listing can show it without importing
    anything); module and config may be classes or ``"module:attr"`` strings,
    imported only when that name is used.
    """


@hookspec
def noether_attention_built(name: str, module: Any, config: Any) -> None:
    """Called after ``build_attention`` built ``module`` from ``config``: log it, wrap it, register buffers."""
