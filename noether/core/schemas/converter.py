"""The global cattrs converter's hooks for noether configs.

``cattrs.structure(data, SomeConfig)`` and ``cattrs.unstructure(config)`` go
through the config's own ``from_dict``/``to_dict``, so they validate and dump
exactly alike. Only noether config classes are routed; every other type keeps
the converter's behaviour.
"""

from typing import Any

import cattrs


def is_config_class(tp: Any) -> bool:
    return isinstance(tp, type) and getattr(tp, "__noether_config__", False) is True


def _structure_config(data: Any, cls: type) -> Any:
    return cls.from_dict(data)  # type: ignore[attr-defined]


def _unstructure_config(obj: Any) -> Any:
    return obj.to_dict()


def register_global_hooks(converter: cattrs.BaseConverter | None = None) -> None:
    """Route noether configs through ``from_dict``/``to_dict`` (the global converter by default)."""
    target = cattrs.global_converter if converter is None else converter
    target.register_structure_hook_func(is_config_class, _structure_config)
    target.register_unstructure_hook_func(is_config_class, _unstructure_config)
