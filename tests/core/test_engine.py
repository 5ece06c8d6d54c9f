"""The cattrs engine: any field type cattrs structures, user hooks, assignment, evolve, defaults."""

import copy
import datetime
import enum
import json
import math
import pathlib
import pickle
import sys
from typing import ClassVar

import attrs
import cattrs
import jsonschema
import pytest

from noether.core.schemas import Config, ValidationError, config, converter, field, lax, model_validator
from noether.core.schemas.converter import float_pattern
from noether.core.schemas.errors import MAX_SHOWN
from noether.core.schemas.modules import AttentionConfig, TokenSpec


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@attrs.define
class Point:
    x: int
    y: int


@config
class Rich(Config):
    path: pathlib.Path = field(default=pathlib.Path("out"))
    color: Color = field(default=Color.RED)
    size: tuple[int, int] = field(default=(1, 2))
    key: int | str = field(default=0)
    tags: frozenset[str] = field(factory=frozenset)
    when: datetime.datetime | None = field(default=None)
    origin: Point | None = field(default=None)


def _errors_of(cls, data):
    with pytest.raises(ValidationError) as info:
        cls.from_dict(data)
    return info.value.errors()


def errors(load, data):
    with pytest.raises(ValidationError) as info:
        load(data)
    return [(e["loc"], e["type"]) for e in info.value.errors()]


