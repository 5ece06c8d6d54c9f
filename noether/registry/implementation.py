"""What an implementation name resolves to."""

from typing import Any

import attrs

from noether._lazy import import_target


@attrs.frozen
class AttentionImplementation:
    """A module class and its config class, each as the object or a ``"module:attr"`` string."""

    module: Any
    config: Any

    def config_path(self) -> str:
        return _path(self.config)

    def module_path(self) -> str:
        return _path(self.module)

    def load_config(self) -> Any:
        return import_target(self.config) if isinstance(self.config, str) else self.config

    def load_module(self) -> Any:
        return import_target(self.module) if isinstance(self.module, str) else self.module


def _path(target: Any) -> str:
    if isinstance(target, str):
        return target
    return f"{target.__module__}:{target.__qualname__}"
