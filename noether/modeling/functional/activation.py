"""Activation modules by the names configs use."""

from enum import Enum

from torch import nn

from noether.core.types import ActivationName


class Activation(Enum):
    """The activations configs name (``ActivationName``), as in emmiai-noether 1.x."""

    GELU = nn.GELU
    TANH = nn.Tanh
    SIGMOID = nn.Sigmoid
    RELU = nn.ReLU
    LEAKY_RELU = nn.LeakyReLU
    SOFTPLUS = nn.Softplus
    ELU = nn.ELU
    SILU = nn.SiLU

    def build(self) -> nn.Module:
        """A new instance of the activation module."""
        module: nn.Module = self.value()
        return module


def activation(name: ActivationName) -> nn.Module:
    return Activation[name].build()
