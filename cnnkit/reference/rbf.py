"""Euclidean RBF units by loops: ``y_i = -sum_j (x_j - w_ij)^2`` (LeCun et al. 1998, eq. 7,
negated so that the nearest code scores highest)."""

from __future__ import annotations

import numpy as np

__all__ = ["rbf"]


def rbf(x, centres):
    """Negative squared distance from every input row to every unit's vector.

    Example:
        >>> rbf(np.array([[0.0, 2.0]]), np.array([[0.0, 0.0]]))
        array([[-4.]])
    """
    x, centres = np.asarray(x, dtype=np.float64), np.asarray(centres, dtype=np.float64)
    out = np.zeros((x.shape[0], centres.shape[0]))
    for n in range(x.shape[0]):
        for i in range(centres.shape[0]):
            total = 0.0
            for j in range(x.shape[1]):
                total += (x[n, j] - centres[i, j]) ** 2
            out[n, i] = -total
    return out
