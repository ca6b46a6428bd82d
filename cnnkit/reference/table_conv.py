"""Convolution with a connection table by loops: the full kernel with the missing
connections at zero, then the loop convolution (LeCun et al. 1998, table I)."""

from __future__ import annotations

import numpy as np

from . import conv as ref_conv

__all__ = ["table_conv", "table_kernel"]


def table_kernel(weight, table, in_channels: int):
    """``K[o, l] = weight[c]`` for the ``c``-th connection ``(o, l)`` in table order, zero
    for every pair the table leaves out.

    Example:
        >>> table_kernel(np.array([[1.0], [2.0]]), [[1], [0]], 2)[:, :, 0]
        array([[0., 1.],
               [2., 0.]])
    """
    weight = np.asarray(weight, dtype=np.float64)
    kernel = np.zeros((len(table), in_channels, *weight.shape[1:]))
    c = 0
    for o, inputs in enumerate(table):
        for l in inputs:
            kernel[o, l] = weight[c]
            c += 1
    return kernel


def table_conv(x, weight, table, bias=None, stride=1, padding=0, dilation=1,
               padding_mode="zeros"):
    """Eq. 9.7 of Goodfellow et al. 2016 with the kernel of :func:`table_kernel`.

    Example:
        >>> table_conv(np.ones((1, 2, 3)), np.ones((3, 2)), [[0], [0, 1]])[0]
        array([[2., 2.],
               [4., 4.]])
    """
    x = np.asarray(x, dtype=np.float64)
    kernel = table_kernel(weight, table, x.shape[1])
    return ref_conv.conv(x, kernel, bias, stride=stride, padding=padding, dilation=dilation,
                         padding_mode=padding_mode)
