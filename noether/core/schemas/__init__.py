"""Config schemas: attrs classes (de)structured by cattrs, with a pydantic-like API.

``converter`` is the :class:`cattrs.Converter` behind every config; register
hooks for your own field types on it. The global cattrs converter routes
noether configs to it too, so ``cattrs.structure(data, SomeConfig)`` validates
exactly as ``SomeConfig.from_dict(data)``.
"""

import cattrs

from noether.core.schemas.config import Config, FieldInfo, config, field, model_validator
from noether.core.schemas.converter import converter
from noether.core.schemas.errors import ErrorDetails, ValidationError

cattrs.global_converter.register_structure_hook_factory(
    lambda t: isinstance(t, type) and issubclass(t, Config), lambda t: converter.get_structure_hook(t)
)
cattrs.global_converter.register_unstructure_hook_factory(
    lambda t: isinstance(t, type) and issubclass(t, Config), lambda t: converter.get_unstructure_hook(t)
)

__all__ = ["Config", "ErrorDetails", "FieldInfo", "ValidationError", "config", "converter", "field", "model_validator"]
