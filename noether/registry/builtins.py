"""The built-in implementations, provided to the registry through the same hook as plugins."""

from collections.abc import Mapping

from noether.registry.discovery import BUILTINS
from noether.registry.hookspecs import hookimpl
from noether.registry.implementation import AttentionImplementation


@hookimpl
def noether_attention_implementations() -> Mapping[str, AttentionImplementation]:
    return {name: AttentionImplementation(module, config) for name, (module, config) in BUILTINS.items()}
