"""Rotary position embedding (RoPE, Su et al. 2021) for arbitrary coordinates."""

import torch


def rope(x: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """Rotate consecutive feature pairs of ``x`` by the unit complex numbers ``freqs``.

    ``x``: (batch, heads, tokens, head_dim); ``freqs``: complex, (batch, tokens,
    head_dim // 2) or (tokens, head_dim // 2), as made by ``RopeFrequency``.
    """
    if not freqs.is_complex():
        raise ValueError(f"freqs must be a complex tensor from RopeFrequency, got dtype {freqs.dtype}")
    if freqs.shape[-1] * 2 != x.shape[-1]:
        raise ValueError(f"freqs cover {freqs.shape[-1] * 2} features per head, but heads have {x.shape[-1]}")
    if freqs.shape[-2] != x.shape[-2]:
        raise ValueError(f"freqs cover {freqs.shape[-2]} tokens, but the input has {x.shape[-2]}")
    if freqs.ndim == x.ndim - 1:
        freqs = freqs.unsqueeze(-3)  # broadcast over heads
    pairs = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
    return torch.view_as_real(pairs * freqs).flatten(-2).type_as(x)