class TestFieldTypes:
    def test_values_cattrs_structures(self):
        rich = Rich.from_dict(
            {"path": "runs/a", "color": "blue", "size": [3, 4], "key": "k", "tags": ["a", "b"],
             "when": "2026-11-28T09:00:00", "origin": {"x": 1, "y": 2}}
        )  # fmt: skip
        assert rich.path == pathlib.Path("runs/a")
        assert rich.color is Color.BLUE
        assert rich.size == (3, 4)
        assert rich.key == "k"
        assert rich.tags == frozenset({"a", "b"})
        assert rich.when == datetime.datetime(2026, 11, 28, 9)
        assert rich.origin == Point(1, 2)

    def test_strict_inside_any_type(self):
        bad = {
            "color": "green",
            "size": [1, 2, 3],
            "key": 1.5,
            "tags": "ab",
            "when": "noon",
            "origin": {"x": "1", "y": 2},
        }
        assert errors(Rich.from_dict, bad) == [
            (("color",), "enum"),
            (("size",), "tuple_length"),
            (("key",), "union_type"),
            (("tags",), "list_type"),
            (("when",), "datetime_type"),
            (("origin", "x"), "int_type"),
        ]

    def test_a_union_with_none_and_an_attrs_class_given_no_mapping(self):
        @config
        class Loose(Config):
            key: int | str | None = field(default=0)
            origin: Point | None = field(default=None)

        assert Loose(key=None).key is None
        assert errors(Loose.from_dict, {"key": 1.5, "origin": 5}) == [
            (("key",), "union_type"), (("origin",), "model_type")
        ]  # fmt: skip

    def test_a_plain_attrs_class_is_located_by_its_attribute_names(self):
        """cattrs loads a plain attrs class by attribute name, ``_x`` included; only configs have slots to map."""

        @attrs.define
        class Private:
            _x: int

        @config
        class Holder(Config):
            inner: Private | None = field(default=None)

        assert Holder.from_dict({"inner": {"_x": 1}}).inner == Private(1)
        assert errors(Holder.from_dict, {"inner": {"_x": "a"}}) == [(("inner", "_x"), "int_type")]

    def test_a_plain_attrs_class_takes_no_other_key_and_reports_every_error_at_once(self):
        assert errors(Rich.from_dict, {"origin": {"x": 1, "y": 2, "z": 3}}) == [(("origin", "z"), "extra_forbidden")]
        found = _errors_of(Rich, {"origin": {"x": "1", "yy": 2}})
        assert [(e["loc"], e["type"]) for e in found] == [
            (("origin", "x"), "int_type"), (("origin", "y"), "missing"), (("origin", "yy"), "extra_forbidden")
        ]  # fmt: skip
        assert found[2]["msg"] == "Extra inputs are not permitted. Did you mean 'y'?"

    def test_lax_mode_drops_the_unknown_keys_of_a_plain_attrs_class(self):
        with lax(), pytest.warns(DeprecationWarning, match="Point.z: an unknown key .dropped. accepted by lax mode"):
            assert Rich.from_dict({"origin": {"x": 1, "y": 2, "z": 3}}).origin == Point(1, 2)

    def test_a_plain_attrs_instance_is_copied_not_shared(self):
        point = Point(1, 2)
        rich = Rich(origin=point)
        point.x = 9
        assert (rich.origin, rich.origin is point) == (Point(1, 2), False)

    @pytest.mark.parametrize("value", [5, ["a"], None])
    def test_a_path_is_a_string(self, value):
        assert _errors_of(Rich, {"path": value}) == [
            {"loc": ("path",), "msg": f"Input should be a valid path (a string), got {value!r}", "type": "path_type",
             "input": value}
        ]  # fmt: skip

    def test_the_schema_of_a_plain_attrs_class_is_what_cattrs_loads(self):
        schema = Rich.model_json_schema()
        assert schema["$defs"]["Point"] == {
            "title": "Point", "type": "object", "additionalProperties": False, "required": ["x", "y"],
            "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
        }  # fmt: skip
        validator = jsonschema.Draft202012Validator(schema)
        assert validator.is_valid({"origin": {"x": 1, "y": 2}})
        assert not validator.is_valid({"origin": {"x": 1, "y": 2, "z": 3}})
        assert not validator.is_valid({"origin": {"x": 1}})

    def test_schema_defaults_are_written_as_model_dump_writes_them(self):
        schema = Rich.model_json_schema()
        defaults = {name: field["default"] for name, field in schema["properties"].items()}
        assert defaults == Rich().model_dump(mode="json")
        assert json.loads(json.dumps(schema)) == schema

    def test_a_set_takes_repeats_in_the_loader_and_the_schema(self):
        assert Rich.from_dict({"tags": ["a", "a"]}).tags == frozenset({"a"})
        assert jsonschema.Draft202012Validator(Rich.model_json_schema()).is_valid({"tags": ["a", "a"]})

    def test_bounds_on_what_is_no_number_fail_at_definition(self):
        with pytest.raises(TypeError, match=r"ge/le bound numbers or the values of a mapping of numbers, not <class"):

            @config
            class Bounded(Config):
                name: str = field(default="a", ge=0)

    def test_enum_error_lists_values(self):
        with pytest.raises(ValidationError, match="Input should be 'red' or 'blue'"):
            Rich(color="green")

    def test_json_mode_and_round_trip(self):
        rich = Rich(path="a/b", color="blue", tags=["x"], when="2026-01-02T03:04:05", origin=Point(1, 2))
        dumped = rich.model_dump(mode="json")
        assert dumped == {
            "path": "a/b", "color": "blue", "size": [1, 2], "key": 0, "tags": ["x"],
            "when": "2026-01-02T03:04:05", "origin": {"x": 1, "y": 2},
        }  # fmt: skip
        assert json.loads(rich.model_dump_json()) == dumped
        assert Rich.model_validate_json(rich.model_dump_json()) == rich
        assert Rich.from_dict(rich.to_dict()) == rich

    def test_user_hook_takes_effect_in_from_dict(self):
        class Money:
            def __init__(self, cents: int) -> None:
                self.cents = cents

        @config
        class Price(Config):
            amount: Money = field()

        converter.register_structure_hook(Money, lambda value, _: Money(round(float(value.strip("$")) * 100)))
        converter.register_unstructure_hook(Money, lambda money: f"${money.cents / 100:.2f}")
        price = Price.from_dict({"amount": "$1.25"})
        assert price.amount.cents == 125
        assert price.to_dict() == {"amount": "$1.25"}
        assert cattrs.structure({"amount": "$2"}, Price).amount.cents == 200

    def test_a_hook_for_a_config_registered_after_its_first_load_serves_from_dict_and_to_dict(self):
        """from_dict/to_dict ask the converter each time (cattrs caches, and forgets on registration)."""

        @config
        class Version(Config):
            major: int = field(default=1)

        assert Version.from_dict({"major": 2}).to_dict() == {"major": 2}
        converter.register_structure_hook(Version, lambda text, _: Version(major=int(text.lstrip("v"))))
        converter.register_unstructure_hook(Version, lambda version: f"v{version.major}")
        assert Version.from_dict("v3") == converter.structure("v3", Version) == Version(major=3)
        assert Version(major=4).to_dict() == converter.unstructure(Version(major=4)) == "v4"

    def test_a_type_of_your_own_is_described_by_the_fields_json_schema(self):
        class Cents(int):
            pass

        @config
        class Described(Config):
            amount: Cents = field(json_schema={"type": "integer", "minimum": 0})

        @config
        class Undescribed(Config):
            amount: Cents = field()

        assert Described.model_json_schema()["properties"]["amount"] == {
            "title": "Amount", "type": "integer", "minimum": 0
        }  # fmt: skip
        with pytest.raises(TypeError, match=r"no JSON Schema for .*Cents.*; give the field json_schema="):
            Undescribed.model_json_schema()


