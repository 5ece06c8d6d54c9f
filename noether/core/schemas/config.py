"""Config classes on attrs, loaded and dumped by cattrs, with the pydantic-like API.

Validation lives on the attrs class: every field's check (see
:mod:`noether.core.schemas.converter`) is its attrs converter and model
validators run after ``__init__``, so construction, ``from_dict``,
``cattrs.structure``, assignment and ``attrs.evolve`` share one set of rules.
The converter's hook for a config class is a loader generated for it
(:mod:`noether.core.schemas.fast`); whatever that loader doubts goes to the
function ``cattrs.gen`` generates with detailed validation, which decides, and
whose exception groups :func:`~noether.core.schemas.errors.translate` locates.
"""

import contextvars
import copy
import functools
import sys
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, overload

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from noether.core.schemas.converter import converter, field_check, jsonable
from noether.core.schemas.errors import InvalidValue, ValidationError, error, translate
from noether.core.schemas.fast import Doubt, make_dump, make_loader

if sys.version_info >= (3, 11):
    from typing import Self, dataclass_transform
else:  # pragma: no cover - exercised on the 3.10 tox env
    from typing_extensions import Self, dataclass_transform

ExtraMode = Literal["allow", "forbid"]
C = TypeVar("C", bound="Config")
_META = "noether"
_INTERNAL = ("model_extra", "_fields_set")
_IMMUTABLE = (type(None), bool, int, float, complex, str, bytes, tuple, frozenset)
_setattr = object.__setattr__
_explaining = contextvars.ContextVar("noether_explaining", default=False)


@attrs.frozen
class FieldInfo:
    """What ``model_fields`` reports about one field (``field()`` keeps it in the attrs metadata)."""

    name: str = ""
    annotation: Any = None
    default: Any = attrs.field(factory=lambda: attrs.NOTHING)  # NOTHING: required
    description: str = ""
    ge: float | None = None
    le: float | None = None
    min_length: int = 0
    derived: bool = False
    json_schema: Mapping[str, Any] = attrs.field(factory=dict)
    check: Callable[[Any], Any] | None = attrs.field(default=None, repr=False)

    def is_required(self) -> bool:
        return self.default is attrs.NOTHING


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
    json_schema: Mapping[str, Any] | None = None,
) -> Any:
    """Declare a config field.

    ``ge``/``le`` bound numbers, ``min_length`` bounds collections, ``check``
    runs after the type check (it returns the value or raises ``ValueError``),
    ``json_schema`` adds keywords to the field's schema. A ``derived`` field is
    set by a model validator: input may repeat its value but never contradict it.
    A mutable default is copied for every instance.
    """
    info = FieldInfo(description=description, ge=ge, le=le, min_length=min_length, derived=derived,
                     json_schema=dict(json_schema or {}), check=check)  # fmt: skip
    if factory is None and default is not attrs.NOTHING and not isinstance(default, _IMMUTABLE):
        factory = lambda: copy.deepcopy(default)  # noqa: E731
    if factory is not None:
        return attrs.field(factory=factory, metadata={_META: info}, init=not derived)
    return attrs.field(default=default, metadata={_META: info}, init=not derived)


def model_validator(fn: Callable[[C], None]) -> Callable[[C], None]:
    """Mark a method to run after every field passed its check.

    It raises ``ValueError`` to reject the config and may set derived fields.
    Subclasses inherit validators; redefining one by name replaces it.
    """
    fn.__noether_model_validator__ = True  # type: ignore[attr-defined]
    return fn


def _info(a: "attrs.Attribute[Any]") -> FieldInfo:
    info: FieldInfo = a.metadata.get(_META, FieldInfo())
    default: Any = a.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        default = default.factory()
    return attrs.evolve(info, name=a.name, annotation=a.type, default=default)


def _check(info: FieldInfo) -> Callable[[Any], Any]:
    return field_check(info.annotation, info.ge, info.le, info.min_length, info.check)


