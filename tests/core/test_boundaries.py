"""The config engine's edges: only ValidationError for bad input, read-only extras, reserved
names, bounded nesting, the schema of mappings, and lax mode for emmiai-noether 1.x code."""

import importlib
import json
import pathlib
import re
import subprocess
import sys
import warnings

import attrs
import jsonschema
import pytest

import noether.core.schemas as schemas
from noether.core.schemas import Config, ValidationError, config, field, lax
from noether.core.schemas.config import RESERVED
from noether.core.schemas.modules import AttentionConfig, AttentionPattern

CORE = pathlib.Path(schemas.__file__).parent


def kinds(exc: ValidationError) -> list[tuple[tuple[str | int, ...], str]]:
    return [(e["loc"], e["type"]) for e in exc.errors()]


class TestOnlyValidationError:
    @pytest.mark.parametrize("text", ["{bad", "", b"\xff\xfe", "[1, 2", '{"hidden_dim": 8,}'])
    def test_broken_json_is_a_validation_error(self, text):
        with pytest.raises(ValidationError) as caught:
            AttentionConfig.model_validate_json(text)
        assert kinds(caught.value) == [((), "json_invalid")]
        assert "Invalid JSON" in str(caught.value)

    @pytest.mark.parametrize("text", [123, None, ["{}"]])
    def test_json_that_is_not_text_is_a_validation_error(self, text):
        with pytest.raises(ValidationError) as caught:
            AttentionConfig.model_validate_json(text)
        assert kinds(caught.value) == [((), "json_type")]
        assert "JSON input should be string, bytes or bytearray" in str(caught.value)

    @pytest.mark.parametrize("update", [5, [("hidden_dim", 16)], "hidden_dim"])
    def test_a_copy_update_that_is_not_a_mapping_is_a_validation_error(self, update):
        cfg = AttentionConfig(hidden_dim=8, num_heads=2)
        with pytest.raises(ValidationError, match="model_copy's update should be a mapping") as caught:
            cfg.model_copy(update=update)
        assert kinds(caught.value) == [((), "dict_type")]

    def test_json_nested_beyond_the_interpreter_is_a_validation_error(self):
        with pytest.raises(ValidationError, match="Invalid JSON: nested too deeply"):
            AttentionConfig.model_validate_json("[" * 200_000 + "]" * 200_000)

    def test_deep_free_form_values_are_bounded(self):
        deep: list = []
        for _ in range(200):
            deep = [deep]
        with pytest.raises(ValidationError) as caught:
            AttentionConfig.from_dict({"hidden_dim": 8, "num_heads": 2, "window": deep})
        assert kinds(caught.value) == [(("window",), "too_deep")]
        assert "nested at most 64 levels deep" in str(caught.value)

    def test_the_extras_init_name_is_one_path_for_documents_and_keywords(self):
        """``_extra`` (how attrs.evolve hands extras back) holds extras on every path, checked alike."""
        for load in (AttentionConfig.from_dict, lambda d: AttentionConfig(**d)):
            assert load({"hidden_dim": 8, "num_heads": 2, "_extra": {"w": 1}}).model_extra == {"w": 1}
            for bad, error in (
                ([1], (("_extra",), "reserved_name")),
                ({"model_extra": 1}, (("model_extra",), "reserved_name")),
            ):
                with pytest.raises(ValidationError) as caught:
                    load({"hidden_dim": 8, "num_heads": 2, "_extra": bad})
                assert kinds(caught.value) == [error]


