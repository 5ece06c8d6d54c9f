from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple, TypeVar, cast

import torch

from noether.core.schemas.modules.attention import AttentionConfig, AttentionPattern, TokenSpec
from noether.modeling.contract import InputError
from noether.modeling.functional.rope import Freqs, token_slice
from noether.modeling.modules.attention.dot_product.module import QKVAttention
from noether.modeling.modules.attention.kv_cache import KVCache
from noether.modeling.modules.attention.masks import check_attn_mask, check_key_padding_mask, merge
from noether.modeling.modules.attention.mixed.config import MixedAttentionConfig
from noether.modeling.modules.attention.mixed.layout import (
    Group,
    Pattern,
    Patterns,
    TokenLayout,
    TokenSpecs,
    as_patterns,
    as_token_specs,
    equal_shapes,
)
from noether.modeling.modules.factory import Device

T = TypeVar("T")


def remembered(cache: dict[Any, T], key: Hashable, make: Callable[[], T], limit: int = 64) -> T:
    """``make()``, kept in ``cache`` under ``key`` outside ``torch.compile`` (which traces ``make`` instead).

    A module meets a handful of token layouts (training crops, inference chunks), so
    checking each once takes the per-call Python work out of small inputs; past
    ``limit`` distinct keys the cache starts over.
    """
    if torch.compiler.is_compiling():
        return make()
    value = cache.get(key)
    if value is None:
        if len(cache) >= limit:
            cache.clear()
        value = cache[key] = make()
    return value