def _no_extras(self: Any, attribute: Any, value: dict[str, Any]) -> None:
    if value:
        raise ValueError(f"{type(self).__name__} takes no extra keys, got {sorted(value)}")


def _install_checks(cls: type, fields: list["attrs.Attribute[Any]"]) -> list["attrs.Attribute[Any]"]:
    hints: dict[str, Any] | None = None
    out = []
    for a in fields:
        a = a.evolve(on_setattr=attrs.setters.NO_OP)  # __init__ sets slots directly; Config.__setattr__ checks
        if a.name == "model_extra" and getattr(cls, "__noether_extra__", "forbid") == "forbid":
            a = a.evolve(validator=_no_extras)
        elif a.name not in _INTERNAL and a.converter is None:
            annotation = a.type
            if isinstance(annotation, str):  # postponed annotations: resolve once per class
                hints = typing.get_type_hints(cls) if hints is None else hints
                annotation = hints[a.name]
            a = a.evolve(type=annotation)
            a = a.evolve(converter=_check(_info(a)) if a.init else None)
        out.append(a)
    return out


def _collect_validators(cls: type) -> tuple[Callable[[Any], None], ...]:
    by_name: dict[str, Callable[[Any], None]] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if not name.startswith("__") and getattr(value, "__noether_model_validator__", False):
                by_name.pop(name, None)
                by_name[name] = value
    return tuple(by_name.values())


def _run(validators: tuple[Callable[[Any], None], ...]) -> Callable[[Any], None]:
    def __attrs_post_init__(self: Any) -> None:
        for validate in validators:
            validate(self)

    return __attrs_post_init__


@overload
def config(cls: type[C], /) -> type[C]: ...
@overload
def config(*, extra: ExtraMode | None = None) -> Callable[[type[C]], type[C]]: ...


@dataclass_transform(kw_only_default=True, field_specifiers=(field, attrs.field))
def config(cls: type[C] | None = None, /, *, extra: ExtraMode | None = None) -> Any:
    """Make ``cls`` a validated, keyword-only, slotted attrs config class.

    ``cls`` need not subclass :class:`Config`: the API comes with the decorator.
    ``extra="allow"`` keeps unknown keys in ``model_extra`` (readable as
    attributes and dumped back); ``"forbid"`` (the default) reports them.
    Subclasses inherit the mode unless they set their own.
    """

    def wrap(cls: type[C]) -> type[C]:
        if not issubclass(cls, Config):  # a plain class gets the API by becoming a Config
            namespace = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
            cls = type(cls.__name__, (*(b for b in cls.__bases__ if b is not object), Config), namespace)
        if extra is not None:
            cls.__noether_extra__ = extra
        validators = _collect_validators(cls)
        if validators:
            cls.__attrs_post_init__ = validators[0] if len(validators) == 1 else _run(validators)  # type: ignore[attr-defined]
        new = attrs.define(cls, kw_only=True, slots=True, init=False, repr=False, field_transformer=_install_checks)
        own = [a for a in attrs.fields(new) if a.name not in _INTERNAL]
        if "to_dict" not in vars(cls):
            new.to_dict = Config.to_dict  # type: ignore[method-assign]  # each class installs its dump on first use
        new.model_fields = {a.name: _info(a) for a in own}
        new.__noether_names__ = frozenset(new.model_fields)
        new.__noether_derived__ = {n: _check(i) for n, i in new.model_fields.items() if i.derived}
        for a in own:  # a default that fails its own check is a bug in the class: fail at definition
            if a.init and a.default is not attrs.NOTHING and not isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]
                try:
                    a.converter(a.default)
                except ValueError as exc:
                    raise TypeError(f"{new.__name__}.{a.name}: default {a.default!r} is invalid: {exc}") from None
        return new

    return wrap if cls is None else wrap(cls)


def is_config_class(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Config)


