"""The one mask contract of every attention module, and its one validator.

* ``attn_mask`` has the semantics of ``F.scaled_dot_product_attention``: bool
  (True = may attend) or float (added to the scores), broadcastable to
  (batch, heads, queries, keys).
* ``key_padding_mask`` is bool (batch, keys), True for real tokens: the padding
  of a batch of point clouds of different sizes, which no query may attend to.

Modules without a query-key score matrix (Transolver, Transolver++, linear
attention) take ``key_padding_mask`` only; emmiai-noether 1.x passed that as a
(batch, tokens) ``attn_mask``, which :mod:`noether.compat.calls` maps onto it.
A mask lives on the device of the inputs it masks.
"""

import torch

from noether.modeling.contract import InputError


def check_device(owner: str, name: str, tensor: torch.Tensor | None, device: torch.device | None) -> None:
    """A mask is a tensor on the inputs' device."""
    if tensor is not None and not isinstance(tensor, torch.Tensor):
        raise InputError(f"{owner}: {name} must be a tensor, got {type(tensor).__name__}")
    if tensor is not None and device is not None and tensor.device != device:
        raise InputError(f"{owner}: {name} is on {tensor.device}, the inputs on {device}; put it on {device}")


def check_key_padding_mask(
    owner: str, mask: torch.Tensor | None, batch: int, keys: int, device: torch.device | None = None
) -> None:
    check_device(owner, "key_padding_mask", mask, device)
    if mask is not None and (mask.dtype != torch.bool or mask.ndim != 2 or mask.shape != (batch, keys)):
        raise InputError(
            f"{owner}: key_padding_mask must be a bool tensor of shape (batch, keys) = {(batch, keys)}, "
            f"True for real tokens; got {mask.dtype} {tuple(mask.shape)}"
        )


def check_attn_mask(
    owner: str,
    mask: torch.Tensor | None,
    batch: int,
    heads: int,
    queries: int,
    keys: int,
    device: torch.device | None = None,
) -> None:
    if mask is None:
        return
    check_device(owner, "attn_mask", mask, device)
    if mask.dtype != torch.bool and not mask.is_floating_point():
        raise InputError(
            f"{owner}: attn_mask must be a bool (True = attend) or float (additive) tensor, got {mask.dtype}"
        )
    full = (batch, heads, queries, keys)
    if mask.ndim > 4 or any(m != 1 and m != f for m, f in zip(reversed(mask.shape), reversed(full), strict=False)):
        raise InputError(
            f"{owner}: attn_mask must broadcast to (batch, heads, queries, keys) = {full}, got {tuple(mask.shape)}; "
            "for padding of whole tokens pass key_padding_mask (batch, keys)"
        )


def sdpa_mask(
    owner: str,
    attn_mask: torch.Tensor | None,
    key_padding_mask: torch.Tensor | None,
    batch: int,
    heads: int,
    queries: int,
    keys: int,
    device: torch.device | None = None,
) -> torch.Tensor | None:
    """Both masks checked (against the inputs' ``device`` too) and merged into the one SDPA takes."""
    check_attn_mask(owner, attn_mask, batch, heads, queries, keys, device)
    check_key_padding_mask(owner, key_padding_mask, batch, keys, device)
    if key_padding_mask is None:
        return attn_mask
    return merge(attn_mask, key_padding_mask[:, None, None, :])


def merge(attn_mask: torch.Tensor | None, valid: torch.Tensor) -> torch.Tensor:
    """``attn_mask`` (bool or additive) restricted to the keys ``valid`` (bool, broadcastable to it)."""
    if attn_mask is None:
        return valid
    if attn_mask.dtype == torch.bool:
        return attn_mask & valid
    return attn_mask.masked_fill(~valid, float("-inf"))