class TestScalars:
    @pytest.mark.parametrize(
        ("value", "kind"),
        [
            (10**400, "finite_number"),
            ("\u0661", "float_type"),
            ("1e999", "float_type"),  # outside the numeric strings the field's pattern allows: never infinite
            ("2.0", "float_type"),  # a string must be plainly inside the bounds [0, 1]
            (-float("inf"), "greater_than_equal"),
        ],
    )
    def test_float_edges_are_validation_errors(self, value, kind):
        assert errors(AttentionConfig.from_dict, {"hidden_dim": 8, "num_heads": 2, "dropout": value}) == [
            (("dropout",), kind)
        ]

    def test_huge_int_in_unbounded_float_field(self):
        @config
        class F(Config):
            x: float = field()

        assert errors(F.from_dict, {"x": 10**400}) == [(("x",), "finite_number")]
        assert F(x="2.5e1").x == 25.0
        assert errors(F.from_dict, {"x": "  2.5e1 "}) == [(("x",), "float_type")]  # the schema's pattern decides

    @pytest.mark.parametrize(
        ("value", "kind"),
        [(math.inf, "finite_number"), (-math.inf, "finite_number"), (math.nan, "finite_number"),
         ("1e400", "float_type"), ("-1e999", "float_type"), ("nan", "float_type")],
    )  # fmt: skip
    def test_non_finite_floats_are_refused_as_the_schema_says(self, value, kind):
        @config
        class F(Config):
            x: float = field()

        assert errors(F.from_dict, {"x": value}) == [(("x",), kind)]
        with pytest.raises(ValidationError, match=r"Input should be a (finite|valid) number"):
            F(x=value)
        number, string = F.model_json_schema()["properties"]["x"]["anyOf"]
        assert number == {"type": "number", "maximum": sys.float_info.max, "minimum": -sys.float_info.max}
        assert string == {"type": "string", "pattern": float_pattern(None, None)}
        if value == value:  # NaN is no JSON value: no schema can speak of it
            assert not jsonschema.Draft202012Validator({"anyOf": [number, string]}).is_valid(value)

    def test_an_infinity_below_a_lower_bound_names_the_bound(self):
        @config
        class F(Config):
            rate: float = field(default=1.0, ge=0.0)

        assert errors(F.from_dict, {"rate": -math.inf}) == [(("rate",), "greater_than_equal")]
        assert errors(F.from_dict, {"rate": math.inf}) == [(("rate",), "finite_number")]
        assert F.from_dict({"rate": sys.float_info.max}).rate == sys.float_info.max


