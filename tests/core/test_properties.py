"""Property tests: loading never fails with anything but ValidationError, and dumps round-trip."""

from hypothesis import given, settings
from hypothesis import strategies as st

from noether.core.schemas import ValidationError
from noether.core.schemas.modules import AttentionConfig, AttentionPattern, TokenSpec
from noether.core.types import InitWeightsMode

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["1e-3", "64", "false", "torch", "surface_anchors", ""]),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
field_names = st.sampled_from(
    [*AttentionConfig.model_fields, *AttentionPattern.model_fields, *TokenSpec.model_fields, "extra", "size"]
)
any_key = st.one_of(field_names, st.text(max_size=6), st.integers(), st.none())
loose_dicts = st.dictionaries(any_key, json_value, max_size=10)


def loads_or_validation_error(load, data) -> None:
    try:
        load(data)
    except ValidationError as exc:
        errors = exc.errors()
    else:
        return
    assert errors, "a ValidationError always lists at least one error"


@settings(max_examples=400)
@given(loose_dicts)
def test_any_dict_structures_or_raises_validation_error(data):
    for load in (
        AttentionConfig.from_dict,
        AttentionPattern.from_dict,
        TokenSpec.from_dict,
        TokenSpec.model_validate,
    ):
        loads_or_validation_error(load, data)


@given(json_value)
def test_any_value_structures_or_raises_validation_error(data):
    for load in (AttentionConfig.from_dict, AttentionPattern.from_dict, TokenSpec.from_dict):
        loads_or_validation_error(load, data)


names = st.text(min_size=1, max_size=12)
extras = st.dictionaries(
    st.text(min_size=1, max_size=6).filter(lambda k: k not in AttentionConfig.model_fields), json_value, max_size=3
)


@st.composite
def attention_configs(draw):
    heads = draw(st.integers(1, 16))
    return AttentionConfig(
        hidden_dim=heads * draw(st.integers(1, 64)),
        num_heads=heads,
        use_rope=draw(st.booleans()),
        dropout=draw(st.floats(0.0, 1.0)),
        init_weights=draw(st.sampled_from(InitWeightsMode.__args__)),
        bias=draw(st.booleans()),
        qk_norm=draw(st.booleans()),
        **draw(extras),
    )


@given(attention_configs())
def test_attention_config_round_trip(cfg):
    assert AttentionConfig.from_dict(cfg.to_dict()) == cfg
    assert AttentionConfig.model_validate(cfg.model_dump()) == cfg


@given(st.builds(TokenSpec, name=names, size=st.none() | st.integers(0, 10**9)))
def test_token_spec_round_trip(spec):
    assert TokenSpec.from_dict(spec.to_dict()) == spec
    assert TokenSpec.model_validate(spec.model_dump()) == spec


@given(
    st.builds(
        AttentionPattern,
        query_tokens=st.lists(names, min_size=1, max_size=4),
        key_value_tokens=st.lists(names, min_size=1, max_size=4),
    )
)
def test_attention_pattern_round_trip(pattern):
    assert AttentionPattern.from_dict(pattern.to_dict()) == pattern


def outcome(load, data):
    try:
        return load(data)
    except ValidationError as exc:
        return exc.errors()


@settings(max_examples=400)
@given(st.dictionaries(field_names, json_value, max_size=10))
def test_compiled_loader_agrees_with_field_checks(data):
    """from_dict's compiled fast path and direct construction (attrs converters) agree."""
    for cls, load in (
        (AttentionConfig, AttentionConfig.from_dict),
        (AttentionPattern, AttentionPattern.from_dict),
        (TokenSpec, TokenSpec.model_validate),
    ):
        assert outcome(load, data) == outcome(lambda d, cls=cls: cls(**d), data)


@given(attention_configs())
def test_compiled_dump_matches_fields(cfg):
    expected = {name: getattr(cfg, name) for name in AttentionConfig.model_fields} | cfg.model_extra
    assert cfg.to_dict() == expected
