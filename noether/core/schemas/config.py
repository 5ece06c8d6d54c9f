"""Config classes on attrs, with the pydantic-like API users of noether know.

A config is an attrs class made by :func:`config`. Every field gets one strict
check (see :mod:`noether.core.schemas.checks`) installed as its attrs converter,
so ``Cls(**kwargs)``, ``Cls.from_dict(d)`` and ``cattrs.structure(d, Cls)`` all
validate the same way. ``from_dict`` first tries the class's compiled loader
(:mod:`noether.core.schemas.compiled`); only when that (or attrs' ``__init__``)
rejects the input is every field checked again, to report all errors at once.
"""

import functools
import sys
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, overload

import attrs

from noether.core.schemas.checks import Check, build_check, custom_check
from noether.core.schemas.compiled import FAIL, dump_for, loader_for
from noether.core.schemas.errors import ErrorDetails, InvalidValue, ValidationError, error

if sys.version_info >= (3, 11):
    from typing import Self, dataclass_transform
else:  # pragma: no cover - exercised on the 3.10 tox env
    from typing_extensions import Self, dataclass_transform

ExtraMode = Literal["allow", "forbid"]
C = TypeVar("C", bound="Config")

_new = object.__new__

_META_KEY = "noether"


@attrs.frozen
class FieldInfo:
    """What ``model_fields`` reports about one field."""

    name: str
    annotation: Any
    default: Any = attrs.NOTHING
    description: str = ""
    ge: float | None = None
    le: float | None = None
    min_length: int = 0
    derived: bool = False

    def is_required(self) -> bool:
        return self.default is attrs.NOTHING


@attrs.frozen
class _FieldOptions:
    description: str = ""
    ge: float | None = None
    le: float | None = None
    min_length: int = 0
    derived: bool = False
    check: Callable[[Any], Any] | None = None


def field(
    *,
    default: Any = attrs.NOTHING,
    factory: Callable[[], Any] | None = None,
    description: str = "",
    ge: float | None = None,
    le: float | None = None,
    min_length: int = 0,
    derived: bool = False,
    check: Callable[[Any], Any] | None = None,
) -> Any:
    """Declare a config field.

    ``ge``/``le`` bound numbers, ``min_length`` bounds sequences, ``check`` runs
    after the type check (it returns the value or raises ``ValueError``), and a
    ``derived`` field is recomputed by a validator, so ``model_copy`` drops it.
    """
    options = _FieldOptions(description, ge, le, min_length, derived, check)
    if factory is not None:
        return attrs.field(factory=factory, metadata={_META_KEY: options})
    return attrs.field(default=default, metadata={_META_KEY: options})


def model_validator(fn: Callable[[C], None]) -> Callable[[C], None]:
    """Mark a method to run after all fields passed their checks.

    It raises ``ValueError`` to reject the config and may set derived fields.
    Subclasses inherit validators; redefining one by name replaces it.
    """
    fn.__noether_model_validator__ = True  # type: ignore[attr-defined]
    return fn


def _options(a: "attrs.Attribute[Any]") -> _FieldOptions:
    options = a.metadata.get(_META_KEY)
    return options if isinstance(options, _FieldOptions) else _FieldOptions()


def _install_checks(cls: type, fields: list["attrs.Attribute[Any]"]) -> list["attrs.Attribute[Any]"]:
    out = []
    hints: dict[str, Any] | None = None
    for a in fields:
        if a.init and a.converter is None:
            options = _options(a)
            annotation = a.type
            if isinstance(annotation, str):  # postponed annotations: resolve once per class
                hints = typing.get_type_hints(cls) if hints is None else hints
                annotation = hints[a.name]
            check = build_check(annotation, options.ge, options.le, options.min_length)
            if options.check is not None:
                check = custom_check(check, options.check)
            a = a.evolve(converter=check)
        out.append(a)
    return out


def _run_validators(validators: tuple[Callable[[Any], None], ...]) -> Callable[[Any], None]:
    def __attrs_post_init__(self: Any) -> None:
        for validate in validators:
            validate(self)

    return __attrs_post_init__


def _collect_validators(cls: type) -> tuple[Callable[[Any], None], ...]:
    by_name: dict[str, Callable[[Any], None]] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if not name.startswith("__") and getattr(value, "__noether_model_validator__", False):
                by_name.pop(name, None)
                by_name[name] = value
    return tuple(by_name.values())


