"""``ATTENTION_REGISTRY`` of emmiai-noether 1.x: a read-only view of the live registry."""

from collections.abc import Iterator, Mapping
from typing import Any

from noether.registry.errors import UnknownAttentionError


class ModuleClasses(Mapping[str, Any]):
    """Attention name -> module class, over :data:`noether.registry.attention_registry`.

    1.x kept a dict of four built-ins; this view has every name the registry
    knows (plugins included) and imports an implementation only when looked up.
    Register new names with ``attention_registry.register``.
    """

    def __getitem__(self, name: str) -> Any:
        from noether.registry import attention_registry

        try:
            return attention_registry.resolve(name).module
        except UnknownAttentionError as exc:
            raise KeyError(name) from exc

    def __iter__(self) -> Iterator[str]:
        from noether.registry import attention_registry

        return iter(attention_registry.names())

    def __len__(self) -> int:
        from noether.registry import attention_registry

        return len(attention_registry.names())

    def __repr__(self) -> str:
        return f"ATTENTION_REGISTRY({list(self)})"


ATTENTION_REGISTRY = ModuleClasses()
