"""adaLN modulation (DiT): per-sample scale, shift and gate of a block's branches."""

import torch


def modulate_scale_shift(x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """``x * (1 + scale) + shift``; zero scale and shift are the identity.

    ``scale``/``shift`` are (batch, dim) or (batch, tokens, dim); a (batch, dim)
    pair broadcasts over the tokens of a 3-d ``x``.
    """
    if x.ndim == 3 and scale.ndim == 2:
        scale, shift = scale.unsqueeze(1), shift.unsqueeze(1)
    return x * (1 + scale) + shift


def modulate_gate(x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """``gate * x``, with a (batch, dim) gate broadcast over the tokens of a 3-d ``x``."""
    if x.ndim == 3 and gate.ndim == 2:
        gate = gate.unsqueeze(1)
    return gate * x
