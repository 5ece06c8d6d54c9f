"""Config classes on attrs, loaded and dumped by cattrs, with the pydantic-like API.

One path decides: every field's check (:mod:`noether.core.schemas.converter`) is its
attrs converter, model validators run after ``__init__``, and ``__init__`` checks the
extras before them, so construction, ``from_dict``, ``cattrs.structure``,
assignment and ``attrs.evolve`` all pass through ``__init__``'s checks. cattrs' generated
functions structure (``prefer_attrib_converters``: the checks run once, in ``__init__``)
and dump; when ``__init__`` refuses, the function cattrs generates with detailed
validation runs only to explain, and :func:`~noether.core.schemas.errors.translate`
turns its exception groups into one located :class:`ValidationError`.

Each field is kept in a slot of its own, ``_name``, which attrs' ``__init__`` assigns
directly; the field's name is a property whose setter re-validates. A ``__setattr__`` on
the class would make every load call it, or ``object.__setattr__``, once per field.
"""

import contextvars
import copy
import functools
import sys
import typing
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, overload

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from noether.core.schemas.converter import converter, field_check, jsonable, owned, unknown_key
from noether.core.schemas.errors import ErrorDetails, InvalidValue, ValidationError, error, hinted, translate

if sys.version_info >= (3, 11):
    from typing import Self, dataclass_transform
else:  # pragma: no cover - exercised on the 3.10 tox env
    from typing_extensions import Self, dataclass_transform

ExtraMode = Literal["allow", "forbid"]
C = TypeVar("C", bound="Config")
_META = "noether"
_EXTRA = "_extra"  # the extras' init name: attrs.evolve hands extras back through it
_INTERNAL = (_EXTRA, "_fields_set")
_IMMUTABLE = (type(None), bool, int, float, complex, str, bytes, tuple, frozenset)
_NO_EXTRAS: dict[str, Any] = {}  # shared: extras are replaced, never mutated (no dict per load)
_Parts = tuple[dict[str, Any], dict[str, Any], dict[str, Any], list[ErrorDetails]]
"""Input split by :func:`_partition`: init keywords, extras, derived values, the extras' errors."""
_explaining: contextvars.ContextVar[type | None] = contextvars.ContextVar("noether_explaining", default=None)


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

    ``ge``/``le`` bound numbers (or a mapping's number values), ``min_length`` bounds
    collections, ``check`` runs after the type check (it returns the value or raises
    ``ValueError``), ``json_schema`` adds keywords to the field's schema. A ``derived``
    field is set by a model validator: input may repeat its value but never contradict
    it. A mutable default is copied for every instance.
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
    return attrs.evolve(info, name=a.alias or a.name, annotation=a.type, default=default)


def _check(info: FieldInfo, owner: str = "") -> Callable[[Any], Any]:
    where = f"{owner}.{info.name}" if owner else info.name
    return field_check(info.annotation, info.ge, info.le, info.min_length, info.check, where)


def _install_checks(cls: type, fields: list["attrs.Attribute[Any]"]) -> list["attrs.Attribute[Any]"]:
    """Each field checked by its attrs converter, and stored in a slot of its own (``_name``) that
    ``__init__`` assigns directly; the public name is the property that re-validates assignment."""
    hints: dict[str, Any] | None = None
    out = []
    slots = {a.name for a in fields}  # an inherited field's slot, which a field declared here may replace
    for a in fields:
        if a.name in RESERVED and a.name not in _INTERNAL:
            raise TypeError(f"{cls.__name__}.{a.name}: the name is reserved for the config API")
        if a.name not in _INTERNAL and a.converter is None:
            annotation = a.type
            if isinstance(annotation, str):  # postponed annotations: resolve once per class
                hints = typing.get_type_hints(cls) if hints is None else hints
                annotation = hints[a.name]
            a = a.evolve(type=annotation)
            a = a.evolve(converter=_check(_info(a), cls.__name__) if a.init else None)
        if not a.name.startswith("_"):  # a field declared here (an inherited one has its slot already)
            slot = f"_{a.name}"
            if slot in _INTERNAL or (slot not in slots and hasattr(cls, slot)):
                raise TypeError(f"{cls.__name__}.{a.name}: the name is reserved: its slot, {slot}, is the API's")
            a = a.evolve(name=slot, alias=a.name)
        out.append(a)
    names = [a.name for a in out]
    return [a for i, a in enumerate(out) if a.name not in names[i + 1 :]]  # a field redeclared replaces the base's


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
        new = attrs.define(cls, kw_only=True, slots=True, init=False, repr=False, field_transformer=_install_checks,
                           on_setattr=attrs.setters.NO_OP)  # fmt: skip
        own = [a for a in attrs.fields(new) if a.name not in _INTERNAL]
        new.model_fields = {a.alias: _info(a) for a in own}
        for a in own:
            setattr(new, a.alias, _public(a.alias, a.name, new.model_fields[a.alias].description))
        new.__noether_init__ = frozenset(n for n, i in new.model_fields.items() if not i.derived)
        new.__noether_derived__ = {n: _check(i) for n, i in new.model_fields.items() if i.derived}
        for a in own:  # a default that fails its own check is a bug in the class: fail at definition
            if a.init and a.default is not attrs.NOTHING and not isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]
                try:
                    a.converter(a.default)
                except ValueError as exc:
                    raise TypeError(f"{new.__name__}.{a.alias}: default {a.default!r} is invalid: {exc}") from None
        return new

    return wrap if cls is None else wrap(cls)


