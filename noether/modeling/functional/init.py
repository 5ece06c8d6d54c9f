"""Weight initialisation by ``init_weights`` mode, shared by every module."""

import typing
from collections.abc import Iterable

import torch
from torch import nn

from noether.core.types import InitWeightsMode

SUPPORTED_INIT_MODES: tuple[str, ...] = typing.get_args(InitWeightsMode)


def check_init_mode(owner: str, mode: str, supported: Iterable[str] = SUPPORTED_INIT_MODES) -> None:
    supported = tuple(supported)
    if mode not in supported:
        raise ValueError(f"{owner} does not support init_weights={mode!r}; supported: {', '.join(supported)}")


def base_mode(mode: str) -> str:
    """The mode for layers other than a residual branch's output projection."""
    return "truncnormal002" if mode == "truncnormal002-identity" else mode


def init_linears(owner: str, mode: str, linears: Iterable[nn.Module], output: nn.Module | None = None) -> None:
    """Initialise ``linears`` (and the output projection ``output``) by ``mode``.

    "torch" keeps PyTorch's defaults; "truncnormal"/"truncnormal002" draw weights
    from a normal with std 0.02 truncated at two std and zero the biases;
    "truncnormal002-identity" does the same and zeroes ``output``, so a residual
    branch starts as the identity; "zeros" zeroes everything.
    """
    check_init_mode(owner, mode)
    if mode == "torch":
        return
    modules = [*linears, *([] if output is None else [output])]
    with torch.no_grad():
        for module in modules:
            weight, bias = getattr(module, "weight", None), getattr(module, "bias", None)
            if mode == "zeros" or (mode == "truncnormal002-identity" and module is output):
                if weight is not None:
                    weight.zero_()
            elif weight is not None:
                nn.init.trunc_normal_(weight, std=0.02, a=-0.04, b=0.04)
            if bias is not None:
                bias.zero_()
