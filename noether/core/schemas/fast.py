"""A generated loader and dump per config class: the hot paths of ``from_dict`` and ``to_dict``.

cattrs' generated functions call one hook per field and attrs' ``__init__`` one
converter per field, defaults included; on a small config that is twice what
pydantic-core spends. Like those two libraries, this writes one straight-line
function per class, but tests scalar values inline (``type(v) is int and v >= 1``)
and calls a field's check only for values that are not plainly valid.

The loader accepts a subset of what the checks accept and never explains: on
any doubt it raises, and the caller falls back to cattrs' generated functions
(the validated path), which decide and explain. The property tests hold both
paths to the same decision and the same values on every config class.
"""

import collections.abc
import inspect
import typing
from collections.abc import Callable
from typing import Any

import attrs

from noether.core.schemas.converter import FINITE, converter, number_range, plain_data


class Doubt(Exception):
    """The input needs the validated path."""


def _test(annotation: Any, ge: float | None, le: float | None, var: str, names: dict[str, Any]) -> str | None:
    """A Python expression true when ``var`` is valid as it is, or None to always call the check."""
    bounds = [f"{var} >= {ge!r}"] if ge is not None else []
    bounds += [f"{var} <= {le!r}"] if le is not None else []
    if annotation is bool:
        return f"({var} is True or {var} is False)"
    if annotation is str:
        return f"type({var}) is str"
    if annotation is int:
        return " and ".join([f"type({var}) is int", *bounds])
    if annotation is float:  # the check's own range, open sides included
        key = f"_range{len(names)}"
        names[f"{key}_lo"], names[f"{key}_hi"] = number_range(ge, le, FINITE)
        return f"(type({var}) is float and {key}_lo <= {var} <= {key}_hi)"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal and all(type(a) is str for a in args):
        key = f"_allowed_{len(names)}"
        names[key] = frozenset(args)
        return f"(type({var}) is str and {var} in {key})"
    if type(None) in args and len(args) == 2:
        inner = _test(next(a for a in args if a is not type(None)), ge, le, var, names)
        return None if inner is None else f"({var} is None or {inner})"
    if origin in (list, collections.abc.Sequence) and args == (str,):  # join raises on a non-string: a doubt
        return f"(type({var}) is list and ''.join({var}) is not None)"
    return None


def _value(info: Any, i: int, names: dict[str, Any], owner: type) -> list[str]:
    """Lines that leave field ``i``'s checked value in ``v``: inline when plainly valid, else its check."""
    check = [f"v = _c{i}(v)"]
    origin, args = typing.get_origin(info.annotation), typing.get_args(info.annotation)
    many = origin in (list, collections.abc.Sequence)
    nested = args[0] if many and args else info.annotation
    if hasattr(nested, "model_fields") and nested is not owner and info.check is None:  # configs, or lists of them
        hook = converter.get_structure_hook(nested)
        names[f"_h{i}"] = getattr(hook, "load", hook)  # its loader itself: the outer hook explains a doubt
        if many:
            return [f"if type(v) is list and len(v) >= {info.min_length}:", f"    v = [_h{i}(x) for x in v]",
                    "else:", f"    {check[0]}"]  # fmt: skip
        return ["if type(v) is dict:", f"    v = _h{i}(v)", "else:", f"    {check[0]}"]
    test = _test(info.annotation, info.ge, info.le, "v", names)
    if test is None:
        return check
    copy = test.startswith("(type(v) is list")  # a list is stored as a copy, as its check would
    if info.min_length:
        if not copy:
            return check
        test = f"{test} and len(v) >= {info.min_length}"
    keep = "v[:]" if copy else "v"
    if info.check is not None:  # the type is plainly right: only the custom check is left to run
        names[f"_k{i}"] = info.check
        keep = f"_k{i}({keep})"
    return [f"if {test}:", f"    v = {keep}", "else:", f"    {check[0]}"]


