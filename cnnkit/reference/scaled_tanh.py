"""The scaled tanh one element at a time: ``f(a) = 1.7159 tanh(2 a / 3)`` (LeCun et al. 1998)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["scaled_tanh"]


def scaled_tanh(x):
    """``1.7159 * tanh(2 x / 3)`` of every element of ``x``.

    Example:
        >>> scaled_tanh(np.array([1.0, -1.0])).round(4)
        array([ 1., -1.])
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    for index in np.ndindex(x.shape):
        out[index] = 1.7159 * math.tanh(2.0 * float(x[index]) / 3.0)
    return out
