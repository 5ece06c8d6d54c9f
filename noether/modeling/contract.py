"""The module contract: how every noether module meets its caller.

* The main tensors are positional: ``x``, or ``q, kv`` (the class's ``inputs``).
* Everything else is keyword-only, and a name means one thing everywhere: :data:`KEYWORDS`.
* What a module can do is declared on its class, not inspected: ``accepts`` (the keywords it
  takes), ``needs_kv`` (it attends from ``q`` to a second tensor) and ``can_prefill`` (it fills a
  KV cache without attending). Blocks, stacks, streaming, the CLI and plugins read the
  declaration through :func:`capabilities`.
* Bad input raises :class:`InputError` before any kernel runs, naming the argument, what was
  expected and what was given.
* emmiai-noether 1.x's call forms (extra positional arguments, ``attn_kwargs``, old keyword
  names) are adapted in one place, :mod:`noether.compat.calls`, from the class's
  ``legacy_positional`` and ``legacy_names``.
"""

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

if TYPE_CHECKING:
    import torch

KEYWORDS: Mapping[str, str] = {
    "attn_mask": "F.scaled_dot_product_attention's mask: bool (True = may attend) or float (added to the scores), "
    "broadcastable to (batch, heads, queries, keys)",
    "key_padding_mask": "bool (batch, keys), True for real tokens: padding that no query attends to",
    "token_specs": "the token groups of x in order: TokenSpec or {name: size}",
    "attention_patterns": "which token groups attend to which: AttentionPattern",
    "condition": "(batch, condition_dim) features that modulate a conditioned block (adaLN)",
    "freqs": "RoPE rotations of the tokens of x",
    "q_freqs": "RoPE rotations of the tokens of q",
    "k_freqs": "RoPE rotations of the tokens of kv",
    "kv_cache": "a KVCache: anchor keys/values to fill or to read",
}
"""Every keyword of the contract and its one meaning."""


class InputError(ValueError, AssertionError):
    """Bad input to a module. A ``ValueError``, and an ``AssertionError`` because emmiai-noether 1.x
    asserted its inputs: ``except AssertionError`` and 1.x's tests keep working."""


class Contract:
    """The declaration every noether module carries; a third-party module sets the same attributes."""

    inputs: ClassVar[tuple[str, ...]] = ("x",)
    accepts: frozenset[str] = frozenset()
    needs_kv: bool = False
    can_prefill: bool = False
    legacy_positional: ClassVar[tuple[str, ...]] = ()
    """1.x's positional arguments after ``inputs``, in order; passed so they are adapted (deprecated)."""
    legacy_names: ClassVar[Mapping[str, str]] = {}
    """1.x's keyword names and today's names they map to (deprecated)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        from noether.compat.calls import adapt_forward  # here: the compat layer imports this module

        adapt_forward(cls)


class Capabilities(NamedTuple):
    name: str
    inputs: tuple[str, ...]
    accepts: frozenset[str]
    needs_kv: bool
    can_prefill: bool


def capabilities(module: Any) -> Capabilities:
    """What ``module`` (an instance or a class) declares; an undeclared module takes its inputs only."""
    cls = module if isinstance(module, type) else type(module)
    return Capabilities(
        name=cls.__name__,
        inputs=tuple(getattr(module, "inputs", ("x",))),
        accepts=frozenset(getattr(module, "accepts", ())),
        needs_kv=bool(getattr(module, "needs_kv", False)),
        can_prefill=bool(getattr(module, "can_prefill", False)),
    )


Kind = Literal["float", "int", "bool"]


def check_tensor(
    owner: str,
    name: str,
    value: Any,
    dims: str,
    sizes: dict[str, int] | None = None,
    *,
    kind: Kind = "float",
    like: "torch.Tensor | None" = None,
) -> dict[str, int]:
    """Check an input at the boundary; return its sizes by dimension name.

    ``dims`` names the dimensions (``"batch points dims"``); a name with a size in ``sizes``
    must have that size, and the sizes this input has are added there, so the next input is
    held to them (batch agreement). ``kind``: float, int or bool elements; ``like``: a tensor
    (a weight) whose device the input must share and, for floats, whose dtype it must have
    unless autocast is on. Raises :class:`InputError` naming the input, what was expected and
    what was given.
    """
    import torch

    names = _dims(dims)
    sizes = {} if sizes is None else sizes
    if not isinstance(value, torch.Tensor):
        raise InputError(f"{owner}: {name} must be a tensor ({_expected(names, sizes)}), got {type(value).__name__}")
    shape = tuple(value.shape)
    if len(shape) != len(names) or any(sizes.get(n, s) != s for n, s in zip(names, shape, strict=True)):
        raise InputError(f"{owner}: {name} must have shape ({_expected(names, sizes)}), got {shape}")
    floating = value.is_floating_point()
    if floating != (kind == "float") or (kind == "bool") != (value.dtype == torch.bool) or value.is_complex():
        raise InputError(f"{owner}: {name} must hold {kind} values, got {value.dtype}")
    if like is not None:
        if value.device != like.device:
            raise InputError(f"{owner}: {name} is on {value.device}, the module on {like.device}; put it on "
                             f"{like.device}")  # fmt: skip
        if floating and value.dtype != like.dtype and not torch.is_autocast_enabled(value.device.type):
            raise InputError(f"{owner}: {name} is {value.dtype}, the module's weights {like.dtype}; convert one "
                             "of them, or run under torch.autocast")  # fmt: skip
    sizes.update(zip(names, shape, strict=True))
    return sizes


def check_index_range(owner: str, name: str, index: "torch.Tensor | None", bound: int) -> None:
    """Indices in ``[0, bound)``. They are data: checked by the eager call, never inside a compiled graph."""
    import torch

    if index is None or not index.numel() or torch.compiler.is_compiling():
        return
    low, high = int(index.min()), int(index.max())
    if low < 0 or high >= bound:
        raise InputError(f"{owner}: {name} must lie in [0, {bound}), got values from {low} to {high}")


@functools.cache
def _dims(dims: str) -> tuple[str, ...]:
    return tuple(dims.split())


def _expected(names: tuple[str, ...], sizes: dict[str, int]) -> str:
    return ", ".join(f"{n}={sizes[n]}" if n in sizes else n for n in names)
