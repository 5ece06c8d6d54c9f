"""Compiled per-class loaders and dumps: the hot paths of ``from_dict``/``to_dict``.

Like attrs' ``__init__`` and cattrs' hooks, each config class gets generated
straight-line functions, built on first use. cattrs' own generated functions call
one hook per field (and cannot inline validation); matching pydantic-core's speed
from pure Python needs more: scalar checks become inline expressions, defaults
are stored constants, nested configs and extras are inlined into one dict display.

A loader never raises: on any doubt it returns :data:`FAIL`, and ``from_dict``
re-runs every field check to say exactly what is wrong. The inline tests accept
a subset of what the checks accept (values that need no conversion), so both
paths agree; a property test holds them to it.
"""

import collections.abc
import linecache
import math
import types
import typing
from collections.abc import Callable
from typing import Any

import attrs

from noether.core.schemas.errors import InvalidValue

FAIL: Any = object()
"""Returned by a loader instead of an instance: the input needs the explaining path."""


def _inline_test(annotation: Any, ge: float | None, le: float | None, var: str, globs: dict[str, Any]) -> str | None:
    """A Python expression true when ``var`` is valid as-is, or None to call the check."""
    bounds = []
    if ge is not None:
        bounds.append(f"{var} >= {ge!r}")
    if le is not None:
        bounds.append(f"{var} <= {le!r}")
    if annotation is bool:
        return f"({var} is True or {var} is False)"
    if annotation is str:
        return f"type({var}) is str"
    if annotation is int:
        return " and ".join([f"type({var}) is int", *bounds])
    if annotation is float:
        if not all(map(math.isfinite, (b for b in (ge, le) if b is not None))):
            return None
        return " and ".join([f"type({var}) is float", *(bounds or [f"{var} == {var}"])])
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal and all(type(a) is str for a in args):
        name = f"_allowed_{len(globs)}"
        globs[name] = frozenset(args)
        return f"(type({var}) is str and {var} in {name})"
    if origin in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        inner = _inline_test(next(a for a in args if a is not type(None)), ge, le, var, globs)
        return None if inner is None else f"({var} is None or {inner})"
    return None


def _nested_loader(config_cls: Any) -> Callable[[Any], Any]:
    """How a nested config loads from a dict without raising (its ``from_dict`` form)."""
    custom = getattr(config_cls, "_load_nested", None)
    if custom is not None:
        return custom  # type: ignore[no-any-return]
    if config_cls in _compiling:  # a config that nests itself: resolve when first called
        return lambda data: loader_for(config_cls)(data)
    return loader_for(config_cls)


def _is_config(tp: Any) -> bool:
    return getattr(tp, "__noether_config__", False) is True


def _field_lines(i: int, info: Any, check: str, globs: dict[str, Any]) -> list[str]:
    """Lines that leave the checked value of field ``i`` in ``v``, or return FAIL."""
    fallback = [f"v = {check}(v, False)", "if type(v) is InvalidValue:", "    return FAIL"]
    annotation = info.annotation
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if _is_config(annotation):
        globs[f"_nested_{i}"] = _nested_loader(annotation)
        return ["if type(v) is dict:", f"    v = _nested_{i}(v)", "    if v is FAIL:", "        return FAIL",
                "else:", *(f"    {line}" for line in fallback)]  # fmt: skip
    if origin in (list, collections.abc.Sequence) and args and _is_config(args[0]):
        globs[f"_nested_{i}"] = _nested_loader(args[0])
        return [f"if type(v) is list and len(v) >= {info.min_length}:", "    items = []", "    for item in v:",
                "        if type(item) is not dict:", "            return FAIL", f"        item = _nested_{i}(item)",
                "        if item is FAIL:", "            return FAIL", "        items.append(item)", "    v = items",
                "else:", *(f"    {line}" for line in fallback)]  # fmt: skip
    if origin in (list, collections.abc.Sequence) and args == (str,):
        globs["_STR_ONLY"] = {str}
        strings = f"type(v) is list and len(v) >= {max(info.min_length, 1)} and set(map(type, v)) == _STR_ONLY"
        return [f"if {strings}:", "    v = v[:]", "else:", *(f"    {line}" for line in fallback)]
    test = _inline_test(annotation, info.ge, info.le, "v", globs)
    if test is None:
        return fallback
    return [f"if not ({test}):", *(f"    {line}" for line in fallback)]


_compiling: set[type] = set()


def make_loader(cls: Any, *, positional: bool = False) -> Callable[..., Any]:
    """Compile the loader of one config class (see the module docstring).

    ``positional=True`` compiles ``load(value0, value1, ...)`` taking every field
    in order, for alternative dict forms such as TokenSpec's ``{name: size}``.
    """
    _compiling.add(cls)
    try:
        return _make_loader(cls, positional)
    finally:
        _compiling.discard(cls)


