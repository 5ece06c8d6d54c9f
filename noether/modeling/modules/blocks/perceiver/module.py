from collections.abc import Mapping, Sequence
from typing import Any

import torch

from noether.modeling.contract import check_tensor
from noether.modeling.functional.modulation import modulate_scale_shift
from noether.modeling.functional.rope import Freqs
from noether.modeling.modules.blocks.base import ResidualBlock
from noether.modeling.modules.blocks.perceiver.config import PerceiverBlockConfig
from noether.modeling.modules.factory import Device


class PerceiverBlock(ResidualBlock):
    """Pre-norm cross-attention block: ``q`` attends to ``kv`` (width ``kv_dim``), then an MLP.

    Conditioned, the modulation also scales and shifts the key/values (8 * hidden
    wide, the layout of 1.x checkpoints). 1.x's ``block(q, kv, condition,
    attn_kwargs)`` is adapted by :mod:`noether.compat.calls`.
    """

    inputs = ("q", "kv")
    needs_kv = True
    legacy_positional = ("condition", "attn_kwargs")

    def __init__(
        self,
        config: PerceiverBlockConfig | Mapping[str, Any],
        *,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        config = PerceiverBlockConfig.coerce(config)
        self.config = config
        super().__init__(config)

    def build_attention(self, config: PerceiverBlockConfig) -> None:
        from noether.registry import build_attention

        kv_dim = config.kv_dim or config.hidden_dim
        self.norm1q = self.layer_norm(config, config.hidden_dim)
        self.norm1kv = self.layer_norm(config, kv_dim)
        self.attn = build_attention({**config.attention_options(), "kv_dim": kv_dim}, name=config.attention_constructor)
        self.declare(config.attention_constructor, self.attn)

    def forward(
        self,
        q: torch.Tensor,
        kv: torch.Tensor,
        *,
        condition: torch.Tensor | None = None,
        attn_mask: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
        q_freqs: Freqs | None = None,
        k_freqs: Freqs | None = None,
    ) -> torch.Tensor:
        """``q`` (batch, queries, hidden), ``kv`` (batch, keys, kv_dim) -> (batch, queries, hidden)."""
        self.check_input("q", q, self.hidden_dim)
        kv_dim = self.config.kv_dim or self.hidden_dim
        check_tensor(type(self).__name__, "kv", kv, "batch keys kv_dim", {"batch": q.shape[0], "kv_dim": kv_dim},
                     like=self.reference_weight())  # fmt: skip
        given = {"attn_mask": attn_mask, "key_padding_mask": key_padding_mask, "q_freqs": q_freqs, "k_freqs": k_freqs}
        kwargs = self._call.kwargs(given)

        def attend(mods: Sequence[torch.Tensor]) -> torch.Tensor:
            query, keys = self.norm1q(q), self.norm1kv(kv)
            if mods:
                query, keys = modulate_scale_shift(query, *mods[:2]), modulate_scale_shift(keys, *mods[2:])
            out: torch.Tensor = self.attn(query, keys, **kwargs)
            return out

        return self.residual(q, attend, condition)
