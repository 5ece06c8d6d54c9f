"""JSON Schema (draft 2020-12) of config classes, describing exactly what ``from_dict`` accepts.

Every rule a field check enforces has a keyword here, derived from the same bounds and
patterns the checks use. What JSON Schema cannot say: the cross-field rules of model
validators (say, hidden_dim divisible by num_heads), the nesting bound of free-form values
(no keyword for depth), and that ``64.0`` is an integer to JSON Schema but not to an int
field. Reserved names are refused as extra keys, ``_extra`` too, though the loader reads it
as extras: it is how ``attrs.evolve`` hands them back.
"""

import collections.abc
import datetime
import enum
import inspect
import math
import pathlib
import types
import typing
from typing import Any

import attrs

from noether.core.schemas.config import RESERVED, Config, FieldInfo
from noether.core.schemas.converter import FINITE, converter, float_pattern, jsonable, number_range

_SIMPLE: dict[Any, dict[str, Any]] = {
    bool: {"type": "boolean"},
    str: {"type": "string"},
    type(None): {"type": "null"},
    pathlib.Path: {"type": "string"},
    datetime.datetime: {"type": "string", "format": "date-time"},
    datetime.date: {"type": "string", "format": "date"},
}
Bounds = tuple[float | None, float | None]


def _number(tp: Any, bounds: Bounds) -> dict[str, Any]:
    lo, hi = number_range(*bounds, FINITE if tp is float else math.inf)
    schema: dict[str, Any] = {"type": "integer" if tp is int else "number"}
    schema.update({k: v for k, v in (("minimum", lo), ("maximum", hi)) if abs(v) != math.inf})
    pattern = float_pattern(*bounds) if tp is float else None
    return {"anyOf": [schema, {"type": "string", "pattern": pattern}]} if pattern else schema


def _type_schema(tp: Any, defs: dict[str, Any], bounds: Bounds = (None, None)) -> dict[str, Any]:
    """``bounds`` apply to a number, or to the values of a mapping."""
    if tp is Any or tp is object:
        return {}
    if tp in (int, float):
        return _number(tp, bounds)
    if tp in _SIMPLE:
        return dict(_SIMPLE[tp])
    if isinstance(tp, type) and attrs.has(tp):
        if tp.__name__ not in defs:
            defs[tp.__name__] = {}  # placeholder first: classes may nest themselves
            defs[tp.__name__] = tp._json_schema_def(defs) if issubclass(tp, Config) else _attrs_schema(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [m.value for m in tp]}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        members = [_type_schema(a, defs, bounds) for a in args]
        return {"anyOf": [m for s in members for m in (s["anyOf"] if list(s) == ["anyOf"] else [s])]}
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        items = [_type_schema(a, defs) for a in args]
        return {"type": "array", "prefixItems": items, "items": False, "minItems": len(items)}
    if origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping):
        return {"type": "object", "additionalProperties": _type_schema(args[1], defs, bounds) if args else {}}
    if origin in (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Set):
        return {"type": "array", "items": _type_schema(args[0], defs) if args else {}}  # a set takes repeats too
    raise TypeError(f"no JSON Schema for {tp!r}; give the field json_schema={{...}}")


def _attrs_schema(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    """A plain attrs class as cattrs loads it: its fields by attribute name, no other key."""
    fields = [a for a in attrs.fields(attrs.resolve_types(cls)) if a.init]
    properties = {a.name: {} if a.type is None else _type_schema(a.type, defs) for a in fields}
    schema = {"title": cls.__name__, "type": "object", "properties": properties, "additionalProperties": False}
    required = [a.name for a in fields if a.default is attrs.NOTHING]
    return {**schema, "required": required} if required else schema


def _at_least(schema: dict[str, Any], n: int) -> dict[str, Any]:
    """``min_length`` on the collection member(s) of a field's schema."""
    if "anyOf" in schema:
        return {**schema, "anyOf": [_at_least(m, n) for m in schema["anyOf"]]}
    keyword = {"array": "minItems", "object": "minProperties"}.get(schema.get("type", ""))
    return {**schema, keyword: n} if keyword else schema


def field_schema(info: FieldInfo, defs: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": info.name.replace("_", " ").title()}
    try:
        inner = _type_schema(info.annotation, defs, (info.ge, info.le))
    except TypeError:
        if not info.json_schema:
            raise
        inner = {}  # a type of the user's own: the field's json_schema says it all
    schema.update(_at_least(inner, info.min_length) if info.min_length else inner)
    schema.update(info.json_schema)
    if not info.is_required():
        schema["default"] = jsonable(converter.unstructure(info.default, info.annotation))  # as model_dump writes it
    if info.description:
        schema["description"] = info.description
    if info.derived:
        schema["readOnly"] = True  # may repeat the derived value, never contradict it
    return schema


def object_schema(cls: type[Config], defs: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": cls.__name__, "type": "object"}
    doc = inspect.getdoc(cls)
    if doc and "__doc__" in vars(cls) and cls.__doc__ is not None:
        schema["description"] = doc.split("\n\n")[0]
    schema["properties"] = {name: field_schema(info, defs) for name, info in cls.model_fields.items()}
    required = [name for name, info in cls.model_fields.items() if info.is_required()]
    if required:
        schema["required"] = required
    schema["additionalProperties"] = cls.__noether_extra__ == "allow"
    if schema["additionalProperties"]:
        schema["propertyNames"] = {"not": {"enum": sorted(RESERVED - cls.model_fields.keys())}}
    return schema


def json_schema(cls: type[Config]) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    schema = cls._json_schema_def(defs)
    if defs:
        schema["$defs"] = defs
    return schema
