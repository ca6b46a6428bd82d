"""Fractional max pooling by loops (Graham 2014).

Region boundaries ``0 = a_0 < ... < a_O = L`` per dimension, steps of 1 or 2:
disjoint regions ``[a_{i-1}, a_i - 1]`` (``L = W``) or overlapping regions
``[a_{i-1}, a_i]`` (``L = W - 1``). The pseudo-random sequence is the paper's
``a_i = ceil(alpha (i + u))``, ``alpha = L / O``, shifted to start at 0, computed here with
exact fractions.

Every output is the maximum of its region (the product of one interval per dimension),
scanned in row-major order; the first maximum wins and receives the gradient.
Each example ``n`` has its own boundaries ``regions[axis][n]``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

__all__ = ["fractional_max_pool", "fractional_max_pool_backward", "pseudo_random_regions"]


def pseudo_random_regions(size, out, u, overlapping=False):
    """``a_i = ceil(alpha (i + u)) - ceil(alpha u)``, ``i = 0 .. O``, with ``alpha = L / O``.

    Example:
        >>> pseudo_random_regions(10, 6, 0.5)
        [0, 2, 4, 5, 7, 9, 10]
    """
    span = size - 1 if overlapping else size
    alpha, u = Fraction(span, out), Fraction(u)
    a = [math.ceil(alpha * (i + u)) for i in range(out + 1)]
    return [v - a[0] for v in a]


def _intervals(boundaries, overlapping):
    a = [int(v) for v in boundaries]
    return [range(a[i - 1], a[i] + 1 if overlapping else a[i]) for i in range(1, len(a))]


def _regions_of(regions, n):
    """Example ``n``'s boundaries per dimension (a 1-D array is shared by the batch)."""
    rows = [np.asarray(r).reshape(-1, np.asarray(r).shape[-1]) for r in regions]
    return [r[n if r.shape[0] > 1 else 0] for r in rows]


def fractional_max_pool(x, regions, overlapping=False):
    """Max over every region; returns ``(out, argmax)`` with ``argmax`` a dict
    ``(n, c, *j) -> input position``.

    Args:
        x: ``(N, C, *W)``.
        regions: one boundary array per dimension, ``(N, O + 1)`` or ``(O + 1,)``.

    Example:
        >>> out, _ = fractional_max_pool(np.arange(5.0).reshape(1, 1, 5), [[0, 2, 4, 5]])
        >>> out
        array([[[1., 3., 4.]]])
    """
    x = np.asarray(x, dtype=np.float64)
    out_shape = x.shape[:2] + tuple(np.asarray(r).shape[-1] - 1 for r in regions)
    out = np.zeros(out_shape)
    argmax = {}
    for n in range(x.shape[0]):
        axes = [_intervals(r, overlapping) for r in _regions_of(regions, n)]
        for c in range(x.shape[1]):
            for j in np.ndindex(*out_shape[2:]):
                best, where = -np.inf, None
                for q in np.ndindex(*[len(axes[a][jj]) for a, jj in enumerate(j)]):
                    p = tuple(axes[a][jj][qq] for a, (jj, qq) in enumerate(zip(j, q)))
                    if x[(n, c) + p] > best:
                        best, where = x[(n, c) + p], p
                out[(n, c) + j] = best
                argmax[(n, c) + j] = where
    return out, argmax


def fractional_max_pool_backward(x, G, argmax):
    """Input gradient: each output's gradient goes to its region's first maximum."""
    dx = np.zeros_like(np.asarray(x, dtype=np.float64))
    for key, p in argmax.items():
        dx[key[:2] + p] += G[key]
    return dx
