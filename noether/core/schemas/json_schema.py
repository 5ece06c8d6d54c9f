"""JSON Schema (draft 2020-12) export of config classes."""

import collections.abc
import inspect
import types
import typing
from typing import Any

from noether.core.schemas.config import FieldInfo


def _type_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if tp is Any or tp is object:
        return {}
    simple = {bool: "boolean", int: "integer", float: "number", str: "string"}
    if tp in simple:
        return {"type": simple[tp]}
    if getattr(tp, "__noether_config__", False):
        if tp.__name__ not in defs:
            defs[tp.__name__] = {}  # placeholder first: configs may nest themselves
            defs[tp.__name__] = _object_schema(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_type_schema(a, defs) if a is not type(None) else {"type": "null"} for a in args]}
    if origin in (list, tuple, collections.abc.Sequence):
        return {"type": "array", "items": _type_schema(args[0], defs)}
    if origin in (dict, collections.abc.Mapping):
        return {"type": "object", "additionalProperties": _type_schema(args[1], defs)}
    raise TypeError(f"no JSON Schema for {tp!r}")


def _field_schema(info: FieldInfo, defs: dict[str, Any]) -> dict[str, Any]:
    schema = {"title": info.name.replace("_", " ").title(), **_type_schema(info.annotation, defs)}
    if info.ge is not None:
        schema["minimum"] = info.ge
    if info.le is not None:
        schema["maximum"] = info.le
    if info.min_length:
        schema["minItems"] = info.min_length
    if not info.is_required():
        default = info.default
        schema["default"] = default.to_dict() if hasattr(default, "to_dict") else default
    if info.description:
        schema["description"] = info.description
    return schema


def _object_schema(cls: Any, defs: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": cls.__name__, "type": "object"}
    doc = inspect.getdoc(cls)
    if doc and cls.__doc__ is not None and "__doc__" in vars(cls):
        schema["description"] = doc.split("\n\n")[0]
    schema["properties"] = {name: _field_schema(info, defs) for name, info in cls.model_fields.items()}
    required = [name for name, info in cls.model_fields.items() if info.is_required()]
    if required:
        schema["required"] = required
    schema["additionalProperties"] = cls.__noether_extra__ == "allow"
    return schema


def json_schema(cls: type) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    schema = _object_schema(cls, defs)
    if defs:
        schema["$defs"] = defs
    return schema