class TestDefaults:
    def test_mutable_default_is_copied_per_instance(self):
        @config
        class D(Config):
            names: list[str] = field(default=["a"])
            table: dict[str, list[int]] = field(default={"k": [1]})

        first = D.from_dict({})
        first.names.append("b")
        first.table["k"].append(2)
        assert D.from_dict({}).names == ["a"]
        assert D().table == {"k": [1]}

    def test_invalid_default_fails_at_definition(self):
        with pytest.raises(TypeError, match=r"B.n: default 0 is invalid"):

            @config
            class B(Config):
                n: int = field(default=0, ge=1)


class TestAssignmentAndEvolve:
    def test_assignment_rechecks_and_rederives(self):
        cfg = AttentionConfig(hidden_dim=64, num_heads=4, x=1)
        cfg.hidden_dim = 128
        assert (cfg.head_dim, cfg.x) == (32, 1)
        with pytest.raises(ValidationError) as info:
            cfg.hidden_dim = "oops"
        assert info.value.errors()[0]["loc"] == ("hidden_dim",)
        with pytest.raises(ValidationError, match="must be divisible"):
            cfg.num_heads = 5
        assert (cfg.hidden_dim, cfg.num_heads, cfg.head_dim) == (128, 4, 32)

    def test_derived_field_takes_only_its_value(self):
        cfg = AttentionConfig(hidden_dim=64, num_heads=4)
        cfg.head_dim = 16
        with pytest.raises(ValidationError, match="derived from the other fields as 16"):
            cfg.head_dim = 8

    def test_evolve_keeps_extras_and_rederives(self):
        cfg = AttentionConfig(hidden_dim=64, num_heads=4, window=3)
        wider = attrs.evolve(cfg, hidden_dim=128)
        assert (wider.head_dim, wider.window, cfg.hidden_dim) == (32, 3, 64)
        with pytest.raises(ValidationError) as info:
            attrs.evolve(cfg, num_heads=0)
        assert info.value.errors()[0]["loc"] == ("num_heads",)

    def test_extras_given_to_one_config_reach_no_other(self):
        plain, other = AttentionConfig(hidden_dim=8, num_heads=2), AttentionConfig(hidden_dim=8, num_heads=2)
        updated = plain.model_copy(update={"x": 1})
        evolved = attrs.evolve(plain, _extra={"y": 2})
        assert (dict(updated.model_extra), dict(evolved.model_extra)) == ({"x": 1}, {"y": 2})
        assert dict(plain.model_extra) == dict(other.model_extra) == {}

    def test_assigning_what_is_no_field_is_refused(self):
        cfg = AttentionConfig(hidden_dim=8, num_heads=2, window=3)
        with pytest.raises(AttributeError, match="'AttentionConfig' object has no attribute 'windw'"):
            cfg.windw = 4
        with pytest.raises(AttributeError, match="model_extra is read-only"):
            cfg.model_extra = {}  # type: ignore[misc]
        assert (cfg.to_dict()["window"], cfg.model_fields_set) == (3, {"hidden_dim", "num_heads", "window"})

    def test_a_field_is_a_slot_of_its_own_behind_its_name(self):
        """``__init__`` assigns the slot ``_name`` directly; the name is the property that re-validates."""

        @config
        class Base(Config):
            depth: int = field(default=1, ge=1)

        @config
        class Deeper(Base):
            depth: int = field(default=4, ge=2)  # redeclared: replaces the base's field
            width: int = field(default=8, description="Channels of a token.")

        assert [(a.name, a.alias) for a in attrs.fields(Deeper) if a.name.lstrip("_") in Deeper.model_fields] == [
            ("_depth", "depth"), ("_width", "width")
        ]  # fmt: skip
        deeper = attrs.evolve(Deeper(), depth=3)
        assert (deeper.depth, deeper.width, list(Deeper.model_fields)) == (3, 8, ["depth", "width"])
        with pytest.raises(ValidationError, match="greater than or equal to 2"):
            deeper.depth = 1
        assert isinstance(Deeper.depth, property)
        assert Deeper.width.__doc__ == "Channels of a token."

    @pytest.mark.parametrize("name", ["extra", "fields_set", "adopt"])
    def test_a_field_whose_slot_the_api_uses_fails_at_definition(self, name):
        with pytest.raises(TypeError, match=rf"Clash\.{name}: the name is reserved: its slot, _{name}, is the API's"):
            config(type("Clash", (Config,), {"__annotations__": {name: int}, name: field(default=1)}))


