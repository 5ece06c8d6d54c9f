from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch

from noether.core.schemas.modules.attention import AttentionConfig, AttentionPattern, TokenSpec
from noether.modeling.functional.rope import Freqs
from noether.modeling.modules.attention.anchor.config import (
    CrossAnchorAttentionConfig,
    JointAnchorAttentionConfig,
    MultiBranchAnchorAttentionConfig,
    Spec,
)
from noether.modeling.modules.attention.kv_cache import KVCache
from noether.modeling.modules.attention.mixed.config import MixedAttentionConfig
from noether.modeling.modules.attention.mixed.layout import Group, Pattern, TokenSpecs, as_token_specs
from noether.modeling.modules.attention.mixed.module import MixedAttention, remembered
from noether.modeling.modules.factory import Device, FactoryModule


class MultiBranchAnchorAttention(FactoryModule):
    """Anchor attention (AB-UPT): derives attention patterns from branches, runs ``MixedAttention``.

    A token group belongs to the branch whose name, followed by ``_``, starts the
    group's name (the longest such branch); the branch's anchors are the group
    ``branch + anchor_suffix``. Anchors and queries attend only to anchors, so
    query tokens never interact and can be evaluated in chunks against a
    ``KVCache`` of the anchors' keys/values (give anchors ``size=None`` then).
    """

    config_class: ClassVar[type[MultiBranchAnchorAttentionConfig]] = MultiBranchAnchorAttentionConfig
    accepts = frozenset({"token_specs", "attn_mask", "key_padding_mask", "freqs", "kv_cache"})
    can_prefill = True
    legacy_positional = ("token_specs", "freqs", "kv_cache")

    def __init__(self, config: AttentionConfig, *, device: Device = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        config = self.config = self.config_class.coerce(config)
        generic = {name: getattr(config, name) for name in AttentionConfig.model_fields if name != "head_dim"}
        self.mixed_attention = MixedAttention(MixedAttentionConfig.from_dict(generic))
        self._plans: dict[tuple[Group, ...], Sequence[Pattern | AttentionPattern]] = {}

    def forward(
        self,
        x: torch.Tensor,
        *,
        token_specs: TokenSpecs,
        freqs: Freqs | None = None,
        kv_cache: KVCache | None = None,
        attn_mask: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``x`` (batch, tokens, hidden): the groups of ``token_specs`` with a size, in spec order.

        ``attn_mask`` and ``key_padding_mask``: as ``MixedAttention``'s, over the tokens of ``x``.
        """
        specs = as_token_specs(token_specs)
        out: torch.Tensor = self.mixed_attention(
            x, token_specs=specs, attention_patterns=self._plan(specs), freqs=freqs, kv_cache=kv_cache,
            attn_mask=attn_mask, key_padding_mask=key_padding_mask,
        )  # fmt: skip
        return out

    def _plan(self, specs: list[Group]) -> Sequence[Pattern | AttentionPattern]:
        """``plan(specs)``, remembered per specs."""
        return remembered(self._plans, tuple(specs), lambda: self.plan(specs))

    def prefill_kv(
        self,
        x: torch.Tensor,
        *,
        token_specs: TokenSpecs,
        freqs: Freqs | None = None,
        kv_cache: KVCache,
        prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
        chunk_size: int | None = None,
    ) -> dict[str, str]:
        """Cache the keys/values of the groups in ``x`` (usually the anchors) without attending.

        ``prepare`` and ``chunk_size``: see ``MixedAttention.store_kv``. Returns,
        per group, a name under which chunks of its tokens attend to the cached
        groups exactly as the group does (a query group of the same branch):
        after this, anchors can pass through a layer in small chunks.
        """
        specs = as_token_specs(token_specs)
        groups = self.branch_groups(specs)
        self.mixed_attention.store_kv(x, specs, kv_cache, freqs, prepare=prepare, chunk_size=chunk_size)
        return {
            spec.name: (spec.name if spec.name.startswith(branch + "_") else f"{branch}_{spec.name}") + "_chunk"
            for branch, members in groups.items()
            for spec in members
            if spec.size is not None
        }

    def example_inputs(self, batch_size: int, tokens: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Random inputs (``bench``, ``doctor``): per branch, ``tokens`` anchors and ``tokens`` queries."""
        specs = [TokenSpec(name=n, size=tokens) for b in self.branches for n in (self.anchors(b), f"{b}_queries")]
        return (torch.randn(batch_size, len(specs) * tokens, self.config.hidden_dim),), {"token_specs": specs}

    @property
    def branches(self) -> list[str]:
        return list(self.config.branches)

    def anchors(self, branch: str) -> str:
        return self.config.anchors(branch)

    def branch_groups(self, specs: Sequence[Spec]) -> dict[str, list[Spec]]:
        """Token groups per branch, checking that every group and branch is accounted for (see the config)."""
        return self.config.branch_groups(specs, type(self).__name__)

    def plan(self, specs: Sequence[Group]) -> Sequence[Pattern | AttentionPattern]:
        """The attention patterns among ``specs`` (queries are the groups with a size), as tuples.

        A subclass that overrides 1.x's ``_create_attention_patterns`` gets its patterns used.
        """
        if type(self)._create_attention_patterns is not MultiBranchAnchorAttention._create_attention_patterns:
            return self._create_attention_patterns(specs)
        return self.config.plan(specs, type(self).__name__)

    def patterns(self, specs: Sequence[Spec]) -> list[AttentionPattern]:
        """The attention patterns among ``specs``, as configs."""
        return self.config.patterns(specs, type(self).__name__)

    def _create_attention_patterns(self, token_specs: Sequence[Spec]) -> Sequence[AttentionPattern]:
        """1.x's name for ``patterns``; a 1.x subclass overriding it is used in forward."""
        return self.patterns(token_specs)


class SelfAnchorAttention(MultiBranchAnchorAttention):
    """Each branch's tokens attend to that branch's anchors."""


class CrossAnchorAttention(MultiBranchAnchorAttention):
    """Each branch's tokens attend to the anchors of every other branch."""

    config_class: ClassVar[type[MultiBranchAnchorAttentionConfig]] = CrossAnchorAttentionConfig


class JointAnchorAttention(MultiBranchAnchorAttention):
    """All tokens attend to the anchors of all branches."""

    config_class: ClassVar[type[MultiBranchAnchorAttentionConfig]] = JointAnchorAttentionConfig