class TestReservedNames:
    def test_model_extra_is_read_only(self):
        cfg = AttentionConfig(hidden_dim=8, num_heads=2, window=3)
        with pytest.raises(AttributeError, match="model_extra is read-only"):
            cfg.model_extra = {"hidden_dim": 7}  # type: ignore[misc]
        with pytest.raises(TypeError):
            cfg.model_extra["hidden_dim"] = 7  # type: ignore[index]
        assert (cfg.hidden_dim, cfg.to_dict()["hidden_dim"], dict(cfg.model_extra)) == (8, 8, {"window": 3})

    @pytest.mark.parametrize("key", ["model_extra", "to_dict", "model_fields"])
    def test_reserved_keys_are_refused_by_every_path(self, key):
        document = {"hidden_dim": 8, "num_heads": 2, key: {}}
        for load in (AttentionConfig.from_dict, lambda d: AttentionConfig(**d)):
            with pytest.raises(ValidationError) as caught:
                load(document)
            assert kinds(caught.value) == [((key,), "reserved_name")]
            assert f"{key!r} is reserved" in str(caught.value)
        assert not jsonschema.Draft202012Validator(AttentionConfig.model_json_schema()).is_valid(document)

    def test_the_schema_of_a_class_with_extras_names_every_reserved_key(self):
        """The loader refuses the API's names as extra keys, so the schema's ``propertyNames`` does too."""
        schema = AttentionConfig.model_json_schema()
        refused = set(schema["propertyNames"]["not"]["enum"])
        assert refused == RESERVED - AttentionConfig.model_fields.keys()
        assert {"to_dict", "model_extra", "_extra", "coerce"} <= refused
        assert "propertyNames" not in AttentionPattern.model_json_schema()  # no extras: additionalProperties is false

    def test_a_reserved_field_name_fails_at_definition(self):
        with pytest.raises(TypeError, match="model_extra: the name is reserved"):

            @config
            class Bad(Config):
                model_extra: int = field(default=0)

    def test_evolve_keeps_the_extras_it_was_given(self):
        cfg = AttentionConfig(hidden_dim=8, num_heads=2, window=[3])
        wider = attrs.evolve(cfg, hidden_dim=16)
        assert (wider.window, wider.head_dim) == ([3], 8)
        assert wider.window is not cfg.window


class TestMappingSchema:
    def test_mapping_size_and_value_bounds_are_in_the_schema(self):
        @config
        class Channels(Config):
            dims: dict[str, int] = field(ge=1, min_length=1)

        schema = Channels.model_json_schema()["properties"]["dims"]
        assert schema["minProperties"] == 1
        assert schema["additionalProperties"] == {"type": "integer", "minimum": 1}
        validator = jsonschema.Draft202012Validator(Channels.model_json_schema())
        for dims, loc in (({}, ("dims",)), ({"p": 0}, ("dims", "p"))):
            assert not validator.is_valid({"dims": dims})
            with pytest.raises(ValidationError) as caught:
                Channels.from_dict({"dims": dims})
            assert [e["loc"] for e in caught.value.errors()] == [loc]
        assert validator.is_valid({"dims": {"p": 1}})
        assert Channels.from_dict({"dims": {"p": 1}}).dims == {"p": 1}


