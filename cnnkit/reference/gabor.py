"""Gabor functions by loops, one pixel at a time, straight from Goodfellow et al. 2016,
eq. 9.16-9.18.

    ``w(x, y) = alpha exp(-beta_x x'^2 - beta_y y'^2) cos(f x' + phi)``
    ``x' = (x - x0) cos(tau) + (y - y0) sin(tau)``
    ``y' = -(x - x0) sin(tau) + (y - y0) cos(tau)``

Pixel ``[row, column]`` sits at ``x = column - (W - 1) / 2``, ``y = row - (H - 1) / 2``
(coordinates from the kernel centre), as in :mod:`cnnkit.features.gabor`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["gabor_2d"]


def gabor_2d(size, alpha, beta_x, beta_y, f, phi, x0, y0, tau) -> np.ndarray:
    """Sample eq 9.16 on an ``(H, W)`` grid.

    Example:
        >>> gabor_2d((1, 3), 1.0, 0.0, 0.0, math.pi, 0.0, 0.0, 0.0, 0.0)[0]   # cos(pi x)
        array([-1.,  1., -1.])
    """
    height, width = size
    w = np.zeros((height, width))
    for row in range(height):
        for column in range(width):
            x = column - (width - 1) / 2
            y = row - (height - 1) / 2
            xr = (x - x0) * math.cos(tau) + (y - y0) * math.sin(tau)  # eq 9.17
            yr = -(x - x0) * math.sin(tau) + (y - y0) * math.cos(tau)  # eq 9.18
            w[row, column] = alpha * math.exp(-beta_x * xr * xr - beta_y * yr * yr) * math.cos(f * xr + phi)
    return w
