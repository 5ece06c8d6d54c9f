"""Property tests: every way into a config makes the same decision with the same values,
loading never fails with anything but ValidationError, and the JSON Schema equals the loader."""

import copy
import functools
import json
import math
import pathlib
import re
import sys
from typing import Any

import attrs
import cattrs
import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from noether.core.schemas import Config, ValidationError, config, converter, field, model_validator
from noether.core.schemas.modules import MODULE_CONFIGS, AttentionConfig, AttentionPattern, TokenSpec
from noether.core.schemas.modules import __getattr__ as lazy
from noether.modeling.models.ab_upt.config import AnchorBranchedUPTConfig

ROOT = pathlib.Path(__file__).parents[2]


def _even(value: int) -> int:
    if value % 2:
        raise ValueError(f"{value} is odd")
    return value


@attrs.define
class Point:
    """A plain attrs class in a config: cattrs' generated hook loads it by attribute name."""

    x: int
    y: int = 0


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
    point: Point | None = field(default=None)

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


def outcome(load: Any, *args: Any) -> tuple[str, Any]:
    try:
        result = load(*args)
    except ValidationError as exc:
        return "error", sorted((e["loc"], e["type"]) for e in exc.errors())
    return "ok", (type(result), result.to_dict(), result.model_extra, result.model_fields_set)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
@example((EveryOption, {"count": 4, "point": {"x": 1}}))
@example((EveryOption, {"count": 4, "point": {"x": 1, "z": 2}}))  # a plain attrs class takes no other key
def test_every_path_decides_alike(case: tuple[type[Config], dict[Any, Any]]) -> None:
    cls, data = case
    expected = outcome(cls.from_dict, data)
    assert outcome(cls.model_validate, data) == expected
    assert outcome(converter.structure, data, cls) == expected
    assert outcome(cattrs.structure, data, cls) == expected
    if json_document(data):
        assert outcome(cls.model_validate_json, json.dumps(data)) == expected
    if all(type(k) is str for k in data):  # keywords: the same decision and value (TokenSpec words its error apart)
        direct = outcome(lambda: cls(**data))
        assert direct == expected or (direct[0] == expected[0] == "error" and cls is TokenSpec)
    if expected[0] == "ok":
        loaded = cls.from_dict(data)
        assert cls.from_dict(loaded.to_dict()) == loaded
        assert cls.model_validate_json(loaded.model_dump_json()) == loaded
        schema_of(cls).validate(loaded.model_dump(mode="json"))  # whatever loads, the schema allows


