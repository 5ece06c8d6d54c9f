"""Config schemas: attrs classes (de)structured by cattrs, with a pydantic-like API.

``converter`` is the :class:`cattrs.Converter` behind every config; register
hooks for your own field types on it. The global cattrs converter routes
noether configs to it too, so ``cattrs.structure(data, SomeConfig)`` validates
exactly as ``SomeConfig.from_dict(data)``. ``lax()`` (or ``NOETHER_STRICT=0``) loads with
emmiai-noether 1.x's lenient rules while old configs are migrated.
"""

from noether.core.schemas.config import Config, FieldInfo, config, field, model_validator
from noether.core.schemas.converter import converter, lax
from noether.core.schemas.errors import ErrorDetails, ValidationError

__all__ = [
    "Config", "ErrorDetails", "FieldInfo", "ValidationError", "config", "converter", "field", "lax", "model_validator"
]  # fmt: skip