class MixedAttention(QKVAttention):
    """Attention among named token groups of one concatenated sequence.

    One ``qkv`` projection covers the whole sequence; then each
    ``AttentionPattern`` (query groups attend to key/value groups) is one
    attention, and patterns of equal shapes share a single
    ``scaled_dot_product_attention`` call, batched along the batch axis (the
    concatenation also hands SDPA contiguous inputs: on CPU it measured faster
    than separate calls on strided views, at 65,536 queries per pattern too).

    With a ``KVCache``, the keys/values of every group used as keys/values are
    stored (after qk-norm and RoPE). Groups declared with ``size=None`` are not in
    ``x``: their keys/values are read from the cache, so query tokens can be
    evaluated in chunks against cached anchors.
    """

    accepts = frozenset({"token_specs", "attention_patterns", "attn_mask", "key_padding_mask", "freqs", "kv_cache"})
    legacy_positional = ("token_specs", "attention_patterns", "attention_mask", "freqs", "kv_cache")
    legacy_names: ClassVar[Mapping[str, str]] = {"attention_mask": "key_padding_mask"}

    def __init__(self, config: AttentionConfig, *, device: Device = None, dtype: torch.dtype | None = None) -> None:
        super().__init__(MixedAttentionConfig.coerce(config))
        self._layouts: dict[tuple[Any, ...], TokenLayout] = {}

    def example_inputs(self, batch_size: int, tokens: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Random inputs (``bench``, ``doctor``): two groups of ``tokens``, each attending to itself and the other."""
        specs = [TokenSpec(name="a", size=tokens), TokenSpec(name="b", size=tokens)]
        patterns = [AttentionPattern(query_tokens=["a", "b"], key_value_tokens=["a", "b"])]
        return (torch.randn(batch_size, 2 * tokens, self.hidden_dim),), {
            "token_specs": specs,
            "attention_patterns": patterns,
        }

    def forward(
        self,
        x: torch.Tensor,
        *,
        token_specs: TokenSpecs,
        attention_patterns: Patterns,
        freqs: Freqs | None = None,
        kv_cache: KVCache | None = None,
        attn_mask: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``x`` (batch, tokens, hidden): the groups with a size, concatenated in spec order.

        ``attn_mask``: as ``F.scaled_dot_product_attention``'s, over the tokens of
        ``x`` (broadcastable to (batch, heads, tokens, tokens)); each pattern
        uses its rows and columns. ``key_padding_mask``: bool (batch, tokens),
        True for real tokens of ``x`` (cached tokens are always real).
        ``freqs``: RoPE rotations of the tokens in ``x`` when ``use_rope``.
        Returns (batch, tokens, hidden).
        """
        owner = type(self).__name__
        self.check_input("x", x)
        self.check_freqs(freqs=(freqs, x))
        specs, patterns = as_token_specs(token_specs), as_patterns(attention_patterns)
        layout = self._layout(owner, specs, patterns, x.shape[1])
        batch, tokens, _ = x.shape
        check_key_padding_mask(owner, key_padding_mask, batch, tokens, x.device)
        check_attn_mask(owner, attn_mask, batch, self.num_heads, tokens, tokens, x.device)
        if layout.cached and kv_cache is None:
            raise InputError(
                f"{owner}: token groups {list(layout.cached)} have size=None, so their keys/values must come "
                "from a kv_cache, but none was given"
            )
        kv_groups = layout.key_groups
        cached_keys = sorted(kv_groups.intersection(layout.cached)) if attn_mask is not None else []
        if cached_keys:
            raise InputError(
                f"{owner}: attn_mask covers the tokens of x, but the key groups {cached_keys} come from the "
                "kv_cache; mask padding with key_padding_mask"
            )

        if kv_groups.isdisjoint(layout.slices):
            q, k, v = self.project(x, 0), None, None  # every key/value group is cached
        else:
            q, k, v = self.split_heads(self.qkv(x), 3)
            k = self.rotate(self.norm_k(k), freqs)
        q = self.rotate(self.norm_q(q), freqs)
        if kv_cache is not None and k is not None and v is not None:
            kv_cache.store_groups(self, {n: layout.slices[n] for n in layout.order if n in kv_groups}, k, v)

        pattern_kv = [self._keys_values(p.key_value_tokens, layout, q, k, v, kv_cache) for p in patterns]
        for index, (pattern, (keys, _)) in enumerate(zip(patterns, pattern_kv, strict=True)):
            if keys.shape[2] == 0:
                raise InputError(
                    f"{owner}: the key/value groups {list(pattern.key_value_tokens)} of attention pattern {index} "
                    f"hold no tokens, so {list(pattern.query_tokens)} would attend to nothing"
                )
        masks = None
        if attn_mask is not None or key_padding_mask is not None:
            masks = Masks(attn_mask, key_padding_mask, layout, {})
            if key_padding_mask is not None and kv_cache is not None:
                masks.cached_sizes.update(
                    {n: kv_cache.load(self, n, q)[0].shape[2] for n in layout.cached if n in kv_groups}
                )
        if len(patterns) == 1 and patterns[0].query_tokens == layout.order:  # in order: no scatter into a buffer
            keys, values = pattern_kv[0]
            result = self.attend(q, keys, values, None if masks is None else masks.of(patterns[0]))
            return self.project_out(self.merge_heads(result))
        out = q.new_empty(batch, tokens, self.num_heads, self.head_dim)
        batches = layout.batches or equal_shapes(  # cached key groups: their sizes known only now
            [(layout.tokens(p.query_tokens), keys.shape[2]) for p, (keys, _) in zip(patterns, pattern_kv, strict=True)]
        )
        for indices in batches:
            self._attend_group(patterns, indices, layout, q, pattern_kv, masks, out)
        return self.project_out(out.view(batch, tokens, self.hidden_dim))

    def _layout(self, owner: str, specs: list[Group], patterns: list[Pattern], tokens: int) -> TokenLayout:
        """The checked layout, remembered per (specs, patterns, tokens)."""
        key = (tuple(specs), tuple(patterns), tokens)
        return remembered(self._layouts, key, lambda: TokenLayout.build(owner, specs, patterns, tokens))

    def _keys_values(
        self,
        names: tuple[str, ...],
        layout: TokenLayout,
        q: torch.Tensor,
        k: torch.Tensor | None,
        v: torch.Tensor | None,
        kv_cache: KVCache | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys/values of ``names`` along the token axis: views where they lie back to back in ``x`` or the cache."""
        span = layout.span(names)
        if span is not None and k is not None and v is not None:
            return k.narrow(2, span[0], span[1] - span[0]), v.narrow(2, span[0], span[1] - span[0])
        if kv_cache is not None and all(n in layout.cached for n in names):
            return kv_cache.load_groups(self, names, q)
        parts = [self._keys_values((n,), layout, q, k, v, kv_cache) for n in names]
        return torch.cat([p[0] for p in parts], dim=2), torch.cat([p[1] for p in parts], dim=2)

    def store_kv(
        self,
        x: torch.Tensor,
        token_specs: TokenSpecs,
        kv_cache: KVCache,
        freqs: Freqs | None = None,
        *,
        prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
        chunk_size: int | None = None,
    ) -> None:
        """Cache the keys/values of every group in ``x`` as ``forward`` would, without attending.

        ``prepare`` (a block's pre-norm, say) is applied to ``x`` in chunks of
        ``chunk_size`` tokens, each projected straight into the cache's buffers:
        this needs one chunk's activations beyond the cache entry.
        """
        self.check_input("x", x)
        self.check_freqs(freqs=(freqs, x))
        layout = TokenLayout.build(type(self).__name__, as_token_specs(token_specs), None, x.shape[1])
        batch, tokens, _ = x.shape
        keys = kv_cache.empty(batch, tokens, self.num_heads, self.head_dim, x)
        values = kv_cache.empty(batch, tokens, self.num_heads, self.head_dim, x)
        step = chunk_size or max(tokens, 1)
        for start in range(0, tokens, step):
            part = x[:, start : start + step]
            if prepare is not None:
                part = prepare(part)
            part_freqs = None if freqs is None else token_slice(freqs, start, start + step)
            keys[:, :, start : start + step] = self.rotate(self.norm_k(self.project(part, 1)), part_freqs)
            values[:, :, start : start + step] = self.project(part, 2)
        kv_cache.store_groups(self, layout.slices, keys, values)

    def _attend_group(
        self,
        patterns: Sequence[Pattern],
        indices: Sequence[int],
        layout: TokenLayout,
        q: torch.Tensor,
        pattern_kv: Sequence[tuple[torch.Tensor, torch.Tensor]],
        masks: "Masks | None",
        out: torch.Tensor,
    ) -> None:
        """One SDPA call for the equal-shaped patterns at ``indices``; results written into ``out`` (b, n, h, d)."""
        group = [patterns[i] for i in indices]
        qs = [gather(q, layout, p.query_tokens, 2) for p in group]
        ks = [pattern_kv[index][0] for index in indices]
        vs = [pattern_kv[index][1] for index in indices]
        if len(group) == 1:
            result = self.attend(qs[0], ks[0], vs[0], None if masks is None else masks.of(group[0]))
        else:
            mask = None if masks is None else torch.cat([masks.of(p, batch=q.shape[0]) for p in group])  # type: ignore[misc]
            result = self.attend(torch.cat(qs), torch.cat(ks), torch.cat(vs), mask)
        for pattern, chunk in zip(group, result.chunk(len(group)), strict=True):
            span = layout.span(pattern.query_tokens)
            if span is not None:
                out.narrow(1, span[0], span[1] - span[0]).copy_(chunk.transpose(1, 2))
                continue
            offset = 0
            for name in pattern.query_tokens:
                start, stop = layout.slices[name]
                out.narrow(1, start, stop - start).copy_(chunk.narrow(2, offset, stop - start).transpose(1, 2))
                offset += stop - start


def gather(t: torch.Tensor, layout: TokenLayout, names: tuple[str, ...], dim: int) -> torch.Tensor:
    """The tokens of input groups ``names`` along ``dim``: a view when they lie back to back."""
    span = layout.span(names)
    if span is not None:
        return t.narrow(dim, span[0], span[1] - span[0])
    return torch.cat([t.narrow(dim, start, stop - start) for start, stop in (layout.slices[n] for n in names)], dim)


class Masks(NamedTuple):
    """The masks of one forward, cut per pattern: rows of its queries, columns of its keys."""

    attn_mask: torch.Tensor | None
    key_padding_mask: torch.Tensor | None
    layout: TokenLayout
    cached_sizes: dict[str, int]  # cached key group -> its token count (always real tokens)

    def of(self, pattern: Pattern, batch: int | None = None) -> torch.Tensor | None:
        """The SDPA mask of ``pattern``, its batch axis expanded to ``batch`` when given (to concatenate)."""
        cut = None
        if self.attn_mask is not None:
            cut = self.attn_mask.reshape((1,) * (4 - self.attn_mask.ndim) + tuple(self.attn_mask.shape))
            if cut.shape[2] != 1:
                cut = gather(cut, self.layout, pattern.query_tokens, 2)
            if cut.shape[3] != 1:
                cut = gather(cut, self.layout, pattern.key_value_tokens, 3)
        mask = cut
        if self.key_padding_mask is not None:
            mask = merge(cut, self._padding(pattern.key_value_tokens)[:, None, None, :])
        if mask is not None and batch is not None:
            mask = mask.expand(batch, *mask.shape[1:])
        return mask

    def _padding(self, names: Sequence[str]) -> torch.Tensor:
        padding = cast(torch.Tensor, self.key_padding_mask)
        parts = [
            padding[:, slice(*self.layout.slices[n])]
            if n in self.layout.slices
            else padding.new_ones(padding.shape[0], self.cached_sizes[n])
            for n in names
        ]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
