"""Building an attention module from a config by its registered name."""

from collections.abc import Mapping
from typing import Any

from noether.core.schemas.config import Config
from noether.registry.registry import AttentionRegistry

NAME_KEYS = ("attention", "attention_constructor")


def split_name(config: Mapping[str, Any] | Config, name: str | None = None) -> tuple[str | None, dict[str, Any]]:
    """The implementation name (from ``name`` or the ``attention``/``attention_constructor`` key) and the options."""
    data = dict(config.to_dict() if isinstance(config, Config) else config)
    named = {key: data.pop(key) for key in NAME_KEYS if key in data}
    if len(set(map(str, named.values()))) > 1:
        raise ValueError(f"config names two implementations: {named}")
    found = next(iter(named.values()), None)
    if name is not None and found is not None and found != name:
        raise ValueError(f"build_attention(name={name!r}) but the config says {found!r}")
    chosen = name if name is not None else found
    if chosen is not None and not isinstance(chosen, str):
        raise ValueError(f"the attention name must be a string, got {chosen!r}")
    return chosen, data


def build_attention(
    config: Mapping[str, Any] | Config, *, name: str | None = None, registry: AttentionRegistry | None = None
) -> Any:
    """Build the attention module a config describes.

    ``config`` is a dict (say, loaded from YAML) or a config object; the
    implementation is ``name``, or the config's ``attention`` (alias
    ``attention_constructor``) key, or, for a config object of a built-in or
    registered config class, that class's implementation. The remaining keys
    are structured into the implementation's config class: built-in config
    classes reject keys they do not know (with the field's location), while an
    implementation whose config class is the generic ``AttentionConfig`` keeps
    them as extras.
    """
    from noether.registry import attention_registry

    registry = attention_registry if registry is None else registry
    chosen, options = split_name(config, name)
    if chosen is None and isinstance(config, Config):
        chosen = _name_of_config_class(registry, type(config))
    if chosen is None:
        raise ValueError("the config does not name an attention implementation: set 'attention: <name>'")
    resolved = registry.resolve(chosen)
    typed = resolved.config.coerce(config if isinstance(config, resolved.config) else options)
    module = resolved.module(typed)
    registry.notify_built(resolved.qualified, module, typed)
    return module


def _name_of_config_class(registry: AttentionRegistry, cls: type) -> str | None:
    path = f"{cls.__module__}:{cls.__qualname__}"
    matches = [row.qualified for row in registry.rows() if row.config_path == path and row.status == "ok"]
    return matches[0] if len(matches) == 1 else None
