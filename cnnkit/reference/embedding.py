"""Embedding lookup by loops: ``out[n, d, *s] = W[ids[n, 0, *s], d]``."""

from __future__ import annotations

import numpy as np

__all__ = ["embedding"]


def embedding(ids, weight):
    """Row ``ids[n, 0, *s]`` of ``weight`` at every position, as channels.

    Example:
        >>> embedding(np.array([[[1, 0]]]), np.array([[1.0, 2.0], [3.0, 4.0]]))[0]
        array([[3., 1.],
               [4., 2.]])
    """
    ids, weight = np.asarray(ids), np.asarray(weight, dtype=np.float64)
    out = np.zeros((ids.shape[0], weight.shape[1], *ids.shape[2:]))
    for n in range(ids.shape[0]):
        for position in np.ndindex(ids.shape[2:]):
            row = int(ids[(n, 0, *position)])
            for d in range(weight.shape[1]):
                out[(n, d, *position)] = weight[row, d]
    return out
