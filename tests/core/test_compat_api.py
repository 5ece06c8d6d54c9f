import json
import pickle

import attrs
import cattrs
import pytest

from noether.core.schemas import Config, ValidationError, config, field, model_validator
from noether.core.schemas.converter import float_pattern
from noether.core.schemas.modules import AttentionConfig, AttentionPattern, TokenSpec


@config
class Stage(Config):
    """One stage of a model."""

    attention: AttentionConfig = field(description="The stage's attention.")
    tokens: list[TokenSpec] = field(factory=list)
    patterns: list[AttentionPattern] = field(factory=list)


@config
class Model(Config):
    stages: list[Stage] = field(min_length=1)
    name: str = field(default="m")
    tags: dict[str, int] = field(factory=dict)


def model_data():
    return {
        "stages": [
            {
                "attention": {"hidden_dim": 64, "num_heads": 4, "window": 3},
                "tokens": [{"surface_anchors": 10}, {"surface_queries": None}],
                "patterns": [{"query_tokens": ["surface_queries"], "key_value_tokens": ["surface_anchors"]}],
            }
        ],
        "tags": {"a": 1},
    }


class TestNested:
    def test_structure_and_round_trip(self):
        m = Model.from_dict(model_data())
        assert m.stages[0].attention.window == 3
        assert m.stages[0].tokens[1] == TokenSpec(name="surface_queries", size=None)
        dumped = m.to_dict()
        assert dumped["stages"][0]["tokens"] == [{"surface_anchors": 10}, {"surface_queries": None}]
        assert dumped["stages"][0]["attention"]["window"] == 3
        assert Model.from_dict(dumped) == m
        assert json.loads(json.dumps(dumped)) == dumped

    def test_nested_error_locations(self):
        data = model_data()
        data["stages"][0]["attention"]["num_heads"] = 0
        data["stages"][0]["tokens"][0] = {"surface_anchors": -2}
        data["stages"][0]["patterns"][0]["key_value_tokens"] = "surface_anchors"
        data["tags"] = {"a": "1"}
        with pytest.raises(ValidationError) as info:
            Model.from_dict(data)
        assert [e["loc"] for e in info.value.errors()] == [
            ("stages", 0, "attention", "num_heads"),
            ("stages", 0, "tokens", 0, "surface_anchors"),
            ("stages", 0, "patterns", 0, "key_value_tokens"),
            ("tags", "a"),
        ]
        text = str(info.value)
        assert text.startswith("4 validation errors for Model\n")
        assert "stages.0.attention.num_heads\n  Input should be greater than or equal to 1" in text

    def test_nested_model_error_location(self):
        data = model_data()
        data["stages"][0]["attention"]["num_heads"] = 3
        with pytest.raises(ValidationError) as info:
            Model.from_dict(data)
        assert info.value.errors()[0]["loc"] == ("stages", 0, "attention")

    def test_not_a_mapping(self):
        for bad in (None, [1], "stages"):
            with pytest.raises(ValidationError) as info:
                Model.from_dict(bad)
            assert info.value.errors()[0]["type"] == "model_type"

    def test_direct_construction_accepts_dicts_for_nested(self):
        stage = Stage(attention={"hidden_dim": 8, "num_heads": 2})
        assert isinstance(stage.attention, AttentionConfig)


class TestPydanticNames:
    def test_model_validate_and_dump(self):
        cfg = AttentionConfig.model_validate({"hidden_dim": 64, "num_heads": 4, "x": 1})
        assert AttentionConfig.model_validate(cfg) is cfg
        assert cfg.model_dump() == cfg.to_dict()
        expected = {k: v for k, v in cfg.to_dict().items() if k not in ("x", "bias")}
        assert cfg.model_dump(exclude={"x", "bias"}) == expected
        assert "head_dim" in cfg.model_dump()
        assert "size" not in TokenSpec(name="a").model_dump(exclude_none=True)

    def test_model_dump_refuses_a_bare_string_of_names_and_an_unknown_mode(self):
        cfg = AttentionConfig(hidden_dim=8, num_heads=2)
        with pytest.raises(TypeError, match="include takes a set of field names, not the string 'hidden_dim'"):
            cfg.model_dump(include="hidden_dim")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="exclude takes a set of field names, not the string 'bias'"):
            cfg.model_dump(exclude="bias")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="mode should be 'python' or 'json', not 'yaml'"):
            cfg.model_dump(mode="yaml")  # type: ignore[arg-type]

    def test_model_copy_revalidates_and_rederives(self):
        cfg = AttentionConfig(hidden_dim=64, num_heads=4, x=1)
        wider = cfg.model_copy(update={"hidden_dim": 128})
        assert (wider.head_dim, wider.x, cfg.hidden_dim) == (32, 1, 64)
        with pytest.raises(ValidationError, match="must be divisible"):
            cfg.model_copy(update={"num_heads": 5})
        with pytest.raises(ValidationError, match="bool_type"):
            cfg.model_copy(update={"bias": "no"})
        assert cfg.model_copy() == cfg
        assert cfg.model_copy() is not cfg

    def test_model_copy_of_nested(self):
        m = Model.from_dict(model_data())
        copy = m.model_copy(update={"name": "n"}, deep=True)
        assert copy.stages == m.stages
        assert copy.stages[0] is not m.stages[0]

    def test_model_fields(self):
        fields = AttentionConfig.model_fields
        assert list(fields) == [
            "hidden_dim", "num_heads", "use_rope", "dropout", "init_weights", "bias", "head_dim", "qk_norm"
        ]  # fmt: skip
        assert fields["hidden_dim"].is_required()
        assert fields["hidden_dim"].annotation is int
        assert fields["hidden_dim"].ge == 1
        assert fields["dropout"].default == 0.0
        assert fields["dropout"].le == 1.0
        assert not fields["dropout"].is_required()
        assert fields["head_dim"].derived
        assert fields["qk_norm"].description
        assert Model.model_fields["tags"].default == {}


