"""``device=`` and ``dtype=`` on every module constructor, as torch's own layers take them.

Subclasses of :class:`FactoryModule` (every noether module, and plugin modules built
on ``MultiHeadAttentionBase``) get the two keywords without writing them: the
constructor runs under ``torch.device(device)``, so parameters and buffers are
created there directly (``"meta"`` included, for deferred initialisation), and
floating-point ones are then cast to ``dtype``. As with torch's layers, weights are
drawn by the generator of the device they are made on: a seeded build on CUDA
draws other numbers than the same build on the CPU.
"""

import contextlib
import functools
from collections.abc import Callable
from typing import Any, TypeAlias

import torch
from torch import nn

from noether.modeling.contract import Contract

Device: TypeAlias = torch.device | str | int | None


class FactoryModule(Contract, nn.Module):
    """A module whose constructor (and every subclass's) takes ``device=`` and ``dtype=``, and
    that declares the module contract (:class:`~noether.modeling.contract.Contract`).

    Signatures may list the two keywords for readers and type checkers; the
    wrapper installed here consumes them before the constructor body runs.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "__noether_factory__", False):
            cls.__init__ = _with_factory_kwargs(init)  # type: ignore[method-assign]


def _with_factory_kwargs(init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def __init__(
        self: nn.Module, *args: Any, device: Device = None, dtype: torch.dtype | None = None, **kw: Any
    ) -> None:
        if device is None and dtype is None:
            init(self, *args, **kw)
            return
        if dtype is not None and not dtype.is_floating_point:
            raise ValueError(f"{type(self).__name__}: dtype must be a floating-point dtype, got {dtype}")
        with torch.device(device) if device is not None else contextlib.nullcontext():
            init(self, *args, **kw)
        if dtype is not None:
            self.to(dtype=dtype)

    __init__.__noether_factory__ = True  # type: ignore[attr-defined]
    return __init__