def _make_loader(cls: Any, positional: bool) -> Callable[..., Any]:
    globs: dict[str, Any] = {"FAIL": FAIL, "InvalidValue": InvalidValue, "_new": object.__new__, "_cls": cls}
    fields = cls.__noether_init_fields__
    if positional:
        lines = [f"def load({', '.join(f'arg{i}' for i in range(len(fields)))}):", "    self = _new(_cls)"]
        for i, a in enumerate(fields):
            globs[f"_check_{i}"] = a.converter
            lines.append(f"    v = arg{i}")
            lines += [f"    {line}" for line in _field_lines(i, cls.model_fields[a.name], f"_check_{i}", globs)]
            lines.append(f"    self.{a.name} = v")
        lines.append("    self.model_extra = {}")
        return _finish(cls, lines, globs, "positional loader")
    lines = ["def load(o):", "    if type(o) is not dict:", "        return FAIL", "    self = _new(_cls)", "    n = 0"]
    for i, a in enumerate(fields):
        check = f"_check_{i}"
        globs[check] = a.converter
        lines += [f"    if {a.name!r} in o:", f"        v = o[{a.name!r}]", "        n += 1"]
        lines += [f"        {line}" for line in _field_lines(i, cls.model_fields[a.name], check, globs)]
        lines += [f"        self.{a.name} = v", "    else:"]
        if a.default is attrs.NOTHING:
            lines.append("        return FAIL")
        elif isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]
            globs[f"_factory_{i}"] = a.default.factory
            lines.append(f"        self.{a.name} = {check}(_factory_{i}())")
        else:
            globs[f"_default_{i}"] = a.converter(a.default)  # defaults are checked once, here
            lines.append(f"        self.{a.name} = _default_{i}")
    globs["_names"] = cls.__noether_field_names__
    lines += ["    if n == len(o):", "        self.model_extra = {}"]
    if cls.__noether_extra__ == "allow":
        lines += [
            "    else:",
            "        extra = {}",
            "        for key in o:",
            "            if key not in _names:",
            "                if type(key) is not str:",
            "                    return FAIL",
            "                extra[key] = o[key]",
            "        self.model_extra = extra",
        ]
    else:
        lines += ["    else:", "        return FAIL"]
    return _finish(cls, lines, globs, "loader")


def _finish(cls: Any, lines: list[str], globs: dict[str, Any], kind: str) -> Callable[..., Any]:
    post_init = getattr(cls, "__attrs_post_init__", None)
    if post_init is not None:
        globs["_post_init"] = post_init
        lines += ["    try:", "        _post_init(self)", "    except ValueError:", "        return FAIL"]
    lines.append("    return self")
    loader: Callable[..., Any] = _compile(cls, kind, lines, globs)
    return loader


def _compile(cls: Any, kind: str, lines: list[str], globs: dict[str, Any]) -> Any:
    """Compile ``lines`` (defining one function) and return that function."""
    source = "\n".join(lines) + "\n"
    filename = f"<noether {kind} {cls.__module__}.{cls.__qualname__}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # readable tracebacks
    exec(compile(source, filename, "exec"), globs)
    return globs[lines[0].split()[1].partition("(")[0]]


_loaders: dict[type, Callable[..., Any]] = {}
_positional_loaders: dict[type, Callable[..., Any]] = {}


def loader_for(cls: type) -> Callable[[Any], Any]:
    loader = _loaders.get(cls)
    if loader is None:
        loader = _loaders[cls] = make_loader(cls)
    return loader


def positional_loader_for(cls: type) -> Callable[..., Any]:
    loader = _positional_loaders.get(cls)
    if loader is None:
        loader = _positional_loaders[cls] = make_loader(cls, positional=True)
    return loader


class _Sink:
    """Statement lines at one indentation, for work hoisted out of the returned dict display."""

    def __init__(self, lines: list[str], indent: str) -> None:
        self.lines, self.indent = lines, indent

    def add(self, line: str) -> None:
        self.lines.append(self.indent + line)

    def nested(self) -> "_Sink":
        return _Sink(self.lines, self.indent + "    ")


def _fresh(globs: dict[str, Any]) -> str:
    name = f"_v{len(globs)}"
    globs[name] = None  # reserves the name
    return name


