import cattrs
import pytest

from noether.core.schemas import ValidationError, config, model_validator
from noether.core.schemas.modules import AttentionConfig, AttentionPattern, TokenSpec


def errors_of(fn, *args, **kwargs):
    with pytest.raises(ValidationError) as info:
        fn(*args, **kwargs)
    return [(e["loc"], e["type"]) for e in info.value.errors()]


class TestAttentionConfig:
    def test_defaults_and_derived_head_dim(self):
        cfg = AttentionConfig(hidden_dim=64, num_heads=4)
        assert cfg.to_dict() == {
            "hidden_dim": 64,
            "num_heads": 4,
            "use_rope": False,
            "dropout": 0.0,
            "init_weights": "truncnormal002",
            "bias": True,
            "head_dim": 16,
            "qk_norm": False,
        }

    def test_indivisible_heads_is_one_model_error(self):
        with pytest.raises(ValidationError) as info:
            AttentionConfig.from_dict({"hidden_dim": 64, "num_heads": 3})
        (err,) = info.value.errors()
        assert err["loc"] == ()
        assert err["type"] == "value_error"
        assert err["msg"] == "The 'hidden_dim' must be divisible by 'num_heads', got 64 and 3"

    def test_conflicting_head_dim_is_rejected(self):
        for make in (lambda: AttentionConfig(hidden_dim=64, num_heads=4, head_dim=8),
                     lambda: AttentionConfig.from_dict({"hidden_dim": 64, "num_heads": 4, "head_dim": 8})):  # fmt: skip
            with pytest.raises(ValidationError) as info:
                make()
            assert info.value.errors() == [{
                "loc": ("head_dim",), "msg": "head_dim is derived from the other fields as 16; leave it unset",
                "type": "derived_mismatch", "input": 8,
            }]  # fmt: skip

    def test_consistent_head_dim_is_accepted(self):
        assert AttentionConfig(hidden_dim=64, num_heads=4, head_dim=16).head_dim == 16

    @pytest.mark.parametrize(
        ("field", "value", "error_type"),
        [
            ("hidden_dim", 64.5, "int_type"),
            ("hidden_dim", 64.0, "int_type"),
            ("hidden_dim", "64", "int_type"),
            ("hidden_dim", True, "int_type"),
            ("hidden_dim", 0, "greater_than_equal"),
            ("num_heads", -1, "greater_than_equal"),
            ("use_rope", "false", "bool_type"),
            ("use_rope", 0, "bool_type"),
            ("use_rope", None, "bool_type"),
            ("dropout", 1.5, "less_than_equal"),
            ("dropout", -0.1, "greater_than_equal"),
            ("dropout", True, "float_type"),
            ("dropout", "half", "float_type"),
            ("dropout", float("nan"), "finite_number"),
            ("init_weights", "xavier", "literal_error"),
            ("init_weights", 5, "literal_error"),
            ("qk_norm", "true", "bool_type"),
        ],
    )
    def test_strict_field_types(self, field, value, error_type):
        data = {"hidden_dim": 64, "num_heads": 4, field: value}
        assert errors_of(AttentionConfig.from_dict, data) == [((field,), error_type)]
        assert errors_of(AttentionConfig, **data) == [((field,), error_type)]

    def test_literal_error_names_allowed_values(self):
        with pytest.raises(ValidationError) as info:
            AttentionConfig(hidden_dim=64, num_heads=4, init_weights="xavier")
        assert info.value.errors()[0]["msg"] == (
            "Input should be 'truncnormal002', 'torch', 'truncnormal', 'truncnormal002-identity' or 'zeros'"
        )

    def test_float_accepts_ints_and_numeric_strings(self):
        assert AttentionConfig(hidden_dim=8, num_heads=2, dropout=1).dropout == 1.0
        assert type(AttentionConfig(hidden_dim=8, num_heads=2, dropout=0).dropout) is float
        assert AttentionConfig.from_dict({"hidden_dim": 8, "num_heads": 2, "dropout": "1e-3"}).dropout == 0.001

    def test_every_error_reported_at_once(self):
        data = {"num_heads": "4", "use_rope": "false", "dropout": 3, "init_weights": "x"}
        assert errors_of(AttentionConfig.from_dict, data) == [
            (("hidden_dim",), "missing"),
            (("num_heads",), "int_type"),
            (("use_rope",), "bool_type"),
            (("dropout",), "less_than_equal"),
            (("init_weights",), "literal_error"),
        ]

    def test_extras_are_kept_readable_and_dumped(self):
        cfg = AttentionConfig.from_dict({"hidden_dim": 64, "num_heads": 4, "num_slices": 32, "window": [1, 2]})
        assert cfg.num_slices == 32
        assert cfg.window == [1, 2]
        assert cfg.model_extra == {"num_slices": 32, "window": [1, 2]}
        assert cfg.to_dict()["num_slices"] == 32
        assert list(cfg.to_dict())[-2:] == ["num_slices", "window"]
        assert AttentionConfig.from_dict(cfg.to_dict()) == cfg

    def test_extras_on_direct_construction(self):
        cfg = AttentionConfig(hidden_dim=64, num_heads=4, num_slices=8)
        assert cfg.num_slices == 8
        assert "num_slices=8" in repr(cfg)

    def test_missing_attribute_still_raises_attribute_error(self):
        cfg = AttentionConfig(hidden_dim=64, num_heads=4)
        with pytest.raises(AttributeError, match="'AttentionConfig' object has no attribute 'nope'"):
            _ = cfg.nope

    def test_equality_includes_extras(self):
        a = AttentionConfig.from_dict({"hidden_dim": 64, "num_heads": 4, "x": 1})
        b = AttentionConfig.from_dict({"hidden_dim": 64, "num_heads": 4, "x": 2})
        assert a != b
        assert a == AttentionConfig.from_dict({"hidden_dim": 64, "num_heads": 4, "x": 1})

    def test_dump_does_not_alias_extras_dict(self):
        cfg = AttentionConfig(hidden_dim=64, num_heads=4, x=1)
        cfg.to_dict()["x"] = 2
        assert cfg.x == 1