def make_loader(cls: Any, rest: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    """``load(data)`` for ``cls``: the instance, or :class:`Doubt` (or any error) for the validated path.

    ``rest(instance, data)`` finishes an instance when ``data`` has keys beyond the init fields.
    """
    names: dict[str, Any] = {"Doubt": Doubt, "_cls": cls, "_new": cls.__new__,
                             "_rest": rest, "_post": getattr(cls, "__attrs_post_init__", None)}  # fmt: skip
    lines = ["def load(o, _type=None):", "    if type(o) is not dict:", "        if type(o) is _cls:",
             "            return o", "        raise Doubt", "    self = _new(_cls)", "    n = 0"]  # fmt: skip
    for i, a in enumerate(attrs.fields(cls)):
        names[f"_s{i}"] = inspect.getattr_static(cls, a.name).__set__  # the slot itself: no setattr hooks
        info = cls.model_fields.get(a.name)
        default = a.default.factory() if isinstance(a.default, attrs.Factory) else a.default  # type: ignore[arg-type]
        if a.name == "_fields_set":  # None while validators run (they may assign), the given keys after
            names["_fields_set"] = names[f"_s{i}"]
            lines += [f"    _s{i}(self, None)"] if names["_post"] is not None else []
            continue
        if info is None or info.derived:  # model_extra and derived fields: their defaults
            names[f"_d{i}"] = None if default is attrs.NOTHING else default
            lines.append(f"    _s{i}(self, {'{}' if a.name == 'model_extra' else f'_d{i}'})")
            continue
        names[f"_c{i}"] = a.converter
        if a.default is attrs.NOTHING:  # required: a missing key raises KeyError, a doubt
            lines += [f"    v = o[{a.name!r}]", "    n += 1", *(f"    {line}" for line in _value(info, i, names, cls))]
            lines.append(f"    _s{i}(self, v)")
            continue
        lines += [f"    if {a.name!r} in o:", f"        v = o[{a.name!r}]", "        n += 1"]
        lines += [f"        {line}" for line in _value(info, i, names, cls)]
        if isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]
            names[f"_f{i}"] = a.default.factory
            lines += ["    else:", f"        v = _c{i}(_f{i}())"]
        else:
            names[f"_d{i}"] = a.converter(a.default)  # checked once, here
            lines += ["    else:", f"        v = _d{i}"]
        lines.append(f"    _s{i}(self, v)")
    if names["_post"] is not None:
        lines.append("    _post(self)")
    lines += ["    _fields_set(self, tuple(o))", "    return self if n == len(o) else _rest(self, o)"]
    source = "\n".join(lines)
    exec(compile(source, f"<noether loader {cls.__module__}.{cls.__qualname__}>", "exec"), names)
    load: Callable[..., Any] = names["load"]
    return load


def make_dump(cls: Any) -> Callable[[Any], dict[str, Any]]:
    """``dump(config)``: the field form in one dict display. Plain values are taken as they are,
    lists of them copied, nested configs (a few levels) inlined as displays of their own, and
    anything else goes through the converter's hook for its type."""
    names: dict[str, Any] = {}
    source = f"def dump(self):\n    return {_nested(cls, 'self', names, 0, top=True)}\n"
    exec(compile(source, f"<noether dump {cls.__module__}.{cls.__qualname__}>", "exec"), names)
    dump: Callable[[Any], dict[str, Any]] = names["dump"]
    dump.__noether_dump__ = True  # type: ignore[attr-defined]  # may be inlined into other configs' dumps
    return dump


def _nested(cls: Any, expr: str, names: dict[str, Any], depth: int, top: bool = False) -> str:
    template = getattr(cls, "__noether_dump_template__", None)
    if template is not None:
        return str(template.format(v=expr))
    hook = None if top else converter.get_unstructure_hook(cls)
    if not top and (depth > 2 or not getattr(hook, "__noether_dump__", False)):  # deep, or a hook of its own
        names[f"_u{len(names)}"] = hook
        return f"_u{len(names) - 1}({expr})"
    first = expr
    if "." in expr:  # an attribute path: the first field binds it to a local, the others read that
        names[var := f"_v{len(names)}"] = None  # reserved in names, so the next one gets another number
        first, expr = f"({var} := {expr})", var
    items = [f"{name!r}: {_dump_value(info.annotation, f'{first if i == 0 else expr}.{name}', names, depth)}"
             for i, (name, info) in enumerate(cls.model_fields.items())]  # fmt: skip
    if cls.__noether_extra__ == "allow":
        items.append(f"**{expr}.model_extra")
    return "{" + ", ".join(items) + "}"


def _dump_value(annotation: Any, expr: str, names: dict[str, Any], depth: int) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if plain_data(annotation):
        return expr
    if origin in (list, collections.abc.Sequence) and args and plain_data(args[0]):
        return f"{expr}[:]"
    if origin in (list, collections.abc.Sequence) and args and hasattr(args[0], "model_fields"):
        item = f"x{depth}"
        return f"[{_nested(args[0], item, names, depth + 1)} for {item} in {expr}]"
    if hasattr(annotation, "model_fields"):
        return _nested(annotation, expr, names, depth + 1)
    names[f"_u{len(names)}"] = converter.get_unstructure_hook(annotation)
    return f"_u{len(names) - 1}({expr})"
