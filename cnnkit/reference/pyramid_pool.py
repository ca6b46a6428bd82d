"""Spatial pyramid pooling by loops (He et al. 2014; Goodfellow et al. 2016, fig. 9.11).

Level ``l`` splits each spatial dimension of size ``W`` into ``l`` bins, bin ``i`` covering
``[floor(i W / l), ceil((i + 1) W / l))``; each bin of each channel is max- or
average-pooled. The output concatenates, level after level, the ``(C, *l)`` grids flattened
channel-major. Max sends its gradient to the first maximum of the bin in row-major order.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["bins", "spatial_pyramid_pool", "spatial_pyramid_pool_backward"]


def bins(size, count):
    """The ``count`` bins of a dimension of ``size``: ``[floor(i W / l), ceil((i + 1) W / l))``.

    Example:
        >>> [list(b) for b in bins(5, 2)]
        [[0, 1, 2], [2, 3, 4]]
    """
    return [range((i * size) // count, -((-(i + 1) * size) // count)) for i in range(count)]


def _cells(size, level):
    axes = [bins(w, l) for w, l in zip(size, level)]
    for j in np.ndindex(*level):
        yield j, [tuple(p) for p in np.ndindex(*[len(axes[a][jj]) for a, jj in enumerate(j)])], \
            [axes[a][jj].start for a, jj in enumerate(j)]


def _level_tuple(level, n):
    return tuple(level) if isinstance(level, (tuple, list)) else (int(level),) * n


def spatial_pyramid_pool(x, levels=(1, 2, 4), mode="max"):
    """``(N, C, *W)`` -> ``(N, C * sum_l prod(l))`` by loops.

    Example:
        >>> spatial_pyramid_pool(np.arange(4.0).reshape(1, 1, 4), levels=(1, 2))
        array([[3., 1., 3.]])
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.ndim - 2
    parts = []
    for level in levels:
        level = _level_tuple(level, n)
        grid = np.zeros(x.shape[:2] + level)
        for j, offsets, start in _cells(x.shape[2:], level):
            for b, c in np.ndindex(*x.shape[:2]):
                values = [x[(b, c) + tuple(s + o for s, o in zip(start, q))] for q in offsets]
                grid[(b, c) + j] = max(values) if mode == "max" else sum(values) / len(values)
        parts.append(grid.reshape(x.shape[0], -1))
    return np.concatenate(parts, axis=1)


def spatial_pyramid_pool_backward(x, G, levels=(1, 2, 4), mode="max"):
    """Input gradient of :func:`spatial_pyramid_pool` for the output gradient ``G``."""
    x, G = np.asarray(x, dtype=np.float64), np.asarray(G, dtype=np.float64)
    n = x.ndim - 2
    dx = np.zeros_like(x)
    column = 0
    for level in levels:
        level = _level_tuple(level, n)
        grid = G[:, column:column + x.shape[1] * math.prod(level)].reshape(x.shape[:2] + level)
        column += x.shape[1] * math.prod(level)
        for j, offsets, start in _cells(x.shape[2:], level):
            for b, c in np.ndindex(*x.shape[:2]):
                positions = [tuple(s + o for s, o in zip(start, q)) for q in offsets]
                g = grid[(b, c) + j]
                if mode == "max":
                    values = [x[(b, c) + p] for p in positions]
                    dx[(b, c) + positions[int(np.argmax(values))]] += g
                else:
                    for p in positions:
                        dx[(b, c) + p] += g / len(positions)
    return dx
