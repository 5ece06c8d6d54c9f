"""What a plugin author needs, from one place.

A plugin distribution declares each attention by one ``noether.attention`` entry
point whose value is its config class; the config class names its module class
(``module_class``), or the plugin's module implements the pluggy hook
``noether_attention_implementations``. Importing this module does not import
torch; the module base classes are imported when first used.

A module follows the module contract (:mod:`noether.modeling.contract`): its class
declares ``accepts`` (the contract keywords its ``forward`` takes, keyword-only),
``needs_kv`` and ``can_prefill``; ``legacy_positional``/``legacy_names`` adapt
earlier call forms. ``attn_mask`` has ``F.scaled_dot_product_attention``'s meaning
and ``key_padding_mask`` is bool (batch, keys), True for real tokens: ``sdpa_mask``
checks and merges both. Bad input raises ``InputError``.
"""

from typing import TYPE_CHECKING

from noether._lazy import lazy_exports
from noether.core.schemas import Config, ValidationError, config, field, model_validator
from noether.core.schemas.modules.attention import AttentionConfig, AttentionPattern, TokenSpec
from noether.registry.hookspecs import hookimpl
from noether.registry.implementation import AttentionImplementation

if TYPE_CHECKING:
    from noether.modeling.contract import Contract, InputError
    from noether.modeling.functional.init import init_linears
    from noether.modeling.functional.rope import Freqs
    from noether.modeling.modules.attention.heads import MultiHeadAttentionBase
    from noether.modeling.modules.attention.masks import check_key_padding_mask, sdpa_mask
    from noether.registry.build import build_attention

__all__ = [
    "AttentionConfig",
    "AttentionImplementation",
    "AttentionPattern",
    "Config",
    "Contract",
    "Freqs",
    "InputError",
    "MultiHeadAttentionBase",
    "TokenSpec",
    "ValidationError",
    "build_attention",
    "check_key_padding_mask",
    "config",
    "field",
    "hookimpl",
    "init_linears",
    "model_validator",
    "sdpa_mask",
]
__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        "MultiHeadAttentionBase": "noether.modeling.modules.attention.heads:MultiHeadAttentionBase",
        "init_linears": "noether.modeling.functional.init:init_linears",
        "Freqs": "noether.modeling.functional.rope:Freqs",
        "build_attention": "noether.registry.build:build_attention",
        "check_key_padding_mask": "noether.modeling.modules.attention.masks:check_key_padding_mask",
        "Contract": "noether.modeling.contract:Contract",
        "InputError": "noether.modeling.contract:InputError",
        "sdpa_mask": "noether.modeling.modules.attention.masks:sdpa_mask",
    },
)
