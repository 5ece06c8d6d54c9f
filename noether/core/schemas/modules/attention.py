"""The generic attention config and the token-group vocabulary of anchor attention."""

from collections.abc import Callable, Mapping
from typing import Any

from noether._lazy import lazy_exports
from noether.catalog import legacy_exports
from noether.core.schemas.config import Config, config, field, model_validator
from noether.core.schemas.errors import ValidationError, error
from noether.core.types import InitWeightsMode


@config(extra="allow")
class AttentionConfig(Config):
    """Options shared by every attention implementation.

    Unknown keys are kept (``model_extra``), readable as attributes and dumped
    back, so one schema can carry the options of many implementations.
    """

    hidden_dim: int = field(ge=1, description="Width of the token features.")
    num_heads: int = field(ge=1, description="Number of attention heads; must divide hidden_dim.")
    use_rope: bool = field(default=False, description="Rotate queries and keys with RoPE frequencies.")
    dropout: float = field(
        default=0.0, ge=0.0, le=1.0, description="Dropout on attention weights and output projection (training only)."
    )
    init_weights: InitWeightsMode = field(default="truncnormal002", description="Weight initialisation scheme.")
    bias: bool = field(default=True, description="Use bias terms in the linear projections.")
    head_dim: int | None = field(
        default=None, derived=True, description="Width of one head; derived as hidden_dim // num_heads."
    )
    qk_norm: bool = field(default=False, description="LayerNorm over head_dim on queries and keys, before RoPE.")

    @model_validator
    def validate_hidden_dim_and_num_heads(self) -> None:
        if self.hidden_dim % self.num_heads != 0:
            raise ValueError(
                f"The 'hidden_dim' must be divisible by 'num_heads', got {self.hidden_dim} and {self.num_heads}"
            )
        self.head_dim = self.hidden_dim // self.num_heads


@config
class AttentionPattern(Config):
    """Which token groups (queries) attend to which (keys and values)."""

    query_tokens: list[str] = field(min_length=1, description="Token groups that attend, e.g. ['surface_queries'].")
    key_value_tokens: list[str] = field(min_length=1, description="Token groups attended to, e.g. ['surface_anchors'].")


def _unreserved(name: str) -> str:
    if name in ("name", "size"):
        raise ValueError(f"{name!r} cannot name a token group: {{{name!r}: ...}} would read as the field form")
    return name


@config
class TokenSpec(Config):
    """One named group of tokens in a concatenated sequence.

    ``size`` is the number of tokens of the group in the input tensor, or None
    when the group is not in the input and its keys/values come from a KV cache.

    Names read as ``<domain>_<attn_type>``, split at the last underscore:
    ``"surface_anchors"`` has domain ``"surface"`` and attn_type ``"anchors"``,
    ``"front_wheel_queries"`` has domain ``"front_wheel"``. A name without an
    underscore has no domain (``""``) and is its own attn_type.

    Data takes either form: the pair ``{"surface_anchors": 100}`` (what
    ``to_dict`` writes) or the fields ``{"name": "surface_anchors", "size": 100}``.
    A mapping with a ``name`` or ``size`` key is read as the fields, so those two
    words cannot name a group.
    """

    name: str = field(
        check=_unreserved,
        json_schema={"not": {"enum": ["name", "size"]}},
        description="Token group name such as 'surface_anchors'; not 'name' or 'size'.",
    )
    size: int | None = field(default=None, ge=0, description="Tokens in the input, or None when cached.")

    @property
    def domain(self) -> str:
        return self.name.rpartition("_")[0]

    @property
    def attn_type(self) -> str:
        return self.name.rpartition("_")[2]

    @classmethod
    def _structure_hook(cls) -> Callable[[Any, Any], Any]:
        fields_form: Any = super()._structure_hook()

        def structure(data: Any, _type: Any = cls) -> Any:
            pair = (type(data) is dict or isinstance(data, Mapping)) and "name" not in data and "size" not in data
            if (pair and len(data) != 1) or not (pair or isinstance(data, (Mapping, TokenSpec))):
                got = f"{len(data)} keys" if isinstance(data, Mapping) else type(data).__name__
                raise ValidationError(cls.__name__, [error("token_spec_form", f"{_FORMS}, got {got}", data)])
            if not pair:
                return fields_form(data)
            ((name, size),) = data.items()
            try:
                return cls(name=name, size=size)
            except ValidationError as exc:  # point errors at the group: {"a": -1} fails at loc a
                where = (name,) if isinstance(name, str) else ()
                errors = [{**e, "loc": where if e["loc"] == ("size",) else ()} for e in exc.errors()]
                raise ValidationError(cls.__name__, errors) from None  # type: ignore[arg-type]

        return structure

    @classmethod
    def _unstructure_hook(cls) -> Callable[[Any], Any]:
        return lambda spec: {spec._name: spec._size}  # to_dict: the pair (read from the slots: dumps are hot)

    @classmethod
    def _json_schema_def(cls, defs: dict[str, Any]) -> dict[str, Any]:
        fields_form = super()._json_schema_def(defs)
        size = fields_form["properties"]["size"]
        pair = {
            "type": "object", "minProperties": 1, "maxProperties": 1,
            "propertyNames": {"not": {"enum": sorted(_FIELD_KEYS)}},
            "additionalProperties": {k: v for k, v in size.items() if k in ("anyOf", "type", "minimum")},
        }  # fmt: skip
        return {"title": cls.__name__, "description": fields_form.get("description", ""), "oneOf": [pair, fields_form]}

    def _dump_source(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size}  # model_dump: the field form


_FIELD_KEYS = frozenset(TokenSpec.model_fields)
_FORMS = "A token group is a single {name: size} pair such as {'surface_anchors': 100}, or {'name': ..., 'size': ...}"


_CONCRETE = legacy_exports(__name__)  # the concrete configs emmiai-noether 1.x exported here, now beside their modules
__all__ = ["AttentionConfig", "AttentionPattern", "TokenSpec", *sorted(_CONCRETE)]
__getattr__, __dir__ = lazy_exports(globals(), _CONCRETE)
