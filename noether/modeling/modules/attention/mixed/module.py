from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from noether.core.schemas.modules.attention import AttentionConfig, AttentionPattern, TokenSpec
from noether.modeling.modules.attention.dot_product.module import QKVAttention
from noether.modeling.modules.attention.kv_cache import KVCache
from noether.modeling.modules.attention.mixed.config import MixedAttentionConfig
from noether.modeling.modules.attention.mixed.layout import TokenLayout, as_patterns, as_token_specs


class MixedAttention(QKVAttention):
    """Attention among named token groups of one concatenated sequence.

    One ``qkv`` projection covers the whole sequence; then each
    ``AttentionPattern`` (query groups attend to key/value groups) is one
    attention, and patterns of equal shapes share a single
    ``scaled_dot_product_attention`` call, batched along the batch axis.

    With a ``KVCache``, the keys/values of every group used as keys/values are
    stored (after qk-norm and RoPE). Groups declared with ``size=None`` are not in
    ``x``: their keys/values are read from the cache, so query tokens can be
    evaluated in chunks against cached anchors.
    """

    def __init__(self, config: AttentionConfig) -> None:
        super().__init__(MixedAttentionConfig.coerce(config))

    def forward(
        self,
        x: torch.Tensor,
        token_specs: Sequence[TokenSpec | Mapping[str, int | None]],
        attention_patterns: Sequence[AttentionPattern | Mapping[str, Any]],
        attention_mask: torch.Tensor | None = None,
        freqs: torch.Tensor | None = None,
        kv_cache: KVCache | None = None,
    ) -> torch.Tensor:
        """``x`` (batch, tokens, hidden): the groups with a size, concatenated in spec order.

        ``attention_mask``: bool (batch, tokens), False marks padding tokens no
        query may attend to (cached tokens are always valid). ``freqs``: RoPE
        rotations of the tokens in ``x`` when ``use_rope``. Returns (batch, tokens, hidden).
        """
        owner = type(self).__name__
        self.check_input("x", x)
        self.check_freqs(freqs=freqs)
        specs, patterns = as_token_specs(token_specs), as_patterns(attention_patterns)
        layout = TokenLayout.build(owner, specs, patterns, x.shape[1])
        if attention_mask is not None and (attention_mask.dtype != torch.bool or attention_mask.shape != x.shape[:2]):
            raise ValueError(
                f"{owner}: attention_mask must be a bool mask of valid tokens with shape {tuple(x.shape[:2])}, "
                f"got {attention_mask.dtype} {tuple(attention_mask.shape)}"
            )
        if layout.cached and kv_cache is None:
            raise ValueError(
                f"{owner}: token groups {list(layout.cached)} have size=None, so their keys/values must come "
                "from a kv_cache, but none was given"
            )

        kv_groups = {name for p in patterns for name in p.key_value_tokens}
        if kv_groups.isdisjoint(layout.slices):
            q, k, v = self.project_q(x), None, None  # every key/value group is cached
        else:
            q, k, v = self.split_heads(self.qkv(x), 3)
            k = self.rotate(self.norm_k(k), freqs)
        q = self.rotate(self.norm_q(q), freqs)

        keys: dict[str, torch.Tensor] = {}
        values: dict[str, torch.Tensor] = {}
        for name in layout.order:
            if name in kv_groups and k is not None and v is not None:
                start, stop = layout.slices[name]
                keys[name], values[name] = k[:, :, start:stop], v[:, :, start:stop]
                if kv_cache is not None:
                    kv_cache.store(self, name, keys[name], values[name])
        for name in layout.cached:
            if name in kv_groups and kv_cache is not None:
                keys[name], values[name] = kv_cache.load(self, name, q)

        out = q.new_empty(x.shape[0], x.shape[1], self.num_heads, self.head_dim)
        for group in self._equal_shapes(patterns, layout, keys):
            self._attend_group(group, layout, q, k, v, keys, values, attention_mask, out)
        return self.project_out(out.view(x.shape[0], x.shape[1], self.hidden_dim))

    @staticmethod
    def _equal_shapes(
        patterns: Sequence[AttentionPattern], layout: TokenLayout, keys: Mapping[str, torch.Tensor]
    ) -> list[list[AttentionPattern]]:
        groups: dict[tuple[int, int], list[AttentionPattern]] = defaultdict(list)
        for pattern in patterns:
            queries = sum(stop - start for start, stop in (layout.slices[n] for n in pattern.query_tokens))
            kv_len = sum(keys[n].shape[2] for n in pattern.key_value_tokens)
            groups[(queries, kv_len)].append(pattern)
        return list(groups.values())

    def _attend_group(
        self,
        group: list[AttentionPattern],
        layout: TokenLayout,
        q: torch.Tensor,
        k: torch.Tensor | None,
        v: torch.Tensor | None,
        keys: Mapping[str, torch.Tensor],
        values: Mapping[str, torch.Tensor],
        attention_mask: torch.Tensor | None,
        out: torch.Tensor,
    ) -> None:
        """One SDPA call for patterns of equal shapes; results written into ``out`` (b, n, h, d)."""
        qs = [self._gather(q, layout, p.query_tokens, None) for p in group]
        ks = [self._gather(k, layout, p.key_value_tokens, keys) for p in group]
        vs = [self._gather(v, layout, p.key_value_tokens, values) for p in group]
        mask = None
        if attention_mask is not None:
            masks = [self._key_mask(attention_mask, layout, p.key_value_tokens, keys) for p in group]
            mask = (masks[0] if len(group) == 1 else torch.cat(masks))[:, None, None, :]
        if len(group) == 1:
            result = self.attend(qs[0], ks[0], vs[0], mask)
        else:
            result = self.attend(torch.cat(qs), torch.cat(ks), torch.cat(vs), mask)
        for pattern, chunk in zip(group, result.chunk(len(group)), strict=True):
            offset = 0
            for name in pattern.query_tokens:
                start, stop = layout.slices[name]
                out[:, start:stop] = chunk[:, :, offset : offset + stop - start].transpose(1, 2)
                offset += stop - start

    @staticmethod
    def _gather(
        t: torch.Tensor | None,
        layout: TokenLayout,
        names: Sequence[str],
        per_group: Mapping[str, torch.Tensor] | None,
    ) -> torch.Tensor:
        """The tokens of ``names`` along axis 2: a view when they lie back to back in ``t``."""
        span = layout.span(names)
        if t is not None and span is not None:
            return t[:, :, span[0] : span[1]]
        if per_group is None:
            assert t is not None
            parts = [t[:, :, slice(*layout.slices[n])] for n in names]
        else:
            parts = [per_group[n] for n in names]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=2)

    @staticmethod
    def _key_mask(
        mask: torch.Tensor, layout: TokenLayout, names: Sequence[str], keys: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        parts = [
            mask[:, slice(*layout.slices[n])] if n in layout.slices else mask.new_ones(mask.shape[0], keys[n].shape[2])
            for n in names
        ]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
