"""Pooling across channels and maxout by loops (Goodfellow et al. 2016, fig. 9.9;
Goodfellow et al. 2013).

Output channel ``j`` reduces input channels ``j k .. j k + k - 1`` at every position:
``max`` (the first maximum receives the gradient), ``avg``, or the Lp norm
``(sum |x|^p)^(1/p)`` with gradient ``sign(x) |x|^(p-1) / norm^(p-1)`` (0 for a zero norm).
"""

from __future__ import annotations

import numpy as np

__all__ = ["channel_pool", "channel_pool_backward"]


def _reduce(values, mode, p):
    if mode == "max":
        return max(values)
    if mode == "avg":
        return sum(values) / len(values)
    total = sum(abs(v) ** p for v in values)
    return total ** (1.0 / p) if total > 0 else 0.0


def channel_pool(x, k, mode="max", p=2.0):
    """Reduce each group of ``k`` consecutive channels.

    Example:
        >>> channel_pool(np.array([[1.0, 5.0, 2.0, 0.0]]), 2)
        array([[5., 2.]])
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros((x.shape[0], x.shape[1] // k) + x.shape[2:])
    for n in range(x.shape[0]):
        for j in range(out.shape[1]):
            for s in np.ndindex(*x.shape[2:]):
                values = [x[(n, j * k + t) + s] for t in range(k)]
                out[(n, j) + s] = _reduce(values, mode, p)
    return out


def channel_pool_backward(x, G, k, mode="max", p=2.0):
    """Input gradient of :func:`channel_pool` for the output gradient ``G``."""
    x, G = np.asarray(x, dtype=np.float64), np.asarray(G, dtype=np.float64)
    dx = np.zeros_like(x)
    for n in range(x.shape[0]):
        for j in range(G.shape[1]):
            for s in np.ndindex(*x.shape[2:]):
                values = [x[(n, j * k + t) + s] for t in range(k)]
                g = G[(n, j) + s]
                if mode == "max":
                    dx[(n, j * k + int(np.argmax(values))) + s] += g
                elif mode == "avg":
                    for t in range(k):
                        dx[(n, j * k + t) + s] += g / k
                else:
                    norm = _reduce(values, mode, p)
                    if norm > 0:
                        for t, v in enumerate(values):
                            dx[(n, j * k + t) + s] += g * np.sign(v) * abs(v) ** (p - 1) / norm ** (p - 1)
    return dx
