"""Separable kernels by loops (Goodfellow et al. 2016, section 9.8).

A rank-``r`` separable kernel is a sum of ``r`` outer products of ``d`` vectors:

    ``K[o, c, a_0, ..., a_{d-1}] = sum_q prod_i F_i[q, o, c, a_i]``

and, by the chain rule, the gradient of factor ``i`` is the kernel gradient ``dK`` times the
other factors, summed over the other axes:

    ``dF_i[q, o, c, a_i] = sum_{a_j, j != i} dK[o, c, a] prod_{j != i} F_j[q, o, c, a_j]``

Convolving with the assembled kernel is :func:`cnnkit.reference.conv.conv`; its kernel
gradient, :func:`cnnkit.reference.conv.kernel_grad`, feeds :func:`factor_grads`.

These loops are slow on purpose: they are test oracles, not the fast path.
"""

from __future__ import annotations

import numpy as np

__all__ = ["factor_grads", "separable_kernel"]


def separable_kernel(factors) -> np.ndarray:
    """Assemble ``K[o, c, a] = sum_q prod_i F_i[q, o, c, a_i]`` entry by entry.

    Example:
        >>> u = np.array([1.0, 2.0]).reshape(1, 1, 1, 2)
        >>> v = np.array([3.0, -1.0]).reshape(1, 1, 1, 2)
        >>> separable_kernel([u, v])[0, 0]
        array([[ 3., -1.],
               [ 6., -2.]])
    """
    factors = [np.asarray(f, dtype=np.float64) for f in factors]
    rank, out_channels, in_channels = factors[0].shape[:3]
    kernel = tuple(f.shape[3] for f in factors)
    K = np.zeros((out_channels, in_channels) + kernel)
    for o in range(out_channels):
        for c in range(in_channels):
            for a in np.ndindex(*kernel):
                total = 0.0
                for q in range(rank):
                    term = 1.0
                    for i, f in enumerate(factors):
                        term *= f[q, o, c, a[i]]
                    total += term
                K[(o, c) + a] = total
    return K


def factor_grads(dK, factors) -> list[np.ndarray]:
    """Gradients of the factors given the gradient ``dK`` of the assembled kernel.

    Example:
        >>> u = np.array([1.0, 2.0]).reshape(1, 1, 1, 2)
        >>> v = np.array([3.0, -1.0]).reshape(1, 1, 1, 2)
        >>> [g.ravel() for g in factor_grads(np.ones((1, 1, 2, 2)), [u, v])]
        [array([2., 2.]), array([3., 3.])]
    """
    dK = np.asarray(dK, dtype=np.float64)
    factors = [np.asarray(f, dtype=np.float64) for f in factors]
    rank, out_channels, in_channels = factors[0].shape[:3]
    kernel = tuple(f.shape[3] for f in factors)
    grads = [np.zeros_like(f) for f in factors]
    for o in range(out_channels):
        for c in range(in_channels):
            for a in np.ndindex(*kernel):
                for q in range(rank):
                    for i in range(len(factors)):
                        others = 1.0
                        for j, f in enumerate(factors):
                            if j != i:
                                others *= f[q, o, c, a[j]]
                        grads[i][q, o, c, a[i]] += dK[(o, c) + a] * others
    return grads
