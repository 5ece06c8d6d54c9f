"""emmiai-noether 1.x's call forms of modules, mapped onto the module contract.

1.x passed options positionally (``block(x, condition, attn_kwargs)``,
``attention(x, attn_mask, freqs)``), bundled them in an ``attn_kwargs`` dict, and used
other names for some (``MixedAttention``'s ``attention_mask``, Transolver's padding
``attn_mask``). :func:`adapt_forward` wraps a class's ``forward`` so those forms become
today's keywords, each with a ``DeprecationWarning``; today's form passes straight through.
"""

import functools
import warnings
from collections.abc import Mapping
from typing import Any

import torch

from noether.modeling.contract import InputError, capabilities

BUNDLE = "attn_kwargs"
"""1.x's dict of keywords for the attention inside a block or decoder."""


def adapt_forward(cls: type) -> None:
    """Wrap ``cls.forward`` (its own, once) to take the 1.x forms ``cls`` declares."""
    forward = cls.__dict__.get("forward")
    positional: tuple[str, ...] = getattr(cls, "legacy_positional", ())
    names: Mapping[str, str] = getattr(cls, "legacy_names", {})
    if forward is None or getattr(forward, "__noether_adapted__", False) or not (positional or names):
        return
    main = len(getattr(cls, "inputs", ("x",)))
    legacy_keys = frozenset({*names, BUNDLE})

    @functools.wraps(forward)
    def adapted(self: Any, *args: Any, **kwargs: Any) -> Any:
        if len(args) > main or not legacy_keys.isdisjoint(kwargs):
            args, kwargs = today(self, args, kwargs)
        return forward(self, *args, **kwargs)

    adapted.__noether_adapted__ = True  # type: ignore[attr-defined]
    cls.forward = adapted  # type: ignore[attr-defined]


def today(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``args``/``kwargs`` of a 1.x call of ``module`` as today's: main tensors positional, the rest keywords."""
    cls = module if isinstance(module, type) else type(module)
    owner, inputs = cls.__name__, getattr(cls, "inputs", ("x",))
    positional: tuple[str, ...] = getattr(cls, "legacy_positional", ())
    extra, kwargs = args[len(inputs) :], dict(kwargs)
    if len(extra) > len(positional):
        raise InputError(
            f"{owner} takes {len(inputs)} positional input(s) ({', '.join(inputs)}) and 1.x's "
            f"{', '.join(positional) or 'nothing'} after them; got {len(args)} positional arguments"
        )
    for name, value in zip(positional, extra, strict=False):
        if value is None:  # 1.x's "not given"
            continue
        if kwargs.get(name) is not None:
            raise InputError(f"{owner}: {name} given twice (positionally and by keyword)")
        kwargs[name] = value
    if extra:
        _deprecated(f"{owner}: {', '.join(positional[: len(extra)])} passed positionally (emmiai-noether 1.x's form)"
                    "; pass them by keyword")  # fmt: skip
    bundle = kwargs.pop(BUNDLE, None)
    if bundle:
        _deprecated(f"{owner}: {BUNDLE} is emmiai-noether 1.x's form; pass its entries as keywords")
        accepts = capabilities(module).accepts
        unknown = sorted(k for k, v in bundle.items() if v is not None and k not in accepts)
        if unknown:
            raise InputError(f"{owner}: {BUNDLE} holds {', '.join(unknown)}, which it does not take; it takes "
                             f"{', '.join(sorted(accepts)) or 'no keywords'}")  # fmt: skip
        twice = sorted(k for k, v in bundle.items() if v is not None and kwargs.get(k) is not None)
        if twice:
            raise InputError(f"{owner}: {', '.join(twice)} given both as a keyword and in {BUNDLE}")
        kwargs.update({k: v for k, v in bundle.items() if v is not None})
    for old, new in getattr(cls, "legacy_names", {}).items():
        value = kwargs.pop(old, None)
        if value is None:
            continue
        if kwargs.get(new) is not None:
            raise InputError(f"{owner}: {old} (emmiai-noether 1.x's name of {new}) and {new} both given")
        _deprecated(f"{owner}: {old} is emmiai-noether 1.x's name of {new} here; pass {new}")
        kwargs[new] = value
    return args[: len(inputs)], kwargs


def _deprecated(message: str) -> None:
    if torch.compiler.is_compiling():  # said by the eager call; a compiled graph cannot warn
        return
    # Attributed to the caller of module(...): past today(), the wrapper and nn.Module's two call frames.
    warnings.warn(message, DeprecationWarning, stacklevel=6)


def renamed(cls: type, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with 1.x's names of ``cls`` mapped to today's (for methods other than ``forward``)."""
    return today(cls, (), kwargs)[1]
