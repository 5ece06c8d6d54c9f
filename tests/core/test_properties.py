"""Property tests: every way into a config makes the same decision with the same values,
loading never fails with anything but ValidationError, and the JSON Schema equals the loader."""

import copy
import functools
import math
import sys
from typing import Any

import attrs
import cattrs
import jsonschema
import pytest
from cattrs.gen import make_dict_unstructure_fn, override
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noether.core.schemas import Config, ValidationError, config, converter, field, model_validator
from noether.core.schemas.modules import MODULE_CONFIGS, AttentionConfig, AttentionPattern, TokenSpec
from noether.core.schemas.modules import __getattr__ as lazy


def _even(value: int) -> int:
    if value % 2:
        raise ValueError(f"{value} is odd")
    return value


@config
class EveryOption(Config):
    """A field of each kind of option the property test must cover."""

    count: int = field(ge=1, le=64, check=_even)
    ratio: float = field(default=0.5, ge=0.0, le=1.0)
    names: list[str] = field(default=["a"], min_length=1)
    table: dict[str, int] = field(factory=dict)
    pair: tuple[int, str] | None = field(default=None)
    mode: int | str = field(default=0)
    double: int | None = field(default=None, derived=True)

    @model_validator
    def derive(self) -> None:
        if "forbidden" in self.names:
            raise ValueError("names may not contain 'forbidden'")
        self.double = 2 * self.count


@config
class Nested(Config):
    """Configs inside configs: the loader calls their hooks directly."""

    stages: list[EveryOption] = field(min_length=1)
    tokens: list[TokenSpec] = field(factory=list)
    attention: AttentionConfig | None = field(default=None)
    pattern: AttentionPattern = field(default=AttentionPattern(query_tokens=["q"], key_value_tokens=["k"]))


CLASSES: list[type[Config]] = [
    AttentionConfig, AttentionPattern, TokenSpec, EveryOption, Nested, *(lazy(name) for name in MODULE_CONFIGS)
]  # fmt: skip
VALID: dict[type[Config], dict[str, Any]] = {
    AttentionConfig: {"hidden_dim": 64, "num_heads": 4},
    AttentionPattern: {"query_tokens": ["a"], "key_value_tokens": ["b"]},
    TokenSpec: {"name": "surface_anchors", "size": 3},
    EveryOption: {"count": 4},
    Nested: {"stages": [{"count": 2}], "tokens": [{"a_b": 1}], "attention": {"hidden_dim": 8, "num_heads": 2}},
}
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, 2, 3, 4, 8, 64, 10**400, -1, 0.25, math.inf]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["1e-3", "64", "false", "torch", "surface_anchors", "\u0661", "forbidden", ""]),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


def valid_data(cls: type[Config]) -> dict[str, Any]:
    if cls in VALID:
        return copy.deepcopy(VALID[cls])
    data: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        if info.is_required():
            data[name] = {"hidden_dim": 24, "num_heads": 3, "input_dim": 3, "output_dim": 3, "depth": 2}.get(name, 2)
    if "mlp_expansion_factor" in cls.model_fields:
        data["mlp_expansion_factor"] = 2
    if "branches" in cls.model_fields:
        data["branches"] = ["surface", "volume"]
    for name in ("block", "perceiver_block_config"):
        if name in cls.model_fields:
            data[name] = {"hidden_dim": 24, "num_heads": 3, "mlp_expansion_factor": 2}
    if cls.__name__ == "SupernodePoolingConfig":
        data["radius"] = 0.25
    if cls.__name__ == "UpActDownMLPConfig":
        data["hidden_dim"] = 8
    return data


@st.composite
def documents(draw: Any) -> tuple[type[Config], dict[Any, Any]]:
    cls = draw(st.sampled_from(CLASSES))
    data = valid_data(cls)
    names = list(cls.model_fields)
    for key in draw(st.lists(st.sampled_from([*names, "extra", 3]), max_size=3)):
        if draw(st.booleans()) and key in data:
            del data[key]
        else:
            data[key] = draw(json_value)
    return cls, data


def cattrs_dump(instance: Config) -> dict[str, Any]:
    omit: dict[str, Any] = {name: override(omit=True) for name in ("model_extra", "_fields_set")}
    dump = make_dict_unstructure_fn(type(instance), converter, _cattrs_include_init_false=True, **omit)
    return {**dump(instance), **instance.model_extra}