def _field_errors(cls: type["Config"], data: Mapping[Any, Any]) -> list[ErrorDetails]:
    errors: list[ErrorDetails] = []
    for name, check, required in cls.__noether_checks__:
        if name in data:
            result = check(data[name], False)
            if type(result) is InvalidValue:
                for detail in result.details:  # fresh dicts made by the check: prefix in place
                    detail["loc"] = (name, *detail["loc"])
                errors.extend(result.details)
        elif required:
            errors.append(error("missing", "Field required", dict(data), (name,)))
    names = cls.__noether_field_names__
    for key, value in data.items():
        if key in names:
            continue
        if cls.__noether_extra__ == "forbid":
            errors.append(error("extra_forbidden", "Extra inputs are not permitted", value, (str(key),)))
        elif not isinstance(key, str):
            errors.append(error("string_type", "Extra keys should be strings", key, (str(key),)))
    return errors


def _finish_or_explain(cls: type["Config"], self: Any, data: Mapping[Any, Any]) -> list[ErrorDetails]:
    """The slow path: every error at once, or none after finishing ``self``."""
    errors = _field_errors(cls, data)
    if errors:
        return errors
    names = cls.__noether_field_names__
    known = {k: v for k, v in data.items() if k in names}
    try:
        cls.__noether_attrs_init__(self, **known)
    except ValidationError as exc:
        return exc.errors()
    except InvalidValue as exc:
        return exc.details
    except ValueError as exc:
        return [error("value_error", f"Value error, {exc}", dict(data))]
    if len(known) < len(data):
        self.model_extra = {k: v for k, v in data.items() if k not in names}
    return []


def _checked_init(cls: type["Config"], attrs_init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(attrs_init)
    def __init__(self: Any, **kwargs: Any) -> None:
        try:
            attrs_init(self, **kwargs)
        except (TypeError, ValueError):
            errors = _finish_or_explain(cls, self, kwargs)
            if errors:
                raise ValidationError(cls.__name__, errors) from None

    return __init__


def _resolved_annotations(cls: type, fields: tuple["attrs.Attribute[Any]", ...]) -> dict[str, Any]:
    if any(isinstance(a.type, str) for a in fields):
        hints = typing.get_type_hints(cls)
        return {a.name: hints[a.name] for a in fields}
    return {a.name: a.type for a in fields}


def _check_defaults(cls: type, fields: tuple["attrs.Attribute[Any]", ...]) -> None:
    """A default that fails its own field's check is a bug in the class: fail at definition."""
    for a in fields:
        if a.default is not attrs.NOTHING and not isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]
            result = a.converter(a.default, False)  # type: ignore[misc,operator]
            if type(result) is InvalidValue:
                raise TypeError(f"{cls.__name__}.{a.name}: default {a.default!r} is invalid: {result}")


def _dump_stub(self: Any) -> dict[str, Any]:
    # Each config class starts with this stub; the first dump compiles the class's
    # own function and installs it in place of the stub (see compiled.dump_for).
    return dump_for(type(self))(self)


_dump_stub.__noether_dump__ = True  # type: ignore[attr-defined]


@overload
def config(cls: type[C], /) -> type[C]: ...
@overload
def config(*, extra: ExtraMode | None = None) -> Callable[[type[C]], type[C]]: ...


@dataclass_transform(kw_only_default=True, field_specifiers=(field, attrs.field))
def config(cls: type[C] | None = None, /, *, extra: ExtraMode | None = None) -> Any:
    """Make ``cls`` a validated, keyword-only, slotted attrs config class.

    ``extra="allow"`` keeps unknown keys in ``model_extra`` (readable as
    attributes and dumped back); ``"forbid"`` reports them as errors. Subclasses
    inherit the mode unless they set their own.
    """

    def wrap(cls: type[C]) -> type[C]:
        if extra is not None:
            cls.__noether_extra__ = extra
        validators = _collect_validators(cls)
        if validators:
            run = validators[0] if len(validators) == 1 else _run_validators(validators)
            cls.__attrs_post_init__ = run  # type: ignore[attr-defined]
        new = attrs.define(
            cls,
            kw_only=True,
            slots=True,
            repr=False,
            on_setattr=attrs.setters.NO_OP,
            field_transformer=_install_checks,
        )
        init_fields = tuple(a for a in attrs.fields(new) if a.init)
        annotations = _resolved_annotations(new, init_fields)
        _check_defaults(new, init_fields)
        new.__noether_init_fields__ = init_fields
        new.__noether_checks__ = tuple((a.name, a.converter, a.default is attrs.NOTHING) for a in init_fields)
        new.__noether_field_names__ = frozenset(a.name for a in init_fields)
        new.__noether_attrs_init__ = new.__init__
        new.__init__ = _checked_init(new, new.__init__)  # type: ignore[method-assign]
        new._dump = _dump_stub  # type: ignore[method-assign]
        if getattr(new.to_dict, "__noether_dump__", False) or new.to_dict is Config.to_dict:
            new.to_dict = _dump_stub  # type: ignore[method-assign]
        new.model_fields = {
            a.name: FieldInfo(
                a.name,
                annotations[a.name],
                a.default.factory() if isinstance(a.default, attrs.Factory) else a.default,  # type: ignore[arg-type]
                **attrs.asdict(_options(a), filter=lambda at, _: at.name != "check"),
            )
            for a in init_fields
        }
        return new

    return wrap if cls is None else wrap(cls)


