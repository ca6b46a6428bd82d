"""Activation functions one element at a time, from their definitions.

``relu(x) = max(0, x)``; ``tanh``; ``abs_tanh(x) = |tanh(x)|``; ``sigmoid(x) = 1 / (1 +
e^-x)``; ``leaky_relu(x) = x`` for ``x >= 0`` else ``a x``; ``gelu(x) = x Phi(x)`` with the
normal CDF ``Phi(x) = (1 + erf(x / sqrt 2)) / 2`` (or its tanh approximation, Hendrycks and
Gimpel 2016).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["activation"]


def _scalar(name: str, x: float, negative_slope: float, approximate: str) -> float:
    if name == "relu":
        return max(0.0, x)
    if name == "tanh":
        return math.tanh(x)
    if name == "abs_tanh":
        return abs(math.tanh(x))
    if name == "sigmoid":
        return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
    if name == "leaky_relu":
        return x if x >= 0 else negative_slope * x
    if name == "gelu":
        if approximate == "tanh":
            return 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
        return x * 0.5 * (1 + math.erf(x / math.sqrt(2)))
    raise ValueError(f"unknown activation {name!r}")


def activation(x, name: str, negative_slope: float = 0.01, approximate: str = "none"):
    """Apply the activation ``name`` to every element of ``x``.

    Example:
        >>> activation(np.array([-2.0, 3.0]), "leaky_relu", negative_slope=0.5)
        array([-1.,  3.])
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    for index in np.ndindex(x.shape):
        out[index] = _scalar(name, float(x[index]), negative_slope, approximate)
    return out