class TestApi:
    def test_copy_and_pickle(self):
        cfg = AttentionConfig.from_dict({"hidden_dim": 8, "num_heads": 2, "window": [1, 2]})
        for clone in (copy.deepcopy(cfg), copy.copy(cfg), pickle.loads(pickle.dumps(cfg))):
            assert clone == cfg
            assert clone.window == [1, 2]
            assert clone.model_fields_set == {"hidden_dim", "num_heads", "window"}

    def test_construct_takes_the_fields_set_as_pydantic_does(self):
        raw = AttentionConfig.model_construct({"hidden_dim"}, hidden_dim=8, num_heads=2, x=1)
        assert (raw.model_fields_set, raw.x, raw.num_heads) == ({"hidden_dim"}, 1, 2)

    def test_construct_may_leave_required_fields_unset_and_the_repr_shows_the_rest(self):
        raw = AttentionConfig.model_construct(hidden_dim=8)
        assert repr(raw).startswith("AttentionConfig(hidden_dim=8, use_rope=False, ")
        with pytest.raises(AttributeError, match="'AttentionConfig' object has no attribute 'num_heads'"):
            _ = raw.num_heads

    def test_copy_and_assignment_keep_what_was_given(self):
        cfg = AttentionConfig.from_dict({"hidden_dim": 8, "num_heads": 2, "x": 1})
        wider = cfg.model_copy(update={"hidden_dim": 16, "dropout": 0.5})
        assert (wider.head_dim, wider.x, wider.model_fields_set) == (8, 1, {"hidden_dim", "num_heads", "dropout", "x"})
        assert cfg.model_copy().model_fields_set == {"hidden_dim", "num_heads", "x"}
        cfg.bias = False
        assert cfg.model_fields_set == {"hidden_dim", "num_heads", "x", "bias"}
        spec = TokenSpec.from_dict({"a": 1}).model_copy(update={"size": 2})
        assert (spec.name, spec.size, spec.model_fields_set) == ("a", 2, {"name", "size"})

    def test_close_matches_for_the_first_unknown_keys_only(self):
        @config
        class Small(Config):
            depth: int = field(default=1)

        typos = {f"dept{i}": 1 for i in range(MAX_SHOWN + 5)}
        messages = [e["msg"] for e in _errors_of(Small, typos)]
        hinted = [m for m in messages if m.endswith("Did you mean 'depth'?")]
        assert len(messages) == MAX_SHOWN + 5
        assert len(hinted) == MAX_SHOWN
        assert messages[MAX_SHOWN:] == ["Extra inputs are not permitted"] * 5

    def test_a_nested_instance_is_copied_with_its_containers(self):
        @config
        class Outer(Config):
            inner: AttentionConfig = field()

        inner = AttentionConfig.from_dict({"hidden_dim": 8, "num_heads": 2, "window": [1, 2]})
        outer = Outer(inner=inner)
        assert outer.inner == inner
        assert outer.inner is not inner
        assert outer.inner.window is not inner.window
        assert outer.inner.model_fields_set == inner.model_fields_set

    def test_from_dict_takes_an_instance(self):
        cfg = AttentionConfig(hidden_dim=8, num_heads=2)
        assert AttentionConfig.from_dict(cfg) is cfg

    def test_fields_set_and_construct(self):
        cfg = AttentionConfig.from_dict({"hidden_dim": 8, "num_heads": 2, "bias": False, "x": 1})
        assert cfg.model_fields_set == {"hidden_dim", "num_heads", "bias", "x"}  # extras too, as pydantic's
        assert AttentionConfig(hidden_dim=8, num_heads=2, x=1).model_fields_set == {"hidden_dim", "num_heads", "x"}
        raw = AttentionConfig.model_construct(hidden_dim=8, num_heads=3)
        assert (raw.hidden_dim, raw.num_heads, raw.head_dim, raw.model_fields_set) == (
            8,
            3,
            None,
            {"hidden_dim", "num_heads"},
        )

    def test_extras_allow_and_forbid(self):
        @config(extra="forbid")
        class Strict(Config):
            n: int = field(default=1)

        assert errors(Strict.from_dict, {"n": 1, "m": 2, "o": 3}) == [
            (("m",), "extra_forbidden"),
            (("o",), "extra_forbidden"),
        ]
        loose = AttentionConfig.from_dict({"hidden_dim": 8, "num_heads": 2, "w": [1]})
        assert loose.to_dict()["w"] == [1]
        assert loose.model_extra == {"w": [1]}
        assert errors(AttentionConfig.from_dict, {"hidden_dim": 8, "num_heads": 2, 5: 1}) == [(("5",), "string_type")]

    def test_a_class_with_its_own_init_is_built_through_it(self):
        @config(extra="allow")
        class Counted(Config):
            n: int = field(default=1)
            built: ClassVar[list[dict]] = []

            def __init__(self, **kwargs: object) -> None:
                type(self).built.append(dict(kwargs))
                super().__init__(**kwargs)

        plain = Counted.from_dict({"n": 2})
        extra = Counted.from_dict({"n": 3, "note": "x"})
        assert (plain.n, extra.n, extra.model_extra) == (2, 3, {"note": "x"})
        assert Counted.built == [{"n": 2}, {"n": 3, "note": "x"}]
        assert errors(Counted.from_dict, {"n": 1, 5: 1}) == [(("5",), "string_type")]
        assert errors(AttentionConfig.from_dict, {"hidden_dim": 8, "num_heads": 2, "head_dim": 3, 5: 1}) == [
            (("5",), "string_type"),
            (("head_dim",), "derived_mismatch"),
        ]

    def test_nested_locations_through_lists_and_dicts(self):
        @config
        class Inner(Config):
            n: int = field()

        @config
        class Outer(Config):
            items: list[Inner] = field()
            table: dict[str, Inner] = field(factory=dict)
            specs: list[TokenSpec] = field(factory=list)

        bad = {"items": [{"n": 1}, {"n": "x"}], "table": {"a": {"m": 1}}, "specs": [{"a_b": -1}]}
        assert errors(Outer.from_dict, bad) == [
            (("items", 1, "n"), "int_type"),
            (("table", "a", "n"), "missing"),
            (("table", "a", "m"), "extra_forbidden"),
            (("specs", 0, "a_b"), "greater_than_equal"),
        ]

    def test_config_on_a_plain_class(self):
        @config
        class Plain:
            n: int = field(default=1)

        assert Plain.from_dict({"n": 2}).to_dict() == {"n": 2}
        assert issubclass(Plain, Config)

    def test_error_messages_show_a_bounded_excerpt(self):
        with pytest.raises(ValidationError) as info:
            AttentionConfig.from_dict({"hidden_dim": list(range(10**5)), "num_heads": 2})
        assert len(str(info.value)) < 400
        assert "<list of 100000 items>" in str(info.value)

    def test_model_validator_errors_are_model_level(self):
        @config
        class Pair(Config):
            low: int = field()
            high: int = field()

            @model_validator
            def ordered(self) -> None:
                if self.low > self.high:
                    raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")

        with pytest.raises(ValidationError) as info:
            Pair(low=2, high=1)
        assert info.value.errors() == [
            {
                "loc": (),
                "msg": "low (2) must not exceed high (1)",
                "type": "value_error",
                "input": {"low": 2, "high": 1},
            }
        ]
