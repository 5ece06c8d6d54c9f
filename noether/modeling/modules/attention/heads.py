"""What the multi-head attention modules share: heads, qk-norm, RoPE, SDPA, output projection."""

import torch
import torch.nn.functional as F
from torch import nn

from noether.core.schemas.modules.attention import AttentionConfig
from noether.modeling.contract import InputError, check_tensor
from noether.modeling.functional.init import init_linears
from noether.modeling.functional.rope import Freqs, check_rotations, rope
from noether.modeling.modules.factory import FactoryModule


class MultiHeadAttentionBase(FactoryModule):
    """Owns ``proj`` (and ``q_norm``/``k_norm`` when ``qk_norm``); subclasses own the input projections.

    Projection outputs are laid out as (part, head, head_dim), part being q/k/v,
    which is the layout of emmiai-noether 1.x checkpoints. Input projections given
    as keyword arguments are created before ``proj`` and initialised with it, in
    1.x's order, so a seeded module starts from 1.x's weights; a subclass that
    creates its own after ``super().__init__`` initialises them itself.
    """

    def __init__(self, config: AttentionConfig, **inputs: nn.Module) -> None:
        super().__init__()
        self.hidden_dim = config.hidden_dim
        self.num_heads = config.num_heads
        self.head_dim = config.hidden_dim // config.num_heads
        self.dropout = config.dropout
        self.use_rope = config.use_rope
        self.init_weights = config.init_weights
        self.q_norm = nn.LayerNorm(self.head_dim) if config.qk_norm else None
        self.k_norm = nn.LayerNorm(self.head_dim) if config.qk_norm else None
        for name, module in inputs.items():
            self.add_module(name, module)
        self._inputs = tuple(inputs)
        self.proj = nn.Linear(config.hidden_dim, config.hidden_dim, bias=config.bias)
        self.proj_dropout = nn.Dropout(config.dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """(Re)initialise ``proj`` and the input projections given to ``__init__`` by ``init_weights``."""
        inputs = [getattr(self, name) for name in self._inputs]
        init_linears(type(self).__name__, self.init_weights, inputs, output=self.proj)

    def split_heads(self, x: torch.Tensor, parts: int) -> torch.Tensor:
        """(batch, tokens, parts * hidden) -> (parts, batch, heads, tokens, head_dim)."""
        batch, tokens, _ = x.shape
        return x.view(batch, tokens, parts, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)

    @staticmethod
    def merge_heads(x: torch.Tensor) -> torch.Tensor:
        """(batch, heads, tokens, head_dim) -> (batch, tokens, hidden)."""
        batch, heads, tokens, head_dim = x.shape
        return x.transpose(1, 2).reshape(batch, tokens, heads * head_dim)

    def check_input(self, name: str, x: torch.Tensor, dim: int | None = None) -> None:
        """``x`` (batch, tokens, ``dim``: hidden_dim by default) on the module's device, in its dtype (or autocast)."""
        width = self.hidden_dim if dim is None else dim
        check_tensor(type(self).__name__, name, x, "batch tokens width", {"width": width}, like=self.proj.weight)

    def check_freqs(self, **given_freqs: tuple[Freqs | None, torch.Tensor]) -> None:
        """Each ``name=(freqs, tokens)``: given exactly when ``use_rope``, and fitting those tokens."""
        freqs = {name: value for name, (value, _) in given_freqs.items()}
        if not self.use_rope and all(value is None for value in freqs.values()):
            return
        given = [name for name, value in freqs.items() if value is not None]
        if self.use_rope and len(given) != len(freqs):
            missing = ", ".join(name for name in freqs if name not in given)
            raise InputError(
                f"RoPE usage mismatch: {type(self).__name__} has use_rope=True: pass {missing} (from RopeFrequency)"
            )
        if not self.use_rope and given:
            raise InputError(
                f"RoPE usage mismatch: {type(self).__name__} has use_rope=False but got {', '.join(given)}"
            )
        for name, (value, tokens) in given_freqs.items():
            check_rotations(type(self).__name__, name, value, tokens, self.head_dim)

    def norm_q(self, q: torch.Tensor) -> torch.Tensor:
        return q if self.q_norm is None else self.q_norm(q)

    def norm_k(self, k: torch.Tensor) -> torch.Tensor:
        return k if self.k_norm is None else self.k_norm(k)

    def rotate(self, x: torch.Tensor, freqs: Freqs | None) -> torch.Tensor:
        return x if freqs is None else rope(x, freqs)

    def attend(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0)

    def project_out(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.proj(x)
        return self.proj_dropout(out) if self.training else out  # eval: not even the module call