def _public(name: str, slot: str, doc: str) -> property:
    """A field's public name: reads its slot (a plain function, which torch.compile traces), and
    re-validates assignment (except a model validator's while the config is built)."""

    def read(self: Any) -> Any:
        return getattr(self, slot)

    def assign(self: Any, value: Any) -> None:
        if self._fields_set is None:
            setattr(self, slot, value)
        else:
            self._assign(name, value)

    return property(read, assign, doc=doc or None)


def is_config_class(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Config)


_structure_hook, _unstructure_hook = converter.get_structure_hook, converter.get_unstructure_hook
"""Asked on every load and dump: cattrs caches what they find, and forgets it when a hook is registered."""


def _partition(cls: Any, data: Mapping[Any, Any]) -> _Parts:
    """``data`` as init keywords, extras and derived values, and the extras' errors: an unknown key is kept
    (``extra="allow"``), refused, or in lax mode dropped. An ``_extra`` mapping (the init name attrs.evolve
    hands the extras back under) is read as extras."""
    init: dict[str, Any] = {}
    derived: dict[str, Any] = {}
    unknown: list[tuple[Any, Any]] = []
    names, derived_names = cls.__noether_init__, cls.__noether_derived__
    for key, value in data.items():
        if key in names:
            init[key] = value
        elif key in derived_names:
            derived[key] = value
        elif key == _EXTRA and isinstance(value, Mapping):
            unknown += value.items()
        else:
            unknown.append((key, value))
    extra: dict[str, Any] = {}
    errors: list[ErrorDetails] = []
    allow = cls.__noether_extra__ == "allow"
    for key, item in unknown:
        if type(key) is not str:
            errors.append(error("string_type", "Extra keys should be strings", key, (str(key),)))
        elif key in RESERVED or key in cls.model_fields:
            msg = f"{key!r} is reserved: it cannot be a key of a config document (the API uses it)"
            errors.append(error("reserved_name", msg, item, (key,)))
        elif allow:
            try:
                extra[key] = owned(item)
            except InvalidValue as exc:
                errors += translate(exc, item, (key,))
        elif (refusal := unknown_key(cls.__name__, key, item)) is not None:
            errors.append(refusal)
    if errors:
        errors = hinted(errors, [name for name, info in cls.model_fields.items() if not info.derived])
    return init, extra, derived, errors


def _make_structure_fn(cls: Any, detailed: bool) -> Any:
    overrides: dict[str, Any] = {
        a.name: override(struct_hook=a.converter) for a in attrs.fields(cls) if detailed and a.init
    }
    overrides[_EXTRA] = override(omit=True)  # extras are checked apart
    return make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=False, _cattrs_detailed_validation=detailed,
                                  _cattrs_prefer_attrib_converters=not detailed, _cattrs_use_alias=True,
                                  **overrides)  # fmt: skip


