"""The one error type config validation raises, shaped like pydantic's."""

from collections.abc import Sequence
from typing import Any, TypedDict

Loc = tuple[str | int, ...]


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


class InvalidValue(ValueError):
    """Raised by a field check; carries details with locations relative to the field.

    ``InvalidValue(type, msg, value)`` is one error; ``InvalidValue(details=[...])``
    carries several (from lists, dicts and nested configs).
    """

    def __init__(self, type_: str = "", msg: str = "", value: Any = None, details: list[ErrorDetails] | None = None):
        if details is None:
            details = [{"loc": (), "msg": msg, "type": type_, "input": value}]
        self.details = details

    def __str__(self) -> str:
        return "; ".join(f"{format_loc(d['loc'])}: {d['msg']}" if d["loc"] else d["msg"] for d in self.details)


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ValidationError(ValueError):
    """Every field error of one config at once; ``errors()`` lists them as pydantic does."""

    def __init__(self, title: str, errors: Sequence[ErrorDetails]) -> None:
        super().__init__(title, errors)
        self.title = title
        self._errors = list(errors)

    def __str__(self) -> str:
        # Rendered on demand: code that catches and inspects errors() never pays for it.
        return self._render()

    def errors(self) -> list[ErrorDetails]:
        return [dict(e) for e in self._errors]  # type: ignore[misc]

    def error_count(self) -> int:
        return len(self._errors)

    def _render(self) -> str:
        n = len(self._errors)
        lines = [f"{n} validation error{'s' if n != 1 else ''} for {self.title}"]
        for e in self._errors:
            lines.append(format_loc(e["loc"]))
            lines.append(
                f"  {e['msg']} [type={e['type']}, input_value={_short_repr(e['input'])}, "
                f"input_type={type(e['input']).__name__}]"
            )
        return "\n".join(lines)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.title, self._errors))