def outcome(load: Any, *args: Any) -> tuple[str, Any]:
    try:
        result = load(*args)
    except ValidationError as exc:
        return "error", sorted((e["loc"], e["type"]) for e in exc.errors())
    return "ok", (type(result), result.to_dict(), result.model_extra, result.model_fields_set)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_every_path_decides_alike(case: tuple[type[Config], dict[Any, Any]]) -> None:
    cls, data = case
    expected = outcome(cls.from_dict, data)
    assert outcome(cls.model_validate, data) == expected
    assert outcome(converter.structure, data, cls) == expected
    assert outcome(cattrs.structure, data, cls) == expected
    if all(type(k) is str for k in data):  # keywords: the same decision and value (TokenSpec words its error apart)
        direct = outcome(lambda: cls(**data))
        assert direct == expected or (direct[0] == expected[0] == "error" and cls is TokenSpec)
    if expected[0] == "ok":
        loaded = cls.from_dict(data)
        assert cls.from_dict(loaded.to_dict()) == loaded
        if cls is not TokenSpec:  # the generated dump gives what cattrs' own generated function gives
            assert loaded.to_dict() == cattrs_dump(loaded)
        assert cls.model_validate_json(loaded.model_dump_json()) == loaded
        schema_of(cls).validate(loaded.model_dump(mode="json"))  # whatever loads, the schema allows


@functools.cache
def schema_of(cls: type[Config]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(cls.model_json_schema())


@settings(max_examples=400)
@given(st.one_of(st.text(max_size=6), st.integers(), st.none()), json_value | st.integers(min_value=-3, max_value=3))
def test_token_spec_pair_decides_as_its_field_form(name: Any, size: Any) -> None:
    """TokenSpec's hook sets the slots of a plainly valid pair itself: it must decide as the fields would."""
    if name in ("name", "size"):  # {"name": ...} is the field form, not a pair
        return
    pair, fields = (
        outcome(TokenSpec.from_dict, {name: size}),
        outcome(TokenSpec.from_dict, {"name": name, "size": size}),
    )
    assert pair[0] == fields[0]
    if pair[0] == "ok":
        assert pair == fields
        assert TokenSpec.from_dict({name: size}).model_fields_set == {"name", "size"}


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CLASSES), st.data())
def test_assignment_and_evolve_decide_like_loading(cls: type[Config], draw: Any) -> None:
    base = cls.from_dict(valid_data(cls))
    own = [name for name, info in cls.model_fields.items() if not info.derived]
    name = draw.draw(st.sampled_from(own))
    value = draw.draw(json_value)
    inputs = {**base._inputs(), name: value}
    expected = outcome(cls.from_dict, inputs)
    assert outcome(lambda: attrs.evolve(base, **{name: value})) == expected
    target = base.model_copy()

    def assign() -> Config:
        setattr(target, name, value)
        return target

    result = outcome(assign)
    assert result[0] == expected[0]
    if result[0] == "ok":  # the same config, and the keys given before stay given beside the assigned one
        assert result == ("ok", (*expected[1][:3], base.model_fields_set | {name}))
    else:
        assert target == base, "a rejected assignment changes nothing"


@given(json_value)
def test_any_value_loads_or_raises_validation_error(value: Any) -> None:
    for cls in CLASSES:
        try:
            cls.from_dict(value)
        except ValidationError as exc:
            errors = exc.errors()
            assert errors