def _omitted(cls: Any) -> dict[str, Any]:
    """cattrs overrides that leave the bookkeeping and derived fields to the config."""
    return {name: override(omit=True) for name in (*_INTERNAL, *cls.__noether_derived__)}


@functools.cache
def _detailed_structure(cls: Any) -> Any:
    """cattrs' generated function with detailed validation, each given field's check (its attrs converter) as hook."""
    checks: dict[str, Any] = {
        a.name: override(struct_hook=a.converter) for a in attrs.fields(cls) if a.init and a.converter
    }
    return make_dict_structure_fn(
        cls, converter, _cattrs_forbid_extra_keys=cls.__noether_extra__ == "forbid",
        _cattrs_detailed_validation=True, **_omitted(cls), **checks,
    )  # fmt: skip


@attrs.define(kw_only=True, slots=True, init=False, repr=False, on_setattr=attrs.setters.NO_OP)
class Config:
    """Base of every noether config: the pydantic-style API over attrs and cattrs."""

    __noether_extra__: ClassVar[ExtraMode] = "forbid"
    __noether_names__: ClassVar[frozenset[str]] = frozenset()
    __noether_derived__: ClassVar[dict[str, Callable[[Any], Any]]] = {}  # derived field -> its check
    model_fields: ClassVar[dict[str, FieldInfo]] = {}

    model_extra: dict[str, Any] = attrs.field(factory=dict)  # an init field, so attrs.evolve keeps extras
    _fields_set: Any = attrs.field(default=None, init=False, eq=False)

    def __init__(self, **kwargs: Any) -> None:
        try:
            self.__attrs_init__(**kwargs)
        except Exception:
            if _explaining.get():  # inside the detailed structuring: let cattrs collect this error
                raise
            extra = kwargs.pop("model_extra", None)  # attrs.evolve passes the extras back this way
            fresh = type(self)._explain({**kwargs, **(extra or {})})  # extras, derived values, or every error
            for a in attrs.fields(type(self)):
                _setattr(self, a.name, getattr(fresh, a.name))
            return
        _setattr(self, "_fields_set", tuple(kwargs))

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # Only reached when normal lookup fails: extras read like fields.
            if name != "model_extra":
                try:
                    return self.model_extra[name]
                except (KeyError, AttributeError):
                    pass
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        """Assignment re-validates: the config is rebuilt with the new value, or nothing changes."""
        if name not in self.__noether_names__ or self._fields_set is None:  # bookkeeping, or constructing
            return _setattr(self, name, value)
        cls = type(self)
        if name in cls.__noether_derived__:  # may repeat the derived value, never contradict it
            current = getattr(self, name)
            try:
                value = cls.__noether_derived__[name](value)
            except InvalidValue as exc:
                raise ValidationError(cls.__name__, translate(exc, value, (name,))) from None
            if value != current:
                msg = f"{name} is derived from the other fields as {current!r}; leave it unset"
                raise ValidationError(cls.__name__, [error("derived_mismatch", msg, value, (name,))])
            return None
        fresh = self._rebuilt({name: value})
        for a in attrs.fields(cls):
            _setattr(self, a.name, getattr(fresh, a.name))
        return None

    def _rebuilt(self, changes: Mapping[str, Any]) -> Self:
        """A validated copy with ``changes``: the keys given stay given, and the changed ones join them."""
        fresh = type(self).from_dict({**self._inputs(), **changes})
        _setattr(fresh, "_fields_set", (*self.model_fields_set, *changes))
        return fresh

    def __repr__(self) -> str:
        parts = [f"{name}={getattr(self, name)!r}" for name in self.model_fields]
        parts += [f"{k}={v!r}" for k, v in self.model_extra.items()]
        return f"{type(self).__name__}({', '.join(parts)})"

    # -- the cattrs hooks --------------------------------------------------------------------

    @classmethod
    def _structure_hook(cls) -> Callable[[Any, Any], Any]:
        """The hook ``converter`` uses for this class: the generated loader (:mod:`.fast`), and
        cattrs' detailed validation (``_explain``) for whatever the loader doubts."""
        init_names = cls.__noether_names__ - cls.__noether_derived__.keys()
        derived, allow, explain = tuple(cls.__noether_derived__), cls.__noether_extra__ == "allow", cls._explain

        def rest(instance: Any, data: Any) -> Any:
            extra = {k: v for k, v in data.items() if k not in init_names}
            for name in derived:
                if name in extra:
                    setattr(instance, name, extra.pop(name))
            if extra:
                if not allow:
                    raise Doubt
                "".join(extra)  # raises TypeError on a key that is not a string: a doubt too
                _setattr(instance, "model_extra", extra)
            return instance

        fast = make_loader(cls, rest)

        def structure(data: Any, _type: Any = cls) -> Any:
            try:
                return fast(data)
            except Exception:
                pass
            return explain(data)  # outside the handler: its errors do not chain the loader's doubt

        structure.load = fast  # type: ignore[attr-defined]  # inlined by the loaders of configs that nest this one

        return structure

    @classmethod
    def _explain(cls, data: Any) -> Self:
        """Load ``data`` with cattrs' detailed validation: the instance, or every error at once."""
        if isinstance(data, cls):
            return data
        if type(data) is not dict and not isinstance(data, Mapping):
            expected = f"Input should be a valid dictionary or instance of {cls.__name__}"
            raise ValidationError(cls.__name__, [error("model_type", expected, data)])
        derived, core = {}, data
        if not cls.__noether_derived__.keys().isdisjoint(data):
            derived = {k: v for k, v in data.items() if k in cls.__noether_derived__}
            core = {k: v for k, v in data.items() if k not in derived}
        token = _explaining.set(True)
        try:
            instance = _detailed_structure(cls)(core)  # type: ignore[arg-type]
            failure = None
        except Exception as exc:
            failure = exc
        _explaining.reset(token)
        if failure is not None:  # raised outside the handler: no context chained, no frames kept alive
            errors = translate(failure, core)
            del failure
            raise ValidationError(cls.__name__, errors)
        errors = []
        for name, value in derived.items():
            try:
                setattr(instance, name, value)
            except ValidationError as exc:
                errors += exc.errors()
        extra = {k: v for k, v in core.items() if k not in cls.__noether_names__}
        errors += [
            error("string_type", "Extra keys should be strings", k, (str(k),)) for k in extra if type(k) is not str
        ]
        if errors:
            raise ValidationError(cls.__name__, errors)
        _setattr(instance, "model_extra", extra)
        _setattr(instance, "_fields_set", tuple(data))
        return instance  # type: ignore[no-any-return]

    @classmethod
    def _unstructure_hook(cls) -> Callable[[Any], Any]:
        """The hook ``converter`` uses to dump this class: a generated dump (:mod:`.fast`)."""
        return make_dump(cls)

    # -- the pydantic-style API --------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build and validate from plain data (a dict loaded from YAML, JSON or a checkpoint)."""
        hook = cls.__dict__.get("__noether_hook__")
        if hook is None:  # the converter's hook for this class, looked up once
            hook = converter.get_structure_hook(cls)
            type.__setattr__(cls, "__noether_hook__", hook)
        return hook(data, cls)  # type: ignore[no-any-return]

    def to_dict(self) -> dict[str, Any]:
        """Plain data that ``from_dict`` turns back into an equal config."""
        # The converter's hook for this class becomes the class's to_dict: later calls go straight to it.
        dump = converter.get_unstructure_hook(type(self))
        type.__setattr__(type(self), "to_dict", dump)
        return dump(self)  # type: ignore[no-any-return]

    @classmethod
    def model_validate(cls, obj: Any) -> Self:
        return converter.structure(obj, cls)

    @classmethod
    def model_validate_json(cls, text: str | bytes) -> Self:
        import json  # here, not at import: the cold import of every config pays for the module otherwise

        return converter.structure(json.loads(text), cls)

    @classmethod
    def model_construct(cls, _fields_set: set[str] | None = None, **values: Any) -> Self:
        """An instance from trusted values, without validation (as pydantic's, ``_fields_set`` included)."""
        instance = cls.__new__(cls)
        for a in attrs.fields(cls):
            if a.name in values:
                _setattr(instance, a.name, values[a.name])
            elif a.default is not attrs.NOTHING:
                default = a.default.factory() if isinstance(a.default, attrs.Factory) else a.default  # type: ignore[arg-type]
                _setattr(instance, a.name, default)
        extra = {k: v for k, v in values.items() if k not in cls.__noether_names__ and k not in _INTERNAL}
        _setattr(instance, "model_extra", extra if cls.__noether_extra__ == "allow" else {})
        given = values.keys() & cls.__noether_names__ if _fields_set is None else _fields_set
        _setattr(instance, "_fields_set", tuple(given))
        return instance

    @classmethod
    def coerce(cls, obj: Any) -> Self:
        """``obj`` as this class: an instance as is; another config (say the generic
        AttentionConfig with extras) or a mapping is validated anew, so extras this
        class does not know are reported instead of dropped."""
        if isinstance(obj, cls):
            return obj
        return cls.from_dict(obj._inputs() if isinstance(obj, Config) else obj)

    @property
    def model_fields_set(self) -> set[str]:
        """The keys given explicitly, extras included (as pydantic's), and those assigned or updated since."""
        names, extra = self.__noether_names__, self.model_extra
        return {k for k in self._fields_set or () if k in names or k in extra}

    def _inputs(self) -> dict[str, Any]:
        """The field form without derived fields: what rebuilding this config needs."""
        data = self._dump_source()
        for name, info in self.model_fields.items():
            if info.derived:
                data.pop(name, None)
        return data

    def model_dump(
        self,
        *,
        mode: Literal["python", "json"] = "python",
        include: set[str] | None = None,
        exclude: set[str] | None = None,
        exclude_none: bool = False,
    ) -> dict[str, Any]:
        data = self._dump_source()
        if include is not None:
            data = {k: v for k, v in data.items() if k in include}
        if exclude:
            data = {k: v for k, v in data.items() if k not in exclude}
        if exclude_none:
            data = {k: v for k, v in data.items() if v is not None}
        return jsonable(data) if mode == "json" else data

    def _dump_source(self) -> dict[str, Any]:
        return self.to_dict()

    def model_dump_json(self, *, indent: int | None = None, **kwargs: Any) -> str:
        import json

        return json.dumps(self.model_dump(mode="json", **kwargs), indent=indent)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A validated copy; derived fields are recomputed unless ``update`` sets them.

        Unlike pydantic, the copy is always re-validated, so an update cannot
        produce a config that ``from_dict`` would reject. ``deep`` is accepted
        for compatibility: nested configs are always rebuilt.
        """
        return self._rebuilt(update or {})

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]:
        from noether.core.schemas.json_schema import json_schema

        return json_schema(cls)

    @classmethod
    def _json_schema_def(cls, defs: dict[str, Any]) -> dict[str, Any]:
        """This class's schema (in ``$defs`` when nested); override beside a custom structure hook."""
        from noether.core.schemas.json_schema import object_schema

        return object_schema(cls, defs)


converter.register_structure_hook_factory(is_config_class, lambda cls: cls._structure_hook())
converter.register_unstructure_hook_factory(is_config_class, lambda cls: cls._unstructure_hook())
# The global converter routes configs to ours: cattrs.structure(data, SomeConfig) is SomeConfig.from_dict(data).
cattrs.global_converter.register_structure_hook_factory(is_config_class, lambda cls: converter.get_structure_hook(cls))
cattrs.global_converter.register_unstructure_hook_factory(
    is_config_class, lambda cls: converter.get_unstructure_hook(cls)
)
