from collections.abc import Mapping, Sequence
from typing import Any

import torch

from noether.core.schemas.modules.attention import AttentionPattern, TokenSpec
from noether.modeling.functional.modulation import modulate_scale_shift
from noether.modeling.functional.rope import Freqs
from noether.modeling.modules.attention.kv_cache import KVCache
from noether.modeling.modules.blocks.base import ResidualBlock
from noether.modeling.modules.blocks.transformer.config import TransformerBlockConfig
from noether.modeling.modules.factory import Device

TokenSpecs = Sequence[TokenSpec | Mapping[str, int | None]]


class TransformerBlock(ResidualBlock):
    """Pre-norm transformer block with any registered attention (``attention_constructor``).

    ``token_specs``, ``attention_patterns``, ``attn_mask``, ``key_padding_mask``,
    ``freqs`` and ``kv_cache`` are passed through to the attention, which must
    declare those given (:mod:`noether.modeling.contract`); the block ``accepts``
    what its attention does, and ``condition``. 1.x's ``block(x, condition,
    attn_kwargs)`` is adapted by :mod:`noether.compat.calls`.
    """

    legacy_positional = ("condition", "attn_kwargs")

    def __init__(
        self,
        config: TransformerBlockConfig | Mapping[str, Any],
        *,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        config = TransformerBlockConfig.coerce(config)
        self.config = config
        super().__init__(config)

    def build_attention(self, config: TransformerBlockConfig) -> None:
        from noether.registry import build_attention

        self.norm1 = self.layer_norm(config, config.hidden_dim)
        self.attention_block = build_attention(config.attention_options(), name=config.attention_constructor)
        self.declare(config.attention_constructor, self.attention_block)

    def forward(
        self,
        x: torch.Tensor,
        *,
        condition: torch.Tensor | None = None,
        token_specs: TokenSpecs | None = None,
        attention_patterns: Sequence[AttentionPattern | Mapping[str, Any]] | None = None,
        attn_mask: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
        freqs: Freqs | None = None,
        kv_cache: KVCache | None = None,
    ) -> torch.Tensor:
        """``x`` (batch, tokens, hidden) -> same shape; ``condition`` (batch, condition_dim) when conditioned."""
        given = {"token_specs": token_specs, "attention_patterns": attention_patterns, "attn_mask": attn_mask,
                 "key_padding_mask": key_padding_mask, "freqs": freqs, "kv_cache": kv_cache}  # fmt: skip
        kwargs = self._call.kwargs(given)

        def attend(mods: Sequence[torch.Tensor]) -> torch.Tensor:
            h = self.norm1(x)
            out: torch.Tensor = self.attention_block(modulate_scale_shift(h, *mods) if mods else h, **kwargs)
            return out

        return self.residual(x, attend, condition)

    def prefill_kv(
        self,
        x: torch.Tensor,
        *,
        token_specs: TokenSpecs,
        kv_cache: KVCache,
        condition: torch.Tensor | None = None,
        freqs: Freqs | None = None,
        chunk_size: int | None = None,
    ) -> dict[str, str]:
        """Cache the attention's keys/values of ``x`` without running the block; see ``stream_queries``.

        The pre-norm runs on chunks of ``chunk_size`` tokens. Returns the
        attention's names under which chunks of each group can then be run.
        """
        if not self.can_prefill:
            raise TypeError(
                f"{type(self).__name__}: attention {self.config.attention_constructor!r} "
                f"({type(self.attention_block).__name__}) cannot prefill a KV cache (it does not declare can_prefill); "
                "anchor attention can"
            )
        mods = self.modulations(condition, x)

        def prepare(part: torch.Tensor) -> torch.Tensor:
            normed = self.norm1(part)
            return normed if mods is None else modulate_scale_shift(normed, mods[0], mods[1])

        kwargs = self._call.kwargs({"freqs": freqs})
        aliases: dict[str, str] = self.attention_block.prefill_kv(
            x, token_specs=token_specs, kv_cache=kv_cache, prepare=prepare, chunk_size=chunk_size, **kwargs
        )
        return aliases
