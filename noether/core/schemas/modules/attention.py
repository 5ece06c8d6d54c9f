"""The generic attention config and the token-group vocabulary of anchor attention."""

from collections.abc import Mapping
from typing import Any, ClassVar

from noether.core.schemas.compiled import FAIL, positional_loader_for
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
            raise ValueError(f"hidden_dim ({self.hidden_dim}) must be divisible by num_heads ({self.num_heads})")
        head_dim = self.hidden_dim // self.num_heads
        if self.head_dim is not None and self.head_dim != head_dim:
            raise ValueError(
                f"head_dim ({self.head_dim}) must equal hidden_dim // num_heads ({head_dim}); leave it unset"
            )
        self.head_dim = head_dim


@config
class AttentionPattern(Config):
    """Which token groups (queries) attend to which (keys and values)."""

    query_tokens: list[str] = field(min_length=1, description="Token groups that attend, e.g. ['surface_queries'].")
    key_value_tokens: list[str] = field(min_length=1, description="Token groups attended to, e.g. ['surface_anchors'].")


@config
class TokenSpec(Config):
    """One named group of tokens in a concatenated sequence.

    ``size`` is the number of tokens of the group in the input tensor, or None
    when the group is not in the input and its keys/values come from a KV cache.

    Names read as ``<domain>_<attn_type>``, split at the last underscore:
    ``"surface_anchors"`` has domain ``"surface"`` and attn_type ``"anchors"``,
    ``"front_wheel_queries"`` has domain ``"front_wheel"``. A name without an
    underscore has no domain (``""``) and is its own attn_type.
    """

    __noether_dump_template__: ClassVar[str] = "{{{v}.name: {v}.size}}"  # to_dict, inlined into parents' dumps

    name: str = field(description="Token group name such as 'surface_anchors'.")
    size: int | None = field(default=None, ge=0, description="Tokens in the input, or None when cached.")

    @property
    def domain(self) -> str:
        return self.name.rpartition("_")[0]

    @property
    def attn_type(self) -> str:
        return self.name.rpartition("_")[2]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TokenSpec":
        """Build from the single-pair form ``{"surface_anchors": 100}``."""
        loaded: TokenSpec = cls._load_nested(data)
        return loaded if loaded is not FAIL else cls._from_pair_slow(data)

    @classmethod
    def _load_nested(cls, data: Any) -> Any:
        """The pair form without raising: a TokenSpec, or FAIL for the explaining path."""
        if type(data) is dict and len(data) == 1:
            ((name, size),) = data.items()
            return positional_loader_for(cls)(name, size)
        return FAIL

    @classmethod
    def _from_pair_slow(cls, data: Any) -> "TokenSpec":
        if not isinstance(data, Mapping) or len(data) != 1:
            got = f"{len(data)} keys" if isinstance(data, Mapping) else type(data).__name__
            msg = (
                "TokenSpec.from_dict expects a single {name: size} pair such as "
                f"{{'surface_anchors': 100}}, got {got}; use model_validate for {{'name': ..., 'size': ...}}"
            )
            raise ValidationError(cls.__name__, [error("token_spec_pair", msg, data)])
        ((name, size),) = data.items()
        try:
            return cls(name=name, size=size)
        except ValidationError as exc:
            # Point size errors at their group: {"surface_anchors": -1} fails at loc surface_anchors.
            where = (name,) if isinstance(name, str) else ()
            errors = [{**e, "loc": where if e["loc"] == ("size",) else ()} for e in exc.errors()]
            raise ValidationError(cls.__name__, errors) from None  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """The single-pair form ``{name: size}``."""
        return {self.name: self.size}
