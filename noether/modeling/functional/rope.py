"""Rotary position embedding (RoPE, Su et al. 2021) for arbitrary coordinates."""

from typing import Any

import torch

from noether.modeling.contract import InputError

Freqs = torch.Tensor | tuple[torch.Tensor, ...]
"""RoPE rotations: cosines then sines of each feature pair's angle, (..., tokens, head_dim), real (what
``RopeFrequency.rotations`` gives for "complex"); unit complex numbers (..., tokens, head_dim // 2), as 1.x
and ``RopeFrequency.forward`` give them; or ("real", 1.x's default) one angle tensor per axis."""


def wave_frequencies(hidden_dim: int, input_dim: int, max_wavelength: float) -> tuple[torch.Tensor, int]:
    """Angular frequencies per axis and the features left over, shared by sin-cos embeddings and RoPE.

    Each of the ``input_dim`` axes gets ``hidden_dim // (2 * input_dim)`` frequencies,
    spaced geometrically up to ``max_wavelength``; the remaining features are padding.
    Computed in float32 exactly as emmiai-noether 1.x did, so its buffers load unchanged.
    """
    per_axis = hidden_dim // (2 * input_dim)
    if per_axis < 1:  # an InputError: 1.x asserted it
        raise InputError(
            f"hidden_dim must be at least 2 * input_dim, got hidden_dim={hidden_dim}, input_dim={input_dim}"
        )
    steps = torch.arange(0, 2 * per_axis, 2, dtype=torch.float32) / (2 * per_axis)
    return 1.0 / max_wavelength**steps, hidden_dim - 2 * per_axis * input_dim


def token_slice(freqs: Freqs, start: int, stop: int) -> Freqs:
    """The frequencies of tokens ``start:stop`` (the token axis is the second to last)."""
    if isinstance(freqs, tuple):
        return tuple(f[..., start:stop, :] for f in freqs)
    return freqs[..., start:stop, :]


def check_rotations(owner: str, name: str, freqs: Any, tokens: torch.Tensor, head_dim: int) -> None:
    """``freqs`` fit the tokens of ``tokens`` (batch, tokens, ...) and heads of ``head_dim`` features: checked at
    the boundary, before any projection. Any float dtype is taken (rotations are applied in float32)."""
    parts = freqs if isinstance(freqs, tuple) else (freqs,)
    if not parts or not all(isinstance(part, torch.Tensor) for part in parts):
        raise InputError(f"{owner}: {name} must be rotations from RopeFrequency (a tensor), got {type(freqs).__name__}")
    batch, count = tokens.shape[0], tokens.shape[1]
    for part in parts:
        shape = tuple(part.shape)
        if part.device != tokens.device:
            raise InputError(f"{owner}: {name} is on {part.device}, the inputs on {tokens.device}; put it on "
                             f"{tokens.device}")  # fmt: skip
        if not (part.is_floating_point() or (part.is_complex() and len(parts) == 1)):
            raise InputError(f"{owner}: {name} must hold float (or 1.x's complex) rotations, got {part.dtype}")
        width = head_dim // 2 if part.is_complex() else head_dim
        if len(parts) == 1 and (len(shape) != 3 or shape[0] not in (1, batch) or shape[1:] != (count, width)):
            raise InputError(f"{owner}: {name} must have shape (batch={batch} or 1, tokens={count}, {width}), "
                             f"got {shape}")  # fmt: skip
        if len(parts) > 1 and (len(shape) != 3 or shape[0] not in (1, batch) or shape[1] != count):
            raise InputError(f"{owner}: {name} must have shape (batch={batch} or 1, tokens={count}, ...) per axis, "
                             f"got {shape}")  # fmt: skip


def rope(x: torch.Tensor, freqs: Freqs) -> torch.Tensor:
    """Rotate the features of ``x`` (batch, heads, tokens, head_dim) by ``freqs`` (see ``Freqs``).

    Consecutive feature pairs turn by their angle, with real arithmetic only (the products of a complex
    multiplication, written out), so a compiler fuses it; complex ``freqs`` are read as their cosines and
    sines. A tuple (the "real" implementation of 1.x) holds one angle tensor per axis, (batch, tokens,
    2 * n); each rotates the next ``2 * n`` features by halves, and features beyond them pass unchanged.
    """
    if x.ndim != 4:
        raise InputError(f"rope: x must be (batch, heads, tokens, head_dim), got {tuple(x.shape)}")
    if isinstance(freqs, tuple):
        return _rope_real(x, freqs)
    if freqs.is_complex():
        cos, sin = torch.view_as_real(freqs).unbind(-1)
    elif freqs.is_floating_point():
        cos, sin = freqs.chunk(2, dim=-1)
    else:
        raise InputError(f"freqs must be rotations from RopeFrequency (float or complex), got dtype {freqs.dtype}")
    if cos.shape[-1] * 2 != x.shape[-1]:
        raise InputError(f"freqs cover {cos.shape[-1] * 2} features per head, but heads have {x.shape[-1]}")
    if cos.shape[-2] != x.shape[-2]:
        raise InputError(f"freqs cover {cos.shape[-2]} tokens, but the input has {x.shape[-2]}")
    if cos.ndim == x.ndim - 1:  # broadcast over heads
        cos, sin = cos.unsqueeze(-3), sin.unsqueeze(-3)
    first, second = x.float().reshape(*x.shape[:-1], x.shape[-1] // 2, 2).unbind(-1)  # no -1: empty inputs
    turned = torch.stack([first * cos - second * sin, first * sin + second * cos], dim=-1)
    return turned.flatten(-2).type_as(x)


def _rope_real(x: torch.Tensor, freqs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    width = freqs[0].shape[-1]
    if width * len(freqs) > x.shape[-1]:
        raise InputError(f"freqs cover {width * len(freqs)} features per head, but heads have {x.shape[-1]}")
    rotated = []
    for i, angles in enumerate(freqs):
        part = x[..., i * width : (i + 1) * width]
        angles = angles.unsqueeze(-3)  # broadcast over heads
        first, second = part.chunk(2, dim=-1)
        rotated.append(part * angles.cos() + torch.cat([-second, first], dim=-1) * angles.sin())
    return torch.cat([*rotated, x[..., len(freqs) * width :]], dim=-1)
