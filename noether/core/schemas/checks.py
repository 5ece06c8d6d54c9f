"""Strict per-field checks, built once per field from its annotation.

A check takes the raw value and returns the value to store. On bad input it
raises :class:`InvalidValue` (how attrs converters abort a constructor), or, when
called with ``raise_=False``, returns the :class:`InvalidValue` instead: the error
path checks every field that way, without paying for one exception per field.
Failures raise where they are found, since each extra frame an exception
unwinds costs as much as a whole passing check.
Checks run as attrs converters, so direct construction and loading from data
share one set of rules:

* ``int``: an int (not a bool, a float or a string).
* ``float``: a float or an int (stored as float), or a string holding a finite
  decimal number such as ``"1e-3"``, because YAML 1.1 loaders (PyYAML) read
  exponent notation without a dot as a string. Never a bool; NaN is rejected.
* ``bool``: ``True`` or ``False`` only, never ``"false"``, ``0`` or ``1``.
* ``str``: a string only.
* ``Literal[...]``: one of the listed values, of the same type.
* ``list[X]`` / ``Sequence[X]``: a list or tuple (stored as a new list); a bare
  string is refused instead of being read as a list of characters.
* ``dict[str, X]``: a dict with string keys (stored as a new dict).
* a config class: an instance of it, or a mapping loaded with its ``from_dict``.
"""

import collections.abc
import math
import re
import types
import typing
from collections.abc import Callable
from typing import Any, Protocol

from noether.core.schemas.errors import ErrorDetails, InvalidValue, ValidationError


class Check(Protocol):
    def __call__(self, value: Any, raise_: bool = True, /) -> Any: ...


_STR_ONLY = {str}
_FLOAT_STRING = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _bounds_error(lo: float, hi: float) -> Callable[[Any, bool], InvalidValue]:
    above = f"Input should be greater than or equal to {lo}"
    below = f"Input should be less than or equal to {hi}"

    def bounds_error(value: Any, raise_: bool) -> InvalidValue:
        if value != value:
            err = InvalidValue("finite_number", "Input should be a finite number", value)
            if raise_:
                raise err
            return err
        if value < lo:
            err = InvalidValue("greater_than_equal", above, value)
            if raise_:
                raise err
            return err
        err = InvalidValue("less_than_equal", below, value)
        if raise_:
            raise err
        return err

    return bounds_error


def int_check(ge: float | None = None, le: float | None = None) -> Check:
    lo = -math.inf if ge is None else ge
    hi = math.inf if le is None else le
    bounds_error = _bounds_error(lo, hi)

    def check_int(value: Any, raise_: bool = True) -> Any:
        if type(value) is not int and (not isinstance(value, int) or isinstance(value, bool)):
            err = InvalidValue("int_type", "Input should be a valid integer", value)
            if raise_:
                raise err
            return err
        if value < lo or value > hi:
            return bounds_error(value, raise_)
        return value

    return check_int


def float_check(ge: float | None = None, le: float | None = None) -> Check:
    lo = -math.inf if ge is None else ge
    hi = math.inf if le is None else le
    bounds_error = _bounds_error(lo, hi)

    def check_float(value: Any, raise_: bool = True) -> Any:
        kind = type(value)
        if kind is not float:
            if kind is int or (isinstance(value, (int, float)) and kind is not bool):
                value = float(value)
            elif kind is str and _FLOAT_STRING.fullmatch(value):
                value = float(value)
            else:
                err = InvalidValue("float_type", "Input should be a valid number", value)
                if raise_:
                    raise err
                return err
        if not lo <= value <= hi:
            return bounds_error(value, raise_)
        return value

    return check_float


def check_bool(value: Any, raise_: bool = True) -> Any:
    if value is True or value is False:
        return value
    err = InvalidValue("bool_type", "Input should be a valid boolean (true or false)", value)
    if raise_:
        raise err
    return err


def check_str(value: Any, raise_: bool = True) -> Any:
    if isinstance(value, str):
        return value
    err = InvalidValue("string_type", "Input should be a valid string", value)
    if raise_:
        raise err
    return err


def check_any(value: Any, raise_: bool = True) -> Any:
    return value


def literal_check(allowed: tuple[Any, ...]) -> Check:
    expected = ", ".join(repr(a) for a in allowed[:-1])
    msg = f"Input should be {expected} or {allowed[-1]!r}" if expected else f"Input should be {allowed[0]!r}"
    keys = frozenset((type(a), a) for a in allowed)

    def check_literal(value: Any, raise_: bool = True) -> Any:
        try:
            if (type(value), value) in keys:
                return value
        except TypeError:  # unhashable input
            pass
        err = InvalidValue("literal_error", msg, value)
        if raise_:
            raise err
        return err

    if not all(type(a) is str for a in allowed):
        return check_literal
    strings = frozenset(allowed)

    def check_str_literal(value: Any, raise_: bool = True) -> Any:
        if type(value) is str and value in strings:
            return value
        err = InvalidValue("literal_error", msg, value)
        if raise_:
            raise err
        return err

    return check_str_literal


