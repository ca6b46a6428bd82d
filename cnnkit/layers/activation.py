"""Activation layers: the detector stage of the three-stage layer of Goodfellow et al. 2016."""

from __future__ import annotations

import torch

from .._validation import ArgumentError, one_of
from ..functional.activation import ACTIVATIONS, gelu, leaky_relu
from ._base import Layer

__all__ = ["AbsTanh", "Activation", "GELU", "LeakyReLU", "ReLU", "Sigmoid", "Tanh"]


class Activation(Layer):
    """An element-wise nonlinearity chosen by name (``relu``, ``tanh``, ``abs_tanh``,
    ``sigmoid``, ``leaky_relu``, ``gelu``).

    Shape:
        any shape -> the same shape.

    Example:
        >>> Activation("abs_tanh")(torch.tensor([-2.0, 0.0])).abs().gt(0.9).tolist()
        [True, False]
    """

    _always_shown = ("name",)
    _defaults: dict = {}

    def __init__(self, name: str):
        super().__init__()
        self.name = one_of(name, tuple(ACTIVATIONS), "activation")
        self._fn = ACTIVATIONS[self.name]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fn(x)


class ReLU(Activation):
    """``max(0, x)``. Shape: any -> same."""

    _always_shown = ()

    def __init__(self):
        super().__init__("relu")


class Tanh(Activation):
    """Hyperbolic tangent. Shape: any -> same."""

    _always_shown = ()

    def __init__(self):
        super().__init__("tanh")


class AbsTanh(Activation):
    """``|tanh(x)|``. Shape: any -> same."""

    _always_shown = ()

    def __init__(self):
        super().__init__("abs_tanh")


class Sigmoid(Activation):
    """Logistic sigmoid. Shape: any -> same."""

    _always_shown = ()

    def __init__(self):
        super().__init__("sigmoid")


class LeakyReLU(Activation):
    """``x`` if ``x >= 0`` else ``negative_slope * x``. Shape: any -> same."""

    _always_shown = ()
    _defaults = {"negative_slope": 0.01}

    def __init__(self, negative_slope: float = 0.01):
        super().__init__("leaky_relu")
        if not isinstance(negative_slope, (int, float)) or isinstance(negative_slope, bool):
            raise ArgumentError(f"negative_slope must be a number. Received: negative_slope={negative_slope!r}.")
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return leaky_relu(x, self.negative_slope)


class GELU(Activation):
    """Gaussian error linear unit. Shape: any -> same."""

    _always_shown = ()
    _defaults = {"approximate": "none"}

    def __init__(self, approximate: str = "none"):
        super().__init__("gelu")
        self.approximate = one_of(approximate, ("none", "tanh"), "approximate")

    def forward(self, x):
        return gelu(x, self.approximate)