_structure_fn: Callable[[Any, bool], Any] = functools.cache(_make_structure_fn)
"""cattrs' generated function for a class: the checks run by ``__init__`` (attrs converters), or,
to explain a refusal, each field's check as its hook under detailed validation."""


@attrs.define(kw_only=True, slots=True, init=False, repr=False, on_setattr=attrs.setters.NO_OP)
class Config:
    """Base of every noether config: the pydantic-style API over attrs and cattrs."""

    __noether_extra__: ClassVar[ExtraMode] = "forbid"
    __noether_init__: ClassVar[frozenset[str]] = frozenset()
    __noether_derived__: ClassVar[dict[str, Callable[[Any], Any]]] = {}  # derived field -> its check
    model_fields: ClassVar[dict[str, FieldInfo]] = {}

    _extra: Mapping[str, Any] = attrs.field(default=_NO_EXTRAS, alias="_extra")  # checked by __init__
    _fields_set: Any = attrs.field(default=None, init=False, eq=False)  # None while constructing

    def __init__(self, **kwargs: Any) -> None:
        cls = type(self)
        if cls.__noether_init__.issuperset(kwargs):
            try:
                self.__attrs_init__(**kwargs)
            except Exception:
                if _explaining.get() is cls:  # inside its detailed structuring: let cattrs collect this error
                    raise
            else:
                self._fields_set = tuple(kwargs)
                return
            self._adopt(cls._explain(kwargs))  # outside the handler: no context chained, no frames kept alive
        else:
            self._init_with_rest(kwargs)

    def _init_with_rest(self, given: dict[str, Any]) -> None:
        """``__init__`` given extras or derived values: extras are checked before the fields, derived
        values against what the model validators derive."""
        cls = type(self)
        parts = kwargs, extra, derived, errors = _partition(cls, given)
        refused = bool(errors)
        if refused and _explaining.get() is cls:  # inside its detailed structuring: let cattrs collect this error
            raise ValidationError(cls.__name__, errors)
        if not refused:
            try:
                self.__attrs_init__(_extra=extra, **kwargs)
            except Exception:
                if _explaining.get() is cls:
                    raise
                refused = True
        if refused:
            self._adopt(cls._explain(given, parts))
            return
        if derived:
            errors = [e for name, value in derived.items() for e in self._derived_errors(name, value)]
            if errors:
                raise ValidationError(cls.__name__, errors)
        keys = given if _EXTRA not in given else (*kwargs, *extra, *derived)
        self._fields_set = tuple(keys)

    def _adopt(self, other: "Config") -> None:
        for a in attrs.fields(type(self)):
            setattr(self, a.name, getattr(other, a.name))

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # Only reached when normal lookup fails: extras read like fields.
            if name != _EXTRA:
                try:
                    return self._extra[name]
                except (KeyError, AttributeError):
                    pass
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _assign(self, name: str, value: Any) -> None:
        """Assignment re-validates: the config is rebuilt with the new value, or nothing changes."""
        if name in self.__noether_derived__:  # may repeat the derived value, never contradict it
            errors = self._derived_errors(name, value)
            if errors:
                raise ValidationError(type(self).__name__, errors)
            return None
        self._adopt(self._rebuilt({name: value}))
        return None

    def _derived_errors(self, name: str, value: Any) -> list[ErrorDetails]:
        current = getattr(self, name)
        try:
            value = self.__noether_derived__[name](value)
        except InvalidValue as exc:
            return translate(exc, value, (name,))
        if value == current:
            return []
        msg = f"{name} is derived from the other fields as {current!r}; leave it unset"
        return [error("derived_mismatch", msg, value, (name,))]

    def _rebuilt(self, changes: Mapping[str, Any]) -> Self:
        """A validated copy with ``changes``: the keys given stay given, and the changed ones join them."""
        fresh = type(self).from_dict({**self._rebuild_inputs(), **changes})
        fresh._fields_set = (*self.model_fields_set, *changes)
        return fresh

    def __repr__(self) -> str:
        values = ((name, getattr(self, name, attrs.NOTHING)) for name in self.model_fields)
        parts = [f"{name}={value!r}" for name, value in values if value is not attrs.NOTHING]  # model_construct's gaps
        parts += [f"{k}={v!r}" for k, v in self._extra.items()]
        return f"{type(self).__name__}({', '.join(parts)})"

    # -- the cattrs hooks --------------------------------------------------------------------

    @classmethod
    def _structure_hook(cls) -> Callable[[Any, Any], Any]:
        """The hook ``converter`` uses for this class: cattrs' generated function, whose call of
        the class runs every check in ``__init__``; a refusal is explained there."""
        load, init_names = _structure_fn(cls, False), cls.__noether_init__
        inherits_init = cls.__init__ is Config.__init__  # a class with its own __init__ is built through it

        def structure(data: Any, _type: Any = cls) -> Any:
            if type(data) is dict:
                if init_names.issuperset(data):
                    try:
                        return load(data)
                    except KeyError:  # a required field is missing: cattrs' function read it before calling the class
                        return cls._explain(data)
                # extras or derived values, which cattrs' function would drop: built as __init__ builds them
                if inherits_init:
                    instance = cls.__new__(cls)
                    instance._init_with_rest(data)
                    return instance
                try:
                    return cls(**data)
                except TypeError:
                    if all(type(k) is str for k in data):
                        raise
                    return cls._explain(data)  # keys that cannot be keywords
            if isinstance(data, cls):
                return owned(data)  # a config owns its nested configs
            if isinstance(data, Mapping):
                return structure(dict(data))
            return cls._explain(data)

        return structure

    @classmethod
    def _explain(cls, data: Any, parts: _Parts | None = None) -> Self:
        """Load ``data`` with cattrs' detailed validation: the instance, or every error at once.
        ``parts``: what :func:`_partition` made of ``data``, where it already ran."""
        if parts is None:
            if type(data) is not dict and not isinstance(data, Mapping):
                expected = f"Input should be a valid dictionary or instance of {cls.__name__}"
                raise ValidationError(cls.__name__, [error("model_type", expected, data)])
            parts = _partition(cls, data)
        core, extra, derived, extra_errors = parts
        errors: list[ErrorDetails] = []
        token = _explaining.set(cls)
        try:
            instance = _structure_fn(cls, True)(core)
        except Exception as exc:  # translated outside the handler: no context chained, no frames kept alive
            failure: Exception | None = exc
        else:
            failure = None
        finally:
            _explaining.reset(token)
        if failure is not None:
            errors, instance = translate(failure, core), None
            del failure
        errors += extra_errors
        for name, value in derived.items() if instance is not None else ():
            errors += instance._derived_errors(name, value)
        if errors:
            raise ValidationError(cls.__name__, errors)
        instance._extra, instance._fields_set = extra, tuple(data)
        return typing.cast(Self, instance)

    @classmethod
    def _unstructure_hook(cls) -> Callable[[Any], Any]:
        """The hook ``converter`` uses to dump this class: cattrs' generated function, extras after it."""
        omit: dict[str, Any] = {name: override(omit=True) for name in _INTERNAL}
        dump = make_dict_unstructure_fn(cls, converter, _cattrs_include_init_false=True, _cattrs_use_alias=True, **omit)
        if cls.__noether_extra__ == "forbid":
            return dump

        def dump_with_extras(config: Any) -> dict[str, Any]:
            data = dump(config)
            for key, value in config._extra.items():
                data[key] = owned(value)
            return data

        return dump_with_extras

    # -- the pydantic-style API --------------------------------------------------------------

    @property
    def model_extra(self) -> Mapping[str, Any]:
        """The unknown keys kept (``extra="allow"``), read-only: change them through the config."""
        return MappingProxyType(self._extra)

    @model_extra.setter
    def model_extra(self, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__}.model_extra is read-only: set extras through the config")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build and validate from plain data (a dict loaded from YAML, JSON or a checkpoint); an
        instance is returned as it is (as pydantic's), while one nested in other input is copied."""
        if type(data) is not dict and isinstance(data, cls):
            return data
        return _structure_hook(cls)(data, cls)  # type: ignore[no-any-return]

    def to_dict(self) -> dict[str, Any]:
        """Plain data that ``from_dict`` turns back into an equal config (containers of its own)."""
        return _unstructure_hook(type(self))(self)  # type: ignore[no-any-return]

    @classmethod
    def model_validate(cls, obj: Any) -> Self:
        return cls.from_dict(obj)

    @classmethod
    def model_validate_json(cls, text: str | bytes | bytearray) -> Self:
        import json  # here, not at import: the cold import of every config pays for the module otherwise

        if not isinstance(text, (str, bytes, bytearray)):
            expected = "JSON input should be string, bytes or bytearray"
            raise ValidationError(cls.__name__, [error("json_type", expected, text)])
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise ValidationError(cls.__name__, [error("json_invalid", f"Invalid JSON: {reason}", text)]) from None
        return converter.structure(data, cls)

    @classmethod
    def model_construct(cls, _fields_set: set[str] | None = None, **values: Any) -> Self:
        """An instance from trusted values, without validation (as pydantic's, ``_fields_set`` included)."""
        instance = cls.__new__(cls)
        for a in attrs.fields(cls):
            if a.alias in values and a.name not in _INTERNAL:
                setattr(instance, a.name, values[a.alias])
            elif a.default is not attrs.NOTHING:
                default = a.default.factory() if isinstance(a.default, attrs.Factory) else a.default  # type: ignore[arg-type]
                setattr(instance, a.name, default)
        extra = {k: v for k, v in values.items() if k not in cls.model_fields and k not in RESERVED}
        instance._extra = extra if cls.__noether_extra__ == "allow" else {}
        given = values.keys() & cls.model_fields.keys() if _fields_set is None else _fields_set
        instance._fields_set = tuple(given)
        return instance

    @classmethod
    def coerce(cls, obj: Any) -> Self:
        """``obj`` as this class: an instance as is; another config (say the generic
        AttentionConfig with extras) or a mapping is validated anew, so extras this
        class does not know are reported instead of dropped."""
        if isinstance(obj, cls):
            return obj
        return cls.from_dict(obj._rebuild_inputs() if isinstance(obj, Config) else obj)

    @property
    def model_fields_set(self) -> set[str]:
        """The keys given explicitly, extras included (as pydantic's), and those assigned or updated since."""
        names, extra = self.model_fields, self._extra
        return {k for k in self._fields_set or () if k in names or k in extra}

    def _rebuild_inputs(self) -> dict[str, Any]:
        """The field form without derived fields: what rebuilding this config needs."""
        data = self._dump_source()
        for name in self.__noether_derived__:
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
        if mode not in ("python", "json"):
            raise ValueError(f"model_dump: mode should be 'python' or 'json', not {mode!r}")
        for argument, names in (("include", include), ("exclude", exclude)):
            if isinstance(names, (str, bytes)):  # `k in "name"` would test substrings
                raise TypeError(f"model_dump: {argument} takes a set of field names, not the string {names!r}")
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
        """A validated copy with containers of its own; derived fields are recomputed unless ``update`` sets them.

        Unlike pydantic, the copy is always re-validated, so an update cannot
        produce a config that ``from_dict`` would reject. ``deep`` is accepted
        for compatibility: a copy never shares a container with the original.
        """
        if update is not None and not isinstance(update, Mapping):
            expected = "model_copy's update should be a mapping of field names to values"
            raise ValidationError(type(self).__name__, [error("dict_type", expected, update)])
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


RESERVED = frozenset({"model_extra", *_INTERNAL, *(n for n in dir(Config) if not n.startswith("__"))})
"""Names a config field or an extra key cannot take: the API's own."""

converter.register_structure_hook_factory(is_config_class, lambda cls: cls._structure_hook())
converter.register_unstructure_hook_factory(is_config_class, lambda cls: cls._unstructure_hook())
# The global converter routes configs to ours: cattrs.structure(data, SomeConfig) is SomeConfig.from_dict(data).
cattrs.global_converter.register_structure_hook_factory(is_config_class, lambda cls: converter.get_structure_hook(cls))
cattrs.global_converter.register_unstructure_hook_factory(
    is_config_class, lambda cls: converter.get_unstructure_hook(cls)
)
