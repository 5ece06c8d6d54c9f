from collections.abc import Mapping, Sequence
from typing import Any

import torch

from noether.core.schemas.modules.attention import AttentionPattern, TokenSpec
from noether.modeling.modules.attention.kv_cache import KVCache
from noether.modeling.modules.blocks.base import AttentionCall, ResidualBlock, modulate
from noether.modeling.modules.blocks.transformer.config import TransformerBlockConfig


class TransformerBlock(ResidualBlock):
    """Pre-norm transformer block with any registered attention (``attention_constructor``).

    ``token_specs``, ``attention_patterns``, ``attn_mask``, ``freqs`` and ``kv_cache``
    are passed through to the attention, which must accept those given.
    """

    def __init__(self, config: TransformerBlockConfig | Mapping[str, Any]) -> None:
        from noether.registry import build_attention

        config = TransformerBlockConfig.coerce(config)
        super().__init__(config)
        self.config = config
        self.norm1 = self.layer_norm(config, config.hidden_dim)
        self.attention_block = build_attention(config.attention_options(), name=config.attention_constructor)
        self._call = AttentionCall(type(self).__name__, config.attention_constructor, self.attention_block)

    def forward(
        self,
        x: torch.Tensor,
        token_specs: Sequence[TokenSpec | Mapping[str, int | None]] | None = None,
        *,
        condition: torch.Tensor | None = None,
        attention_patterns: Sequence[AttentionPattern | Mapping[str, Any]] | None = None,
        attn_mask: torch.Tensor | None = None,
        freqs: torch.Tensor | None = None,
        kv_cache: KVCache | None = None,
    ) -> torch.Tensor:
        """``x`` (batch, tokens, hidden) -> same shape; ``condition`` (batch, condition_dim) when conditioned."""
        kwargs = self._call.kwargs({"token_specs": token_specs, "attention_patterns": attention_patterns,
                                    "attn_mask": attn_mask, "freqs": freqs, "kv_cache": kv_cache})  # fmt: skip
        return self.residual(x, lambda h: self.attention_block(h, **kwargs), self.norm1(x), condition)

    @property
    def can_prefill(self) -> bool:
        """Whether the attention can cache keys/values without attending (anchor attention can)."""
        return callable(getattr(self.attention_block, "prefill_kv", None))

    def prefill_kv(
        self,
        x: torch.Tensor,
        token_specs: Sequence[TokenSpec | Mapping[str, int | None]],
        *,
        kv_cache: KVCache,
        condition: torch.Tensor | None = None,
        freqs: torch.Tensor | None = None,
        chunk_size: int | None = None,
    ) -> dict[str, str]:
        """Cache the attention's keys/values of ``x`` without running the block; see ``stream_queries``.

        The pre-norm runs on chunks of ``chunk_size`` tokens. Returns the
        attention's names under which chunks of each group can then be run.
        """
        if not self.can_prefill:
            raise TypeError(
                f"{type(self).__name__}: attention {self.config.attention_constructor!r} "
                f"({type(self.attention_block).__name__}) cannot prefill a KV cache (it has no prefill_kv); "
                "anchor attention can"
            )
        mods = self.modulations(condition)

        def prepare(part: torch.Tensor) -> torch.Tensor:
            normed = self.norm1(part)
            return normed if mods is None else modulate(normed, mods[0], mods[1])

        kwargs = self._call.kwargs({"freqs": freqs})
        aliases: dict[str, str] = self.attention_block.prefill_kv(
            x, token_specs, kv_cache=kv_cache, prepare=prepare, chunk_size=chunk_size, **kwargs
        )
        return aliases
