"""Activation modules by the names configs use."""

from torch import nn

from noether.core.types import ActivationName

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "GELU": nn.GELU,
    "TANH": nn.Tanh,
    "SIGMOID": nn.Sigmoid,
    "RELU": nn.ReLU,
    "LEAKY_RELU": nn.LeakyReLU,
    "SOFTPLUS": nn.Softplus,
    "ELU": nn.ELU,
    "SILU": nn.SiLU,
}


def activation(name: ActivationName) -> nn.Module:
    return _ACTIVATIONS[name]()