def from_schema(schema: dict[str, Any], root: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    """Documents a JSON Schema allows, for the keywords our schemas use (hypothesis-jsonschema
    does not run with current hypothesis). Every document is checked against the schema too."""
    root = schema if root is None else root
    if "$ref" in schema:
        return st.deferred(lambda: from_schema(root["$defs"][schema["$ref"].rsplit("/", 1)[1]], root))
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([from_schema(s, root) for s in schema[key]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    low, high = schema.get("minimum"), schema.get("maximum")
    if kind == "integer":
        return st.integers(None if low is None else int(low), None if high is None else int(high))
    if kind == "number":
        return st.floats(low, high, allow_nan=False) | st.integers(-(10**6), 10**6).filter(
            lambda n: (low is None or n >= low) and (high is None or n <= high)
        )
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "string":
        return st.text(min_size=schema.get("minLength", 0), max_size=6)
    if kind == "array":
        if "prefixItems" in schema:
            return st.tuples(*(from_schema(s, root) for s in schema["prefixItems"])).map(list)
        items = from_schema(schema.get("items", {}), root)
        unique = {"unique_by": repr} if schema.get("uniqueItems") else {}
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=3, **unique)  # type: ignore[arg-type]
    if kind == "object" or "properties" in schema:
        props, required = schema.get("properties", {}), set(schema.get("required", ()))
        extra = schema.get("additionalProperties", True)
        forbidden = set(schema.get("propertyNames", {}).get("not", {}).get("enum", ()))
        keys = st.text(min_size=1, max_size=5).filter(lambda k: k not in props and k not in forbidden)
        values = json_value if extra is True else from_schema(extra, root) if extra else st.nothing()
        size = (schema.get("minProperties", 0), schema.get("maxProperties", 3))

        @st.composite
        def objects(draw: Any) -> dict[str, Any]:
            doc = {k: draw(from_schema(v, root)) for k, v in props.items() if k in required or draw(st.booleans())}
            doc |= draw(st.dictionaries(keys, values, min_size=size[0], max_size=size[1])) if extra else {}
            return doc

        return objects()
    return json_value


def exported_classes() -> list[type[Config]]:
    return [AttentionConfig, AttentionPattern, TokenSpec, *(lazy(name) for name in MODULE_CONFIGS)]


@pytest.mark.parametrize("cls", exported_classes(), ids=lambda c: c.__name__)
def test_schema_documents_load_and_dumps_fit_the_schema(cls: type[Config]) -> None:
    schema = cls.model_json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator.validate(cls.from_dict(valid_data(cls)).model_dump(mode="json"))

    @settings(max_examples=60, suppress_health_check=list(HealthCheck), deadline=None)
    @given(from_schema(schema))
    def check(document: Any) -> None:
        validator.validate(document)
        try:
            loaded = cls.from_dict(document)
        except ValidationError as exc:  # only cross-field rules (validators, derived values) have no keyword
            kinds = {e["type"] for e in exc.errors()}
        else:
            kinds = set()
            validator.validate(loaded.to_dict())
            validator.validate(loaded.model_dump(mode="json"))
        assert kinds <= {"value_error", "derived_mismatch"}

    check()


def watch_doubts(monkeypatch: Any) -> list[str]:
    """Record every class whose loader hands its input to the explaining path (hooks made anew)."""
    doubted: list[str] = []
    original = Config._explain.__func__  # type: ignore[attr-defined]

    def explain(klass: type[Config], data: Any) -> Any:
        doubted.append(klass.__name__)
        return original(klass, data)

    monkeypatch.setattr(Config, "_explain", classmethod(explain))
    for klass in CLASSES:
        monkeypatch.delattr(klass, "__noether_hook__", raising=False)
    converter._structure_func.clear_cache()  # hooks made anew see the patched path
    return doubted


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_plainly_valid_input_never_needs_the_explaining_path(cls: type[Config], monkeypatch: Any) -> None:
    """The generated loader takes valid data of every class by itself; cattrs' detailed path is for doubts."""
    doubted = watch_doubts(monkeypatch)
    cls.from_dict(valid_data(cls))
    assert doubted == []
    with pytest.raises(ValidationError):
        cls.from_dict({**valid_data(cls), "not_a_field": 1} if cls.__noether_extra__ == "forbid" else [])
    assert doubted == [cls.__name__]
    monkeypatch.undo()
    converter._structure_func.clear_cache()


def test_unbounded_float_loads_without_doubt(monkeypatch: Any) -> None:
    @config
    class Free(Config):
        x: float = field()

    doubted = watch_doubts(monkeypatch)
    assert Free.from_dict({"x": 1.5}).x == 1.5
    assert doubted == []
    monkeypatch.undo()
    converter._structure_func.clear_cache()


FLOAT_FIELDS = [
    (cls, name)
    for cls in exported_classes()
    for name, info in cls.model_fields.items()
    if float in (info.annotation, *getattr(info.annotation, "__args__", ())) and not info.derived
]


@pytest.mark.parametrize(("cls", "name"), FLOAT_FIELDS, ids=lambda x: getattr(x, "__name__", x))
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, "1e999"])
def test_float_fields_refuse_what_their_schema_refuses(cls: type[Config], name: str, value: Any) -> None:
    info = cls.model_fields[name]
    field_schema = cls.model_json_schema()["properties"][name]
    number = next(s for s in field_schema.get("anyOf", [field_schema]) if s.get("type") == "number")
    assert (number["minimum"], number["maximum"]) == (
        -sys.float_info.max if info.ge is None else info.ge,
        sys.float_info.max if info.le is None else info.le,
    )
    infinity = float(value)
    bound = info.le if infinity > 0 else info.ge  # an infinity past a bound of the field's own names that bound
    expected = "less_than_equal" if infinity > 0 else "greater_than_equal"
    with pytest.raises(ValidationError) as caught:
        cls.from_dict({**valid_data(cls), name: value})
    errors = [(e["loc"], e["type"]) for e in caught.value.errors()]
    assert errors == [((name,), "finite_number" if infinity != infinity or bound is None else expected)]
