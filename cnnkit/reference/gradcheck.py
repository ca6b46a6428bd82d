"""Numeric gradients by central differences, to prove the oracles' backward functions.

``d f / d x_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``: the error is
``O(eps^2)`` for smooth ``f``, so with float64 and ``eps = 1e-6`` it agrees with an
exact gradient to about 1e-8 away from kinks (max, abs, relu).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._validation import ArgumentError

__all__ = ["max_abs_error", "numeric_gradient", "numeric_vjp"]


def numeric_gradient(fn: Callable[[np.ndarray], float], x, eps: float = 1e-6) -> np.ndarray:
    """Gradient of the scalar function ``fn`` at ``x`` by central differences.

    Args:
        fn: maps an array shaped like ``x`` to a scalar.
        x: the point (copied; ``fn`` sees a float64 array it must not keep).
        eps: step; positive.

    Shape:
        -> ``x.shape``.

    Raises:
        ArgumentError: ``eps`` is not positive.

    Example:
        >>> g = numeric_gradient(lambda v: (v ** 3).sum(), np.array([1.0, 2.0]))
        >>> np.allclose(g, [3.0, 12.0])
        True
    """
    if not eps > 0:
        raise ArgumentError(f"eps must be positive. Received: eps={eps!r}.")
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        old = x[i]
        x[i] = old + eps
        up = float(fn(x))
        x[i] = old - eps
        down = float(fn(x))
        x[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


def numeric_vjp(fn: Callable[[np.ndarray], np.ndarray], x, upstream, eps: float = 1e-6) -> np.ndarray:
    """Vector-Jacobian product ``upstream . d fn / d x`` by central differences.

    The gradient of the loss ``J = sum(upstream * fn(x))``; this is what a backward
    function given ``upstream`` as the output gradient must return.

    Example:
        >>> numeric_vjp(lambda v: v ** 2, np.array([1.0, 3.0]), np.array([1.0, 0.5])).round(6)
        array([2., 3.])
    """
    upstream = np.asarray(upstream, dtype=np.float64)
    return numeric_gradient(lambda v: float((upstream * fn(v)).sum()), x, eps)


def max_abs_error(a, b) -> float:
    """Largest absolute difference between two arrays of the same shape.

    Example:
        >>> max_abs_error([1.0, 2.0], [1.0, 2.5])
        0.5
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ArgumentError(f"arrays must have the same shape. Received: {a.shape} and {b.shape}.")
    return float(np.abs(a - b).max()) if a.size else 0.0
