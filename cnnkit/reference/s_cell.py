"""Neocognitron S-cells by loops: ``u = max(0, a . x - theta * |x|)`` over every window
(Fukushima 1980, with the V-cell's inhibition in subtractive form)."""

from __future__ import annotations

import math

import numpy as np

from .conv import resolve_padding

__all__ = ["s_cell"]


def s_cell(x, weight, threshold, stride=1, padding=0, dilation=1):
    """For each output position: the window ``x_w`` (all input maps), its dot product with
    each kernel, minus ``threshold`` times the window's Euclidean norm, rectified.

    Example:
        >>> s_cell(np.array([[[3.0, 4.0]]]), np.array([[[0.6, 0.8]]]), 0.5)
        array([[[2.5]]])
    """
    x, weight = np.asarray(x, dtype=np.float64), np.asarray(weight, dtype=np.float64)
    n = weight.ndim - 2
    kernel = weight.shape[2:]
    stride = (stride,) * n if isinstance(stride, int) else tuple(stride)
    dilation = (dilation,) * n if isinstance(dilation, int) else tuple(dilation)
    pairs = resolve_padding(padding, x.shape[2:], kernel, stride, dilation)
    padded = np.pad(x, [(0, 0), (0, 0), *pairs])
    out_size = tuple((w + lo + hi - d * (k - 1) - 1) // s + 1 for w, (lo, hi), k, s, d in
                     zip(x.shape[2:], pairs, kernel, stride, dilation))
    out = np.zeros((x.shape[0], weight.shape[0], *out_size))
    for b in range(x.shape[0]):
        for o in np.ndindex(*out_size):
            taps = [tuple(oi * s + ki * d for oi, s, ki, d in zip(o, stride, k, dilation))
                    for k in np.ndindex(*kernel)]
            window = np.array([[padded[(b, c, *t)] for t in taps] for c in range(x.shape[1])])
            norm = math.sqrt(float((window ** 2).sum()))
            for i in range(weight.shape[0]):
                kernel_taps = np.array([[weight[(i, c, *k)] for k in np.ndindex(*kernel)]
                                        for c in range(x.shape[1])])
                out[(b, i, *o)] = max(0.0, float((window * kernel_taps).sum()) - threshold * norm)
    return out
