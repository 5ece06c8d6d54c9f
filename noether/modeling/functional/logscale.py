"""Signed log scale for targets spanning orders of magnitude (pressure, wall shear stress)."""

import torch


def to_logscale(x: torch.Tensor) -> torch.Tensor:
    """``sign(x) * log(1 + |x|)``: keeps the sign and zero, compresses large magnitudes."""
    return torch.sign(x) * torch.log1p(x.abs())


def from_logscale(x: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`to_logscale`."""
    return torch.sign(x) * torch.expm1(x.abs())
