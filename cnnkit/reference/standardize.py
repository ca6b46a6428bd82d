"""Standardisation by loops: ``y[n, c, *s] = (x[n, c, *s] - mean[c]) / std[c]``."""

from __future__ import annotations

import numpy as np

__all__ = ["standardize"]


def standardize(x, mean, std):
    """One element at a time; a single mean or std applies to every channel.

    Example:
        >>> standardize(np.array([[1.0, 4.0]]), [0.0, 2.0], [0.5, 2.0]).tolist()
        [[2.0, 1.0]]
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        c = index[1]
        m = mean[c] if len(mean) > 1 else mean[0]
        s = std[c] if len(std) > 1 else std[0]
        out[index] = (x[index] - m) / s
    return out