class TestValidationError:
    def test_is_value_error_with_details(self):
        with pytest.raises(ValueError, match="1 validation error for AttentionConfig") as info:
            AttentionConfig.from_dict({"hidden_dim": "x", "num_heads": 4})
        err = info.value
        assert isinstance(err, ValidationError)
        assert err.error_count() == 1
        assert err.errors() == [
            {
                "loc": ("hidden_dim",),
                "msg": "Input should be a valid integer, got 'x'",
                "type": "int_type",
                "input": "x",
            }
        ]
        assert str(err) == (
            "1 validation error for AttentionConfig\nhidden_dim\n"
            "  Input should be a valid integer, got 'x' [type=int_type, input_value='x', input_type=str]"
        )

    def test_pickles(self):
        with pytest.raises(ValidationError) as info:
            AttentionConfig.from_dict({"hidden_dim": "x", "num_heads": 4})
        clone = pickle.loads(pickle.dumps(info.value))
        assert clone.errors() == info.value.errors()
        assert str(clone) == str(info.value)


class TestGlobalCattrs:
    @pytest.mark.parametrize(
        "data",
        [
            {"hidden_dim": 64, "num_heads": 4, "x": [1]},
            {"hidden_dim": 64.5, "num_heads": "4", "use_rope": "false"},
            {"num_heads": 3},
        ],
    )
    def test_structure_matches_from_dict(self, data):
        def outcome(load):
            try:
                return load(data)
            except ValidationError as exc:
                return exc.errors()

        expected = outcome(AttentionConfig.from_dict)
        assert outcome(lambda d: cattrs.structure(d, AttentionConfig)) == expected

    def test_token_spec_and_nested(self):
        assert cattrs.structure({"surface_anchors": 3}, TokenSpec) == TokenSpec(name="surface_anchors", size=3)
        assert cattrs.structure(model_data(), Model) == Model.from_dict(model_data())
        m = Model.from_dict(model_data())
        assert cattrs.unstructure(m) == m.to_dict()

    def test_other_types_keep_cattrs_defaults(self):
        @attrs.define
        class Plain:
            n: int

        assert cattrs.structure({"n": 64.5}, Plain) == Plain(64)
        assert cattrs.structure("false", bool) is True
        assert cattrs.structure(["a"], list[str]) == ["a"]


class TestDefinitionRules:
    def test_validators_inherit_and_run_in_order(self):
        calls = []

        @config
        class Base(Config):
            n: int = field(default=1)

            @model_validator
            def first(self) -> None:
                calls.append("first")

        @config
        class Child(Base):
            @model_validator
            def second(self) -> None:
                calls.append("second")

        Child()
        assert calls == ["first", "second"]

    def test_custom_check(self):
        def even(value: int) -> int:
            if value % 2:
                raise ValueError(f"{value} is odd")
            return value

        @config
        class Even(Config):
            n: int = field(check=even)

        assert Even(n=2).n == 2
        with pytest.raises(ValidationError) as info:
            Even(n=3)
        assert info.value.errors()[0]["msg"] == "3 is odd"
        with pytest.raises(ValidationError, match="int_type"):
            Even(n="2")

    def test_type_without_a_hook_names_it_when_loaded(self):
        class Opaque:
            pass

        @config
        class Holder(Config):
            x: Opaque = field()

        with pytest.raises(cattrs.errors.StructureHandlerNotFoundError, match="Opaque"):
            Holder.from_dict({"x": 1})

    def test_subclass_can_forbid_extras(self):
        @config(extra="forbid")
        class Strict(AttentionConfig):
            pass

        with pytest.raises(ValidationError) as info:
            Strict.from_dict({"hidden_dim": 8, "num_heads": 2, "x": 1})
        assert info.value.errors()[0]["loc"] == ("x",)
        assert info.value.errors()[0]["type"] == "extra_forbidden"


class TestJsonSchema:
    def test_attention_config(self):
        schema = AttentionConfig.model_json_schema()
        assert schema["title"] == "AttentionConfig"
        assert schema["additionalProperties"] is True
        assert schema["required"] == ["hidden_dim", "num_heads"]
        assert schema["properties"]["hidden_dim"]["type"] == "integer"
        assert schema["properties"]["hidden_dim"]["minimum"] == 1
        assert schema["properties"]["dropout"] == {
            "title": "Dropout",
            "anyOf": [  # a number in [0, 1], or a numeric string that is plainly one (YAML 1.1 reads 1e-3 so)
                {"type": "number", "minimum": 0.0, "maximum": 1.0},
                {"type": "string", "pattern": float_pattern(0.0, 1.0)},
            ],
            "default": 0.0,
            "description": AttentionConfig.model_fields["dropout"].description,
        }
        assert schema["properties"]["init_weights"]["enum"][0] == "truncnormal002"
        assert schema["properties"]["head_dim"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]

    def test_nested_defs(self):
        schema = Model.model_json_schema()
        assert schema["additionalProperties"] is False
        assert schema["properties"]["stages"] == {
            "title": "Stages",
            "type": "array",
            "items": {"$ref": "#/$defs/Stage"},
            "minItems": 1,
        }
        assert set(schema["$defs"]) == {"Stage", "AttentionConfig", "TokenSpec", "AttentionPattern"}
        assert schema["$defs"]["Stage"]["description"] == "One stage of a model."
        json.dumps(schema)
