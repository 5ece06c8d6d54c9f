"""What a plugin author needs, from one place.

A plugin distribution declares each attention by one ``noether.attention`` entry
point whose value is its config class; the config class names its module class
(``module_class``), or the plugin's module implements the pluggy hook
``noether_attention_implementations``. Importing this module does not import
torch; the module base classes are imported when first used.

The mask contract (:mod:`noether.modeling.modules.attention.masks`): a module's
``forward`` takes ``key_padding_mask`` (bool (batch, keys), True for real
tokens), and ``attn_mask`` only with ``F.scaled_dot_product_attention``'s
meaning. ``sdpa_mask`` checks and merges both; ``legacy_padding`` serves modules
without query-key scores.
"""

from typing import TYPE_CHECKING

from noether._lazy import lazy_exports
from noether.core.schemas import Config, ValidationError, config, field, model_validator
from noether.core.schemas.modules.attention import AttentionConfig, AttentionPattern, TokenSpec
from noether.registry.hookspecs import hookimpl
from noether.registry.implementation import AttentionImplementation

if TYPE_CHECKING:
    from noether.modeling.functional.init import init_linears
    from noether.modeling.functional.rope import Freqs
    from noether.modeling.modules.attention.heads import MultiHeadAttentionBase
    from noether.modeling.modules.attention.masks import check_key_padding_mask, legacy_padding, sdpa_mask
    from noether.registry.build import build_attention

__all__ = [
    "AttentionConfig",
    "AttentionImplementation",
    "AttentionPattern",
    "Config",
    "Freqs",
    "MultiHeadAttentionBase",
    "TokenSpec",
    "ValidationError",
    "build_attention",
    "check_key_padding_mask",
    "config",
    "field",
    "hookimpl",
    "init_linears",
    "legacy_padding",
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
        "legacy_padding": "noether.modeling.modules.attention.masks:legacy_padding",
        "sdpa_mask": "noether.modeling.modules.attention.masks:sdpa_mask",
    },
)
