"""Small shared types, free of heavy imports."""

from typing import Literal

InitWeightsMode = Literal["truncnormal002", "torch", "truncnormal", "truncnormal002-identity", "zeros"]
"""How a module initialises its weights; every module supports every mode.

emmiai-noether 1.x also listed "torchs", which no module implemented; it is not offered here.
"""

ActivationName = Literal["GELU", "TANH", "SIGMOID", "RELU", "LEAKY_RELU", "SOFTPLUS", "ELU", "SILU"]
"""Activations an MLP config may name."""