def optional_check(inner: Check) -> Check:
    def check_optional(value: Any, raise_: bool = True) -> Any:
        return None if value is None else inner(value, raise_)

    return check_optional


def _prefix(err: InvalidValue, key: str | int) -> list[ErrorDetails]:
    for detail in err.details:  # fresh dicts made by the failing check: prefix in place
        detail["loc"] = (key, *detail["loc"])
    return err.details


def list_check(inner: Check, min_length: int = 0) -> Check:
    strings = inner is check_str
    too_short = f"List should have at least {min_length} item{'s' if min_length != 1 else ''} after validation"

    def check_list(value: Any, raise_: bool = True) -> Any:
        if not isinstance(value, (list, tuple)):
            hint = " (a bare string is not a list of names)" if isinstance(value, str) else ""
            err = InvalidValue("list_type", f"Input should be a valid list{hint}", value)
            if raise_:
                raise err
            return err
        if strings and (not value or set(map(type, value)) == _STR_ONLY):
            out = list(value)
        else:
            out, errors = [], []
            for i, item in enumerate(value):
                result = inner(item, False)
                if type(result) is InvalidValue:
                    errors.extend(_prefix(result, i))
                else:
                    out.append(result)
            if errors:
                err = InvalidValue(details=errors)
                if raise_:
                    raise err
                return err
        if len(out) < min_length:
            err = InvalidValue("too_short", f"{too_short}, not {len(out)}", value)
            if raise_:
                raise err
            return err
        return out

    return check_list


def dict_check(value_check: Check) -> Check:
    def check_dict(value: Any, raise_: bool = True) -> Any:
        if not isinstance(value, collections.abc.Mapping):
            err = InvalidValue("dict_type", "Input should be a valid dictionary", value)
            if raise_:
                raise err
            return err
        out, errors = {}, []
        for key, item in value.items():
            if not isinstance(key, str):
                errors.extend(_prefix(InvalidValue("string_type", "Input should be a valid string", key), str(key)))
                continue
            result = value_check(item, False)
            if type(result) is InvalidValue:
                errors.extend(_prefix(result, key))
            else:
                out[key] = result
        if errors:
            err = InvalidValue(details=errors)
            if raise_:
                raise err
            return err
        return out

    return check_dict


def config_check(cls: Any) -> Check:
    expected = f"Input should be a valid dictionary or instance of {cls.__name__}"

    def check_config(value: Any, raise_: bool = True) -> Any:
        if isinstance(value, cls):
            return value
        if type(value) is dict or isinstance(value, collections.abc.Mapping):
            try:
                return cls.from_dict(value)
            except ValidationError as exc:
                err = InvalidValue(details=exc.errors())
        else:
            err = InvalidValue("model_type", expected, value)
        if raise_:
            raise err
        return err

    return check_config


def custom_check(type_check: Check, custom: Callable[[Any], Any]) -> Check:
    """Run ``custom`` after the type check; a ``ValueError`` from it becomes a field error."""

    def check_custom(value: Any, raise_: bool = True) -> Any:
        result = type_check(value, raise_)
        if type(result) is InvalidValue:
            return result
        try:
            return custom(result)
        except InvalidValue as exc:
            err = exc
        except ValueError as exc:
            err = InvalidValue("value_error", str(exc), value)
        if raise_:
            raise err
        return err

    return check_custom


def build_check(annotation: Any, ge: float | None = None, le: float | None = None, min_length: int = 0) -> Check:
    """The check for one annotation; unsupported annotations fail at class definition."""
    if annotation is Any or annotation is object:
        return check_any
    if annotation is bool:
        return check_bool
    if annotation is int:
        return int_check(ge, le)
    if annotation is float:
        return float_check(ge, le)
    if annotation is str:
        return check_str
    if getattr(annotation, "__noether_config__", False):
        return config_check(annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return literal_check(args)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return optional_check(build_check(rest[0], ge, le, min_length))
    if origin in (list, tuple, collections.abc.Sequence) and args:
        if origin is tuple and (len(args) != 2 or args[1] is not Ellipsis):
            raise TypeError(f"only variable-length tuples are supported, got {annotation!r}")
        return list_check(build_check(args[0]), min_length)
    if origin in (dict, collections.abc.Mapping) and len(args) == 2 and args[0] is str:
        return dict_check(build_check(args[1]))
    raise TypeError(f"no config check for annotation {annotation!r}")