@attrs.define(kw_only=True, slots=True, repr=False, on_setattr=attrs.setters.NO_OP)
class Config:
    """Base of every noether config: pydantic-style API over attrs and cattrs."""

    __noether_config__: ClassVar[bool] = True
    __noether_extra__: ClassVar[ExtraMode] = "forbid"
    __noether_init_fields__: ClassVar[tuple["attrs.Attribute[Any]", ...]] = ()
    __noether_checks__: ClassVar[tuple[tuple[str, Check, bool], ...]] = ()
    __noether_field_names__: ClassVar[frozenset[str]] = frozenset()
    __noether_attrs_init__: ClassVar[Callable[..., None]]
    model_fields: ClassVar[dict[str, FieldInfo]] = {}

    model_extra: dict[str, Any] = attrs.field(init=False, factory=dict)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: extras read like fields.
        if name != "model_extra":
            try:
                return self.model_extra[name]
            except KeyError:
                pass
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        parts = [f"{a.name}={getattr(self, a.name)!r}" for a in self.__noether_init_fields__]
        parts += [f"{k}={v!r}" for k, v in self.model_extra.items()]
        return f"{type(self).__name__}({', '.join(parts)})"

    # -- structuring -------------------------------------------------------------------------

    @classmethod
    def _load(cls, data: Mapping[str, Any]) -> Self:
        loaded: Self = loader_for(cls)(data)
        if loaded is not FAIL:
            return loaded
        if type(data) is not dict and not isinstance(data, Mapping):
            expected = f"Input should be a valid dictionary or instance of {cls.__name__}"
            raise ValidationError(cls.__name__, [error("model_type", expected, data)])
        instance = _new(cls)
        errors = _finish_or_explain(cls, instance, data)
        if errors:
            raise ValidationError(cls.__name__, errors)
        return instance

    if TYPE_CHECKING:

        @classmethod
        def from_dict(cls, data: Mapping[str, Any]) -> Self:
            """Build and validate from plain data (a dict loaded from YAML, JSON or a checkpoint)."""

    else:
        from_dict = _load  # the same function: no extra call on the hot path

    def to_dict(self) -> dict[str, Any]:
        """Plain data that ``from_dict`` turns back into an equal config."""
        return self._dump()

    def _dump(self) -> dict[str, Any]:
        return dump_for(type(self))(self)

    # -- pydantic-style names ----------------------------------------------------------------

    @classmethod
    def model_validate(cls, obj: Any) -> Self:
        if isinstance(obj, cls):
            return obj
        return cls._load(obj)

    @classmethod
    def coerce(cls, obj: Any) -> Self:
        """``obj`` as this class: an instance as is; another config (say the generic
        AttentionConfig with extras) or a mapping is validated anew, so extras this
        class does not know are reported instead of dropped."""
        if isinstance(obj, cls):
            return obj
        return cls._load(obj._inputs() if isinstance(obj, Config) else obj)

    def _inputs(self) -> dict[str, Any]:
        """The field form without derived fields: what rebuilding this config needs."""
        data = self._dump()
        for name, info in self.model_fields.items():
            if info.derived:
                data.pop(name, None)
        return data

    def model_dump(self, *, exclude: set[str] | None = None, exclude_none: bool = False) -> dict[str, Any]:
        data = self._dump()
        if exclude:
            data = {k: v for k, v in data.items() if k not in exclude}
        if exclude_none:
            data = {k: v for k, v in data.items() if v is not None}
        return data

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A validated copy; derived fields are recomputed unless ``update`` sets them.

        Unlike pydantic, the copy is always re-validated, so an update cannot
        produce a config that ``from_dict`` would reject. ``deep`` is accepted
        for compatibility: nested configs are always rebuilt.
        """
        data = self._inputs()
        if update:
            data.update(update)
        return type(self)._load(data)

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]:
        from noether.core.schemas.json_schema import json_schema

        return json_schema(cls)
