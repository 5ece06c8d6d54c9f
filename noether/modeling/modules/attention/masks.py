"""The one mask contract of every attention module, and its one validator.

* ``attn_mask`` has the semantics of ``F.scaled_dot_product_attention``: bool
  (True = may attend) or float (added to the scores), broadcastable to
  (batch, heads, queries, keys).
* ``key_padding_mask`` is bool (batch, keys), True for real tokens: the padding
  of a batch of point clouds of different sizes, which no query may attend to.

Modules without a query-key score matrix (Transolver, Transolver++, linear
attention) take ``key_padding_mask`` only; emmiai-noether 1.x passed that as a
(batch, tokens) ``attn_mask``, which :func:`legacy_padding` still accepts with a
``DeprecationWarning``.
"""

import warnings

import torch


def check_key_padding_mask(owner: str, mask: torch.Tensor | None, batch: int, keys: int) -> None:
    if mask is not None and (mask.dtype != torch.bool or mask.ndim != 2 or mask.shape != (batch, keys)):
        raise ValueError(
            f"{owner}: key_padding_mask must be a bool tensor of shape (batch, keys) = {(batch, keys)}, "
            f"True for real tokens; got {mask.dtype} {tuple(mask.shape)}"
        )


def check_attn_mask(owner: str, mask: torch.Tensor | None, batch: int, heads: int, queries: int, keys: int) -> None:
    if mask is None:
        return
    if mask.dtype != torch.bool and not mask.is_floating_point():
        raise ValueError(
            f"{owner}: attn_mask must be a bool (True = attend) or float (additive) tensor, got {mask.dtype}"
        )
    full = (batch, heads, queries, keys)
    if mask.ndim > 4 or any(m != 1 and m != f for m, f in zip(reversed(mask.shape), reversed(full), strict=False)):
        raise ValueError(
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
) -> torch.Tensor | None:
    """Both masks checked and merged into the one ``scaled_dot_product_attention`` takes."""
    check_attn_mask(owner, attn_mask, batch, heads, queries, keys)
    check_key_padding_mask(owner, key_padding_mask, batch, keys)
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


def legacy_padding(
    owner: str, attn_mask: torch.Tensor | None, key_padding_mask: torch.Tensor | None, batch: int, keys: int
) -> torch.Tensor | None:
    """The key padding of a module without query-key scores; 1.x's (batch, tokens) ``attn_mask`` still works."""
    if attn_mask is not None:
        if key_padding_mask is not None or attn_mask.dtype != torch.bool or attn_mask.shape != (batch, keys):
            raise ValueError(
                f"{owner} has no query-key scores for an attn_mask to act on; pass key_padding_mask, "
                f"bool (batch, tokens) = {(batch, keys)}, True for real tokens (got attn_mask {attn_mask.dtype} "
                f"{tuple(attn_mask.shape)})"
            )
        warnings.warn(
            f"{owner}: a (batch, tokens) attn_mask is emmiai-noether 1.x's form of key_padding_mask; "
            "pass it as key_padding_mask",
            DeprecationWarning,
            stacklevel=3,
        )
        key_padding_mask = attn_mask
    check_key_padding_mask(owner, key_padding_mask, batch, keys)
    return key_padding_mask
