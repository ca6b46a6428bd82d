"""Activation layers: the detector stage of the three-stage convolutional layer
(Goodfellow et al. 2016, section 9.3)."""

from __future__ import annotations

import torch

from ..functional.activation import ACTIVATIONS, gelu, leaky_relu
from ._base import Layer
from .kinds import Choice, Number

__all__ = ["AbsTanh", "Activation", "GELU", "LeakyReLU", "ReLU", "Sigmoid", "Tanh"]


class Activation(Layer):
    """An element-wise nonlinearity chosen by name (``relu``, ``tanh``, ``abs_tanh``,
    ``sigmoid``, ``leaky_relu``, ``gelu``); the subclasses fix the name.

    Shape:
        any shape -> the same shape.

    Example:
        >>> Activation("abs_tanh")(torch.tensor([-2.0, 0.0])).abs().gt(0.9).tolist()
        [True, False]
    """

    kinds = {"name": Choice(tuple(ACTIVATIONS))}

    def __init__(self, name: str):
        Layer.__init__(self, locals())

    def create(self) -> None:
        self._fn = ACTIVATIONS[self.name]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fn(x)


class Fixed(Activation):
    """An activation whose class fixes the function: no settings."""

    def __init__(self):
        Layer.__init__(self, locals())


class ReLU(Fixed):
    """``max(0, x)`` (Nair and Hinton 2010). Shape: any -> same.

    Example:
        >>> ReLU()(torch.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    name = "relu"


class Tanh(Fixed):
    """Hyperbolic tangent. Shape: any -> same."""

    name = "tanh"


class AbsTanh(Fixed):
    """``|tanh(x)|``. Shape: any -> same."""

    name = "abs_tanh"


class Sigmoid(Fixed):
    """Logistic sigmoid. Shape: any -> same."""

    name = "sigmoid"


class LeakyReLU(Activation):
    """``x`` if ``x >= 0`` else ``negative_slope * x``. Shape: any -> same."""

    name = "leaky_relu"
    kinds = {"negative_slope": Number()}

    def __init__(self, negative_slope: float = 0.01):
        Layer.__init__(self, locals())

    def forward(self, x):
        return leaky_relu(x, self.negative_slope)


class GELU(Activation):
    """Gaussian error linear unit. Shape: any -> same."""

    name = "gelu"
    kinds = {"approximate": Choice(("none", "tanh"))}

    def __init__(self, approximate: str = "none"):
        Layer.__init__(self, locals())

    def forward(self, x):
        return gelu(x, self.approximate)