class TestAttentionPattern:
    def test_valid(self):
        p = AttentionPattern(query_tokens=("surface_queries",), key_value_tokens=["surface_anchors"])
        assert p.query_tokens == ["surface_queries"]
        assert p.to_dict() == {"query_tokens": ["surface_queries"], "key_value_tokens": ["surface_anchors"]}

    def test_bare_string_is_not_a_list_of_names(self):
        with pytest.raises(ValidationError) as info:
            AttentionPattern.from_dict({"query_tokens": "surface_queries", "key_value_tokens": ["a"]})
        (err,) = info.value.errors()
        assert err["loc"] == ("query_tokens",)
        assert (
            err["msg"] == "Input should be a valid list (a bare string is not a list of names), got 'surface_queries'"
        )

    def test_empty_and_non_string_entries(self):
        assert errors_of(AttentionPattern.from_dict, {"query_tokens": [], "key_value_tokens": ["a", 3]}) == [
            (("query_tokens",), "too_short"),
            (("key_value_tokens", 1), "string_type"),
        ]

    def test_extra_keys_forbidden(self):
        assert errors_of(AttentionPattern.from_dict, {"query_tokens": ["a"], "key_value_tokens": ["b"], "q": 1}) == [
            (("q",), "extra_forbidden")
        ]

    def test_dump_is_a_copy(self):
        p = AttentionPattern(query_tokens=["a"], key_value_tokens=["b"])
        p.to_dict()["query_tokens"].append("c")
        assert p.query_tokens == ["a"]


class TestTokenSpec:
    def test_pair_form(self):
        spec = TokenSpec.from_dict({"surface_anchors": 100})
        assert (spec.name, spec.size) == ("surface_anchors", 100)
        assert spec.to_dict() == {"surface_anchors": 100}
        assert (spec.model_extra, spec.model_fields_set) == ({}, {"name", "size"})
        assert TokenSpec.from_dict({"volume_anchors": None}).size is None

    def test_pair_form_of_a_subclass_keeps_its_fields_and_validators(self):
        @config
        class EvenSpec(TokenSpec):
            @model_validator
            def even(self) -> None:
                if self.size is not None and self.size % 2:
                    raise ValueError(f"size must be even, got {self.size}")

        spec = EvenSpec.from_dict({"a": 2})
        assert (type(spec), spec.name, spec.size, spec.model_fields_set) == (EvenSpec, "a", 2, {"name", "size"})
        with pytest.raises(ValidationError, match="size must be even, got 3"):
            EvenSpec.from_dict({"a": 3})

    def test_field_form_through_model_validate(self):
        spec = TokenSpec.model_validate({"name": "surface_queries", "size": 3})
        assert spec == TokenSpec(name="surface_queries", size=3)
        assert spec.model_dump() == {"name": "surface_queries", "size": 3}

    def test_both_forms_load_everywhere(self):
        for load in (TokenSpec.from_dict, TokenSpec.model_validate, lambda d: cattrs.structure(d, TokenSpec)):
            assert load({"name": "surface_queries", "size": 3}) == TokenSpec(name="surface_queries", size=3)
            assert load({"surface_queries": 3}) == TokenSpec(name="surface_queries", size=3)
            assert load({"name": "q"}) == TokenSpec(name="q", size=None)

    @pytest.mark.parametrize(
        ("data", "got"), [({}, "0 keys"), ({"a": 1, "b": 2}, "2 keys"), (["surface_anchors", 1], "list"), ("x", "str")]
    )
    def test_neither_form_is_one_clear_error(self, data, got):
        with pytest.raises(ValidationError) as info:
            TokenSpec.from_dict(data)
        assert info.value.errors() == [{
            "loc": (), "type": "token_spec_form", "input": data,
            "msg": "A token group is a single {name: size} pair such as {'surface_anchors': 100}, "
                   f"or {{'name': ..., 'size': ...}}, got {got}",
        }]  # fmt: skip

    @pytest.mark.parametrize("reserved", ["name", "size"])
    def test_field_words_cannot_name_a_group(self, reserved):
        """Its pair {reserved: n} would read as the field form, so such a spec could not round-trip."""
        assert errors_of(TokenSpec, name=reserved) == [(("name",), "value_error")]

    def test_field_keys_mean_the_field_form(self):
        assert errors_of(TokenSpec.from_dict, {"size": 3}) == [(("name",), "missing")]
        assert errors_of(TokenSpec.from_dict, {"name": "a", "size": 1, "x": 2}) == [(("x",), "extra_forbidden")]

    def test_size_errors_point_at_the_group(self):
        assert errors_of(TokenSpec.from_dict, {"surface_anchors": -1}) == [(("surface_anchors",), "greater_than_equal")]
        assert errors_of(TokenSpec.from_dict, {"surface_anchors": 1.5}) == [(("surface_anchors",), "int_type")]
        assert errors_of(TokenSpec.from_dict, {3: 1}) == [((), "string_type")]

    @pytest.mark.parametrize(
        ("name", "domain", "attn_type"),
        [
            ("surface_anchors", "surface", "anchors"),
            ("volume_queries", "volume", "queries"),
            ("front_wheel_anchors", "front_wheel", "anchors"),
            ("anchors", "", "anchors"),
        ],
    )
    def test_domain_and_attn_type(self, name, domain, attn_type):
        spec = TokenSpec(name=name, size=1)
        assert (spec.domain, spec.attn_type) == (domain, attn_type)
