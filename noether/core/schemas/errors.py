"""The one error type config validation raises, shaped like pydantic's, and the
translation of cattrs' detailed validation (exception groups with notes) into it."""

import difflib
import functools
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import attrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    IterableValidationError,
    IterableValidationNote,
)

Loc = tuple[str | int, ...]
MAX_SHOWN = 20
"""Errors worth the cost of a close-match search, or of a line each in a report; the rest are counted."""


class ErrorDetails(TypedDict):
    """One failing value: where it is, what is wrong, and what was given."""

    loc: Loc
    msg: str
    type: str
    input: Any


def error(type_: str, msg: str, value: Any, loc: Loc = ()) -> ErrorDetails:
    return {"loc": loc, "msg": msg, "type": type_, "input": value}


def format_loc(loc: Loc) -> str:
    """Dotted path into nested configs, e.g. ``blocks.0.attention.hidden_dim``."""
    return ".".join(str(part) for part in loc) or "(root)"


_SHORT = frozenset((int, float, bool, str, type(None)))


def excerpt(value: Any, limit: int = 60) -> str:
    """A bounded ``repr``: error messages never render a whole (possibly huge) input."""
    if type(value) not in _SHORT and isinstance(value, (list, tuple, dict, set, frozenset)) and len(value) > limit:
        value = f"<{type(value).__name__} of {len(value)} items>"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class InvalidValue(ValueError):
    """A field check's one error: ``InvalidValue(type, message, value[, True])``.

    ``True`` appends ``", got <value>"``. The message is built only when read:
    failing checks are the hot path of invalid input, and most are re-raised as
    :class:`ValidationError` or tried against another union member first.
    """

    def __str__(self) -> str:
        args = self.args
        return f"{args[1]}, got {excerpt(args[2])}" if len(args) > 3 else args[1]


class ValidationError(ValueError):
    """Every field error of one config at once; ``errors()`` lists them as pydantic does."""

    def __init__(self, title: str, errors: Sequence[ErrorDetails]) -> None:
        super().__init__(title, errors)
        self.title = title
        self._errors = list(errors)

    def __str__(self) -> str:
        n = len(self._errors)
        lines = [f"{n} validation error{'s' if n != 1 else ''} for {self.title}"]
        for e in self._errors:
            lines.append(format_loc(e["loc"]))
            lines.append(
                f"  {e['msg']} [type={e['type']}, input_value={excerpt(e['input'])}, "
                f"input_type={type(e['input']).__name__}]"
            )
        return "\n".join(lines)

    def errors(self) -> list[ErrorDetails]:
        return [error(e["type"], e["msg"], e["input"], e["loc"]) for e in self._errors]

    def error_count(self) -> int:
        return len(self._errors)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.title, self._errors))


def did_you_mean(name: str, candidates: Sequence[str]) -> str:
    """``". Did you mean 'x'?"`` for close matches, else ``""``: one wording for unknown keys and names."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f". Did you mean {' or '.join(map(repr, close))}?" if close else ""


def hinted(errors: list[ErrorDetails], known: Sequence[str]) -> list[ErrorDetails]:
    """Close matches for the first unknown keys: a document of thousands stays quick to refuse."""
    for e in [e for e in errors if e["type"] == "extra_forbidden"][:MAX_SHOWN]:
        e["msg"] += did_you_mean(str(e["loc"][0]), known)
    return errors


@functools.cache
def _keys(cls: Any) -> dict[str, str]:
    """A config's slots as the keys of its documents (``_name`` -> ``name``). A plain attrs class
    loads by attribute name, as cattrs does by default: nothing to map."""
    return {a.name: a.alias for a in attrs.fields(cls)} if hasattr(cls, "model_fields") else {}


def translate(exc: BaseException, data: Any, loc: Loc = ()) -> list[ErrorDetails]:
    """Flatten what a structuring hook raised into located errors.

    ``data`` is the input the hook was given, so each error can show its own value.
    Tracebacks are dropped on the way: cattrs' generated function keeps the errors it
    collects in a local, so each traceback is a cycle back to its frame, and leaving
    them to the garbage collector doubled the cost of invalid input.
    """
    exc.__traceback__ = None
    if isinstance(exc, InvalidValue):
        return [{"loc": loc, "msg": str(exc), "type": exc.args[0], "input": exc.args[2]}]
    if isinstance(exc, ValidationError):
        return [{**e, "loc": loc + e["loc"]} for e in exc._errors]
    if isinstance(exc, (ClassValidationError, IterableValidationError)):
        out: list[ErrorDetails] = []
        public = _keys(getattr(exc, "cl", None))
        for sub in exc.exceptions:
            for note in getattr(sub, "__notes__", ()):
                if isinstance(note, AttributeValidationNote):
                    key: str | int = public.get(note.name, note.name)
                    break
                if isinstance(note, IterableValidationNote):
                    key = note.index
                    break
            else:  # raised by the class itself (a model validator), not by one field
                out += translate(sub, data, loc)
                continue
            if isinstance(sub, KeyError) and isinstance(data, Mapping) and key not in data:
                out.append(error("missing", "Field required", dict(data), (*loc, key)))
                continue
            try:
                child = data[key]
            except (KeyError, IndexError, TypeError):
                child = None
            out += translate(sub, child, (*loc, key))
        return out
    if isinstance(exc, (ValueError, TypeError)):
        return [error("value_error", str(exc), data, loc)]
    raise exc
