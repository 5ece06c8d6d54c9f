"""Small shared types, free of heavy imports."""

from typing import Literal

InitWeightsMode = Literal[
    "truncnormal002",
    "torch",
    "truncnormal",
    "truncnormal002-identity",
    "torchs",
    "zeros",
]
"""How a module initialises its weights; each module documents the subset it supports."""

ActivationName = Literal["GELU", "TANH", "SIGMOID", "RELU", "LEAKY_RELU", "SOFTPLUS", "ELU", "SILU"]
"""Activations an MLP config may name."""
