"""Fully connected layer, flatten and dropout, from their definitions.

``y_j = sum_i W_ji x_i + b_j`` for every sample; flatten lists a volume's values in
channel, then row-major spatial order; inverted dropout keeps ``x / (1 - p)`` where the
mask is 1 (Srivastava et al. 2014).
"""

from __future__ import annotations

import numpy as np

__all__ = ["dense", "dropout", "flatten"]


def dense(x, weight, bias=None):
    """``(N, F_in)`` through ``weight (F_out, F_in)`` and ``bias (F_out,)``.

    Example:
        >>> dense(np.array([[1.0, 2.0]]), np.array([[1.0, 1.0], [0.0, 3.0]]), np.array([0.0, 1.0]))
        array([[3., 7.]])
    """
    x, weight = np.asarray(x, np.float64), np.asarray(weight, np.float64)
    out = np.zeros((x.shape[0], weight.shape[0]))
    for n in range(x.shape[0]):
        for j in range(weight.shape[0]):
            total = 0.0 if bias is None else float(bias[j])
            for i in range(weight.shape[1]):
                total += weight[j, i] * x[n, i]
            out[n, j] = total
    return out


def flatten(x):
    """``(N, C, *S)`` -> ``(N, C * prod(S))``, channel first, then row-major positions.

    Example:
        >>> flatten(np.arange(8.0).reshape(1, 2, 2, 2))[0, :3]
        array([0., 1., 2.])
    """
    x = np.asarray(x, np.float64)
    rows = []
    for n in range(x.shape[0]):
        rows.append([float(x[(n, *index)]) for index in np.ndindex(x.shape[1:])])
    return np.array(rows)


def dropout(x, mask, rate: float):
    """Inverted dropout with a given 0/1 ``mask`` of ``x``'s shape.

    Example:
        >>> dropout(np.array([2.0, 4.0]), np.array([1, 0]), 0.5)
        array([4., 0.])
    """
    x = np.asarray(x, np.float64)
    out = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        out[index] = x[index] / (1.0 - rate) if mask[index] else 0.0
    return out
