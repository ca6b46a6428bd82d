"""Activation functions: the detector stage of Goodfellow et al. 2016 (section 9.3), and the ReLU,
tanh, |tanh| and sigmoid of the Wikipedia article "Convolutional neural network".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validation import one_of

__all__ = ["ACTIVATIONS", "abs_tanh", "activation", "gelu", "leaky_relu", "relu", "sigmoid", "tanh"]


def relu(x: torch.Tensor) -> torch.Tensor:
    """``max(0, x)``."""
    return F.relu(x)


def tanh(x: torch.Tensor) -> torch.Tensor:
    """Hyperbolic tangent."""
    return torch.tanh(x)


def abs_tanh(x: torch.Tensor) -> torch.Tensor:
    """``|tanh(x)|`` (rectified tanh, listed by Wikipedia, "Convolutional neural network")."""
    return torch.tanh(x).abs()


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Logistic sigmoid ``1 / (1 + exp(-x))``."""
    return torch.sigmoid(x)


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise."""
    return F.leaky_relu(x, negative_slope)


def gelu(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    """Gaussian error linear unit ``x * Phi(x)`` (``approximate="tanh"`` for the tanh form)."""
    return F.gelu(x, approximate=approximate)


ACTIVATIONS = {
    "relu": relu,
    "tanh": tanh,
    "abs_tanh": abs_tanh,
    "sigmoid": sigmoid,
    "leaky_relu": leaky_relu,
    "gelu": gelu,
}


def activation(name: str):
    """Look up an activation function by name.

    Example:
        >>> activation("relu")(torch.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    return ACTIVATIONS[one_of(name, tuple(ACTIVATIONS), "activation")]