@functools.cache
def schema_of(cls: type[Config]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(cls.model_json_schema())


@settings(max_examples=400)
@given(st.one_of(st.text(max_size=6), st.integers(), st.none()), json_value | st.integers(min_value=-3, max_value=3))
def test_token_spec_pair_decides_as_its_field_form(name: Any, size: Any) -> None:
    """TokenSpec's own hook reads the pair form: it must decide as the field form does."""
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
    inputs = {**base._rebuild_inputs(), name: value}
    expected = outcome(cls.from_dict, inputs)
    assert outcome(lambda: attrs.evolve(base, **{name: value})) == expected
    assert outcome(lambda: base.model_copy(update={name: value})) == (
        expected if expected[0] == "error" else ("ok", (*expected[1][:3], base.model_fields_set | {name}))
    )
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
        if "pattern" in schema:
            return st.from_regex(schema["pattern"])
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
    assert json.loads(json.dumps(schema)) == schema  # JSON throughout, defaults included
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
    if isinstance(value, str):  # outside every float field's pattern of numeric strings
        expected = "float_type"
    elif infinity != infinity or bound is None:
        expected = "finite_number"
    assert errors == [((name,), expected)]


def json_document(value: Any) -> bool:
    """JSON can carry it: string keys, finite numbers."""
    if isinstance(value, dict):
        return all(type(k) is str and json_document(v) for k, v in value.items())
    if isinstance(value, list):
        return all(map(json_document, value))
    return not isinstance(value, float) or math.isfinite(value)


def unsayable(error: Any) -> bool:
    """What JSON Schema cannot say: cross-field rules and custom checks, 64.0 being an integer to it
    (for an int field, or an int inside a union such as ``int | str``), and the nesting bound of free-form
    values (it has no keyword for depth)."""
    integral_float = isinstance(error["input"], float) and error["input"].is_integer()
    int_union = error["type"] == "union_type" and re.search(r"one of: (.*, )?int\b", error["msg"]) is not None
    integral = integral_float and (error["type"] == "int_type" or int_union)
    return integral or error["type"] in ("value_error", "derived_mismatch", "too_deep")


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
@example((EveryOption, {"count": 4, "mode": 0.0}))  # an integral float for `int | str`: the known difference
@example((AttentionConfig, {"hidden_dim": 8, "num_heads": 2, "deep": nested(65)}))  # past the nesting bound
@example((EveryOption, {"count": 4, "point": {"x": 1, "z": 2}}))
@example((EveryOption, {"count": 4, "point": {"y": 1}}))
def test_schema_decides_as_the_loader(case: tuple[type[Config], dict[Any, Any]]) -> None:
    """Both ways: whatever loads fits the schema, and whatever fits the schema loads, but for what it cannot say."""
    cls, data = case
    if not json_document(data):
        return
    valid = schema_of(cls).is_valid(data)
    if outcome(cls.from_dict, data)[0] == "ok":
        assert valid, list(schema_of(cls).iter_errors(data))
    else:
        assert not valid or all(map(unsayable, errors_of(cls, data))), errors_of(cls, data)


def errors_of(cls: type[Config], data: Any) -> list[Any]:
    with pytest.raises(ValidationError) as caught:
        cls.from_dict(data)
    return caught.value.errors()


def containers(value: Any) -> list[Any]:
    """Every list, dict and set reachable from ``value`` (configs' fields and extras included)."""
    if isinstance(value, Config):
        return [c for name in (*value.model_fields, *value.model_extra) for c in containers(getattr(value, name))]
    if isinstance(value, dict):
        return [value, *(c for v in value.values() for c in containers(v))]
    if isinstance(value, (list, set)):
        return [value, *(c for v in value for c in containers(v))]
    if isinstance(value, tuple):
        return [c for v in value for c in containers(v)]
    return []


def scribble(value: Any) -> None:
    """Mutate every container reachable from ``value``."""
    for box in containers(value):
        if isinstance(box, dict):
            box["scribbled"] = 1
        elif isinstance(box, list):
            box.append("scribbled")
        else:
            box.add("scribbled")


BLOCK = {"hidden_dim": 24, "num_heads": 3, "mlp_expansion_factor": 2, "attention_constructor": "joint_anchor",
         "attention_arguments": {"branches": ["surface", "volume"]}}  # fmt: skip
AB_UPT = {
    k: v
    for k, v in yaml.safe_load((ROOT / "examples" / "ab_upt.yaml").read_text()).items()
    if k not in ("model", "points", "run")
} | {"forward_properties": ["x"], "optimizer_config": {"lr": [1]}}
SHARING = {
    **{cls: valid_data(cls) for cls in exported_classes()},
    AnchorBranchedUPTConfig: AB_UPT,
    lazy("TransformerBlockConfig"): BLOCK,
    lazy("TransformerStackConfig"): {"depth": 2, "block": BLOCK},
    AttentionConfig: {"hidden_dim": 64, "num_heads": 4, "window": [1, [2]], "table": {"a": [3]}},
    Nested: {"stages": [{"count": 2, "names": ["x"], "table": {"a": 1}}], "tokens": [{"a_b": 1}],
             "attention": {"hidden_dim": 8, "num_heads": 2, "extra": {"deep": [1]}}},
}  # fmt: skip


@pytest.mark.parametrize("cls", list(SHARING), ids=lambda c: c.__name__)
def test_nothing_is_shared(cls: type[Config]) -> None:
    """Every load, copy, evolve and dump owns its containers: scribbling on one changes nothing else."""
    document = copy.deepcopy(SHARING[cls])
    loaded = cls.from_dict(document)
    reference = loaded.to_dict()
    scribble(document)  # the caller's input
    assert loaded.to_dict() == reference
    for out in (loaded.to_dict(), loaded.model_dump(), loaded.model_dump(mode="json")):
        scribble(out)  # what a dump hands out
        assert loaded.to_dict() == reference
    twin = cls.from_dict(copy.deepcopy(SHARING[cls]))
    made = [
        cls.from_dict(reference), twin.model_copy(), twin.model_copy(deep=True), attrs.evolve(twin),
        cls(**copy.deepcopy(SHARING[cls])) if cls is not TokenSpec else twin.model_copy(),
        cattrs.structure(twin, cls), converter.structure(twin, cls),
    ]  # fmt: skip
    for other in made:
        assert other == twin
        scribble(other)  # another load or copy
    assert twin.to_dict() == reference
    assert not {id(c) for c in containers(twin)} & {id(c) for m in made for c in containers(m)}
