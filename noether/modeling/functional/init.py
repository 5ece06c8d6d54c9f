"""Weight initialisation by ``init_weights`` mode, shared by every module.

The draws match emmiai-noether 1.x call for call (same layers, same order, same
``trunc_normal_`` bounds), so a seeded model starts from the same weights.
"""

import typing
from collections.abc import Iterable

import torch
from torch import nn

from noether.core.types import InitWeightsMode

SUPPORTED_INIT_MODES: tuple[str, ...] = typing.get_args(InitWeightsMode)

ALL_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
ALL_LAYERS = (nn.Linear, *ALL_CONVS)
"""Layers the initialisers touch; anything else (norms, activations) keeps its own init."""


def check_init_mode(owner: str, mode: str, supported: Iterable[str] = SUPPORTED_INIT_MODES) -> None:
    supported = tuple(supported)
    if mode not in supported:
        raise ValueError(f"{owner} does not support init_weights={mode!r}; supported: {', '.join(supported)}")


def base_mode(mode: str) -> str:
    """The mode for layers other than a residual branch's output projection."""
    return "truncnormal002" if mode == "truncnormal002-identity" else mode


def init_bias_to_zero(layer_module: nn.Module) -> None:
    """Zero the bias of a linear or convolution layer (other modules are left alone)."""
    if isinstance(layer_module, ALL_LAYERS) and layer_module.bias is not None:
        nn.init.zeros_(layer_module.bias)


def init_trunc_normal_zero_bias(layer_module: nn.Module, std: float = 0.02) -> None:
    """Truncated-normal weights (``std``; torch's default bounds of +-2) and a zero bias.

    The bounds are absolute, as in 1.x: with std 0.02 they truncate nothing in
    practice, and keeping them keeps seeded weights identical to 1.x.
    """
    if isinstance(layer_module, ALL_LAYERS):
        nn.init.trunc_normal_(layer_module.weight, std=std)
        init_bias_to_zero(layer_module)


def apply_init_method(module: nn.Module, proj_weight: torch.Tensor, init_method: str) -> None:
    """Initialise every linear/conv layer inside ``module``; "-identity" then zeroes ``proj_weight``."""
    init_linears(type(module).__name__, init_method, module.modules(), output_weight=proj_weight)


def init_linears(
    owner: str,
    mode: str,
    linears: Iterable[nn.Module],
    output: nn.Module | None = None,
    *,
    output_weight: torch.Tensor | None = None,
) -> None:
    """Initialise ``linears`` then ``output`` (in that order: the random draws follow it) by ``mode``.

    "torch" keeps PyTorch's defaults; "truncnormal"/"truncnormal002" draw weights
    from a normal with std 0.02 and zero the biases; "truncnormal002-identity"
    does the same, then zeroes the weight of ``output`` (or ``output_weight``), so a
    residual branch starts as the identity; "zeros" zeroes everything.
    """
    check_init_mode(owner, mode)
    if mode == "torch":
        return
    modules = [*linears, *([] if output is None else [output])]
    with torch.no_grad():
        for module in modules:
            if mode == "zeros" and isinstance(module, ALL_LAYERS):
                for parameter in module.parameters(recurse=False):
                    parameter.zero_()
            elif mode != "zeros":
                init_trunc_normal_zero_bias(module)
        if mode == "truncnormal002-identity":
            weight = output_weight if output is None else getattr(output, "weight", None)
            if weight is not None:
                weight.zero_()
