"""Config schemas: attrs classes with strict checks and a pydantic-like API."""

from noether.core.schemas.config import Config, FieldInfo, config, field, model_validator
from noether.core.schemas.converter import register_global_hooks
from noether.core.schemas.errors import ErrorDetails, ValidationError

register_global_hooks()

__all__ = ["Config", "ErrorDetails", "FieldInfo", "ValidationError", "config", "field", "model_validator"]