def _dump_expr(annotation: Any, expr: str, globs: dict[str, Any], depth: int = 0, sink: _Sink | None = None) -> str:
    """An expression dumping ``expr`` (a field value of type ``annotation``).

    Nested configs are inlined as dict displays (a few levels deep), so a whole
    tree of configs dumps in one function call. With a ``sink``, lists and dicts
    of configs become plain loops before the display (comprehensions cost a
    function call each before Python 3.12).
    """
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if _is_config(annotation):
        template = getattr(annotation, "__noether_dump_template__", None)
        if template is None and not (depth < 3 and annotation not in _compiling_dumps and _compiled_form(annotation)):
            name = f"_dump_{len(globs)}"
            globs[name] = _nested_dump(annotation)
            return f"{name}({expr})"
        if sink is not None:
            var = expr
            if not expr.isidentifier():
                var = _fresh(globs)
                sink.add(f"{var} = {expr}")
            return template.format(v=var) if template else _dict_display(annotation, var, globs, depth + 1, sink)
        var = expr if expr.isidentifier() else _fresh(globs)
        globs[f"_m{len(globs)}"] = None  # reserves a number for this level's marker
        marker = f"\x00{len(globs)}\x00"  # unique per level: nested displays hold their own
        body = template.format(v=marker) if template else _dict_display(annotation, marker, globs, depth + 1, None)
        first = var if var == expr else f"({var} := {expr})"  # the first use in the display binds it
        return body.replace(marker, first, 1).replace(marker, var)
    if origin in (typing.Union, types.UnionType) and type(None) in args and len(args) == 2:
        var = _fresh(globs)
        inner = _dump_expr(next(a for a in args if a is not type(None)), var, globs, depth)
        return expr if inner == var else f"(None if ({var} := {expr}) is None else {inner})"
    is_list = origin in (list, tuple, collections.abc.Sequence)
    if is_list or origin in (dict, collections.abc.Mapping):
        element = (args[0] if args else Any) if is_list else (args[1] if len(args) == 2 else Any)
        item = _fresh(globs)
        if _dump_expr(element, item, dict(globs), depth) == item:  # plain values: a copy without a call
            return f"{expr}[:]" if is_list else f"{{**{expr}}}"
        if sink is None:
            inner = _dump_expr(element, item, globs, depth)
            return f"[{inner} for {item} in {expr}]" if is_list else f"{{k: {inner} for k, {item} in {expr}.items()}}"
        out = _fresh(globs)
        sink.add(f"{out} = []" if is_list else f"{out} = {{}}")
        sink.add(f"for {item} in {expr}:" if is_list else f"for {item}_key, {item} in {expr}.items():")
        inner = _dump_expr(element, item, globs, depth, sink.nested())
        sink.nested().add(f"{out}.append({inner})" if is_list else f"{out}[{item}_key] = {inner}")
        return out
    return expr  # checked leaves are JSON-like already


def _compiled_form(config_cls: Any) -> bool:
    """Whether ``config_cls`` dumps in the field form (no custom ``to_dict``)."""
    return bool(getattr(config_cls.to_dict, "__noether_dump__", False))


def _dict_display(cls: Any, var: str, globs: dict[str, Any], depth: int, sink: _Sink | None) -> str:
    items = [
        f"{name!r}: {_dump_expr(cls.model_fields[name].annotation, f'{var}.{name}', globs, depth, sink)}"
        for name in (a.name for a in cls.__noether_init_fields__)
    ]
    if cls.__noether_extra__ == "allow":
        items.append(f"**{var}.model_extra")
    return "{" + ", ".join(items) + "}"


def _nested_dump(config_cls: Any) -> Callable[[Any], Any]:
    """How a nested config dumps: its class's ``to_dict`` (custom, or compiled here)."""
    if _compiled_form(config_cls):
        if config_cls in _compiling_dumps:  # a config that nests itself
            return lambda value: dump_for(config_cls)(value)
        return dump_for(config_cls)
    return config_cls.to_dict  # type: ignore[no-any-return]


_compiling_dumps: set[type] = set()
_dumps: dict[type, Callable[[Any], dict[str, Any]]] = {}


def dump_for(cls: Any) -> Callable[[Any], dict[str, Any]]:
    """The field-form dump of ``cls``: ``{field: value, ..., **extras}`` in one dict display."""
    compiled = _dumps.get(cls)
    if compiled is not None:
        return compiled
    _compiling_dumps.add(cls)
    try:
        globs: dict[str, Any] = {}
        lines = ["def dump(self):"]
        display = _dict_display(cls, "self", globs, 0, _Sink(lines, "    "))
        lines.append(f"    return {display}")
        dump: Callable[[Any], dict[str, Any]] = _compile(cls, "dump", lines, globs)
    finally:
        _compiling_dumps.discard(cls)
    _dumps[cls] = dump
    dump.__noether_dump__ = True  # type: ignore[attr-defined]
    # Replace the stubs ``config`` installed, so later dumps call the compiled function directly.
    for attribute in ("_dump", "to_dict"):
        if getattr(cls.__dict__.get(attribute), "__noether_dump__", False):
            setattr(cls, attribute, dump)
    return dump
