"""PEP 562 lazy exports: a name is imported from its home module on first access."""

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from noether import install_hint

TORCH_MISSING = "{what} needs PyTorch, which is not installed; install it with: " + install_hint("torch")


def import_target(target: str) -> Any:
    """Import ``"package.module:attr"``; a missing torch becomes an error naming the extra."""
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == "torch":
            raise ModuleNotFoundError(TORCH_MISSING.format(what=target), name="torch") from exc
        raise
    return getattr(module, attr) if attr else module


def lazy_exports(
    namespace: MutableMapping[str, Any], targets: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``__getattr__`` and ``__dir__`` for a module's ``globals()``.

    ``targets`` maps each lazily exported name to ``"module:attr"``. A resolved
    object is stored in the namespace, so later lookups never reach
    ``__getattr__`` again. ``__dir__`` lists ``__all__`` and the module's globals.
    """
    module_name = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        try:
            target = targets[name]
        except KeyError:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}") from None
        value = import_target(target)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        public = (n for n in namespace if not n.startswith("_"))
        return sorted({*namespace.get("__all__", ()), *targets, *public})

    return __getattr__, __dir__