class TestLax:
    def setup_method(self):
        importlib.import_module("noether.core.schemas.converter")._reported.clear()  # each test sees its warnings

    def test_strict_is_the_default(self):
        with pytest.raises(ValidationError) as caught:
            AttentionConfig.from_dict({"hidden_dim": 64.0, "num_heads": "4", "use_rope": "false"})
        assert kinds(caught.value) == [(("hidden_dim",), "int_type"), (("num_heads",), "int_type"),
                                       (("use_rope",), "bool_type")]  # fmt: skip

    def test_lax_takes_what_1x_took_and_names_each_field_once(self):
        document = {"hidden_dim": 64.0, "num_heads": "4", "use_rope": "false", "dropout": "0.5"}
        with lax(), warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            cfg = AttentionConfig.from_dict(document)
            again = AttentionConfig.from_dict(document)
            pattern = AttentionPattern.from_dict({"query_tokens": ["a"], "key_value_tokens": ["b"], "typo": 1})
        assert (cfg.hidden_dim, cfg.num_heads, cfg.use_rope, cfg.dropout) == (64, 4, False, 0.5)
        assert again == cfg
        assert pattern.to_dict() == {"query_tokens": ["a"], "key_value_tokens": ["b"]}
        messages = sorted(str(w.message) for w in seen)
        assert all(w.category is DeprecationWarning for w in seen)
        assert messages == [
            "AttentionConfig.hidden_dim: float for an int accepted by lax mode (emmiai-noether 1.x rules); "
            "strict mode refuses it",
            "AttentionConfig.num_heads: str for an int accepted by lax mode (emmiai-noether 1.x rules); "
            "strict mode refuses it",
            "AttentionConfig.use_rope: str for a bool accepted by lax mode (emmiai-noether 1.x rules); "
            "strict mode refuses it",
            "AttentionPattern.typo: an unknown key (dropped) accepted by lax mode (emmiai-noether 1.x rules); "
            "strict mode refuses it",
        ]
        with pytest.raises(ValidationError):  # strict again outside the block
            AttentionConfig.from_dict(document)

    def test_lax_floats_take_bools_and_any_number_string(self):
        @config
        class Rates(Config):
            ratio: float = field(default=0.5, ge=0.0, le=1.0)
            scale: float = field(default=1.0)

        with lax(), warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            cfg = Rates.from_dict({"ratio": True, "scale": " 2.5 "})  # outside the strict numeric-string pattern
            with pytest.raises(ValidationError) as caught:
                Rates.from_dict({"ratio": "half", "scale": "1e999"})
        assert (cfg.ratio, cfg.scale) == (1.0, 2.5)
        assert kinds(caught.value) == [(("ratio",), "float_type"), (("scale",), "finite_number")]
        assert sorted(str(w.message).partition(" accepted")[0] for w in seen) == [
            "Rates.ratio: bool for a float", "Rates.scale: str for a float"
        ]  # fmt: skip

    def test_lax_still_refuses_what_1x_refused(self):
        with lax(), pytest.raises(ValidationError) as caught:
            AttentionConfig.from_dict({"hidden_dim": 64.5, "num_heads": "four", "use_rope": "maybe"})
        assert kinds(caught.value) == [(("hidden_dim",), "int_type"), (("num_heads",), "int_type"),
                                       (("use_rope",), "bool_type")]  # fmt: skip

    @pytest.mark.parametrize(("value", "lax_mode"), [("0", True), ("False", True), (" off ", True), ("no", True),
                                                   ("1", False), ("TRUE", False), ("", False)])  # fmt: skip
    def test_the_environment_is_read_as_a_bool_in_any_spelling(self, value, lax_mode):
        code = "from noether.core.schemas.converter import is_lax; print(is_lax())"
        env = {"NOETHER_STRICT": value, "PATH": ""}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout == f"{lax_mode}\n"

    def test_an_unknown_spelling_of_the_environment_fails_naming_both_choices(self):
        code = "import noether.core.schemas"
        env = {"NOETHER_STRICT": "maybe", "PATH": ""}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert out.returncode == 1
        assert out.stderr.splitlines()[-1] == (
            "ValueError: NOETHER_STRICT='maybe': 0, f, false, n, no, off for emmiai-noether 1.x's lax rules; "
            "1, on, t, true, y, yes for strict ones"
        )

    def test_the_environment_switches_the_same_engine(self):
        code = (
            "import warnings\n"
            "from noether.core.schemas.modules import AttentionConfig\n"
            "with warnings.catch_warnings(record=True) as seen:\n"
            "    warnings.simplefilter('always')\n"
            "    print(AttentionConfig(hidden_dim=8.0, num_heads=2).hidden_dim, *(w.message for w in seen))\n"
        )
        env = {"NOETHER_STRICT": "0", "PATH": ""}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.startswith("8 AttentionConfig.hidden_dim: float for an int accepted by lax mode")


def test_the_core_generates_no_code():
    for path in CORE.glob("*.py"):
        text = path.read_text()
        assert not re.search(r"\bexec\(|(?<![\w.])compile\(|linecache", text), f"{path.name} generates code"


def test_json_round_trip_of_every_float_string_form():
    cfg = AttentionConfig.model_validate_json(json.dumps({"hidden_dim": 8, "num_heads": 2, "dropout": "1e-3"}))
    assert cfg.dropout == 0.001
