"""LeNet's subsampling by loops: ``y[c, o] = w[c] * sum_{k in window(o)} x[c, k] + b[c]``
(LeCun et al. 1998, section II-B)."""

from __future__ import annotations

import numpy as np

__all__ = ["subsample"]


def subsample(x, weight, bias, kernel, stride=None):
    """Sum each window (``stride`` apart, default the window), scale it by its channel's
    coefficient and add its channel's bias.

    Example:
        >>> subsample(np.ones((1, 1, 4)), np.array([2.0]), np.array([0.5]), (2,))
        array([[[4.5, 4.5]]])
    """
    x = np.asarray(x, dtype=np.float64)
    kernel = tuple(kernel)
    stride = kernel if stride is None else tuple(stride)
    spatial = x.shape[2:]
    out_size = tuple((w - k) // s + 1 for w, k, s in zip(spatial, kernel, stride))
    out = np.zeros((x.shape[0], x.shape[1], *out_size))
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for o in np.ndindex(*out_size):
                total = 0.0
                for k in np.ndindex(*kernel):
                    total += x[(n, c, *(oi * s + ki for oi, s, ki in zip(o, stride, k)))]
                out[(n, c, *o)] = weight[c] * total + (0.0 if bias is None else bias[c])
    return out
