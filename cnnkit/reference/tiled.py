"""Tiled convolution by loops, straight from Goodfellow et al. 2016, eq. 9.10 (indices from 0).

Output locations cycle through ``t`` kernel stacks per direction:

    ``Z[i, j, k] = sum_{l, m, n} V[l, j*s + m*d, k*s + n*d] K[i, l, m, n, j % t, k % t]``

cnnkit stores the stacks first, ``weight[j % t, k % t, i, l, m, n]``, and the biases are
tiled the same way, ``bias[i, j % t, k % t]`` (section 9.5). Any number of spatial axes,
a ``t`` per axis; padding and groups as in :mod:`cnnkit.reference.conv`.

These loops are slow on purpose: they are test oracles, not the fast path.
"""

from __future__ import annotations

import numpy as np

from .._validation import ShapeError
from .conv import output_size, pad, pad_adjoint, resolve_padding
from .local import _group_slices, _per_dim

__all__ = ["bias_grad", "input_grad", "tiled_conv", "weight_grad"]

_ALL = slice(None)


def _geometry(size, weight_shape, stride, padding, dilation):
    n = len(size)
    tiles = tuple(weight_shape[:n])
    kernel = tuple(weight_shape[n + 2:])
    stride, dilation = _per_dim(stride, n), _per_dim(dilation, n)
    pairs = resolve_padding(padding, size, kernel, stride, dilation)
    out = output_size(size, kernel, stride, pairs, dilation)
    if any(t < 1 or t > o for t, o in zip(tiles, out)):
        raise ShapeError(f"tiles {tiles} must lie between 1 and the output size {tuple(out)}.")
    return n, tiles, kernel, stride, dilation, pairs, out


def _stack(j, tiles):
    """Kernel stack of output location ``j``: ``j % t`` per axis (eq 9.10)."""
    return tuple(jj % t for jj, t in zip(j, tiles))


def tiled_conv(V, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
               padding_mode="zeros") -> np.ndarray:
    """Tiled convolution by loops: output ``j`` uses kernel stack ``j % t`` (eq 9.10).

    Args:
        V: input ``(N, C_in, *W)``.
        weight: ``(*t, C_out, C_in / groups, *k)``.
        bias: ``(C_out, *t)`` tiled, ``(C_out,)`` shared, or None.

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``.

    Example:
        >>> V = np.arange(5.0).reshape(1, 1, 5)
        >>> w = np.array([[[[1.0]]], [[[-1.0]]]])  # t = 2 stacks of a 1-tap kernel
        >>> tiled_conv(V, w)[0, 0]
        array([ 0., -1.,  2., -3.,  4.])
    """
    V = np.asarray(V, dtype=np.float64)
    W = np.asarray(weight, dtype=np.float64)
    n, tiles, kernel, stride, dilation, pairs, out = _geometry(V.shape[2:], W.shape, stride,
                                                               padding, dilation)
    P = pad(V, pairs, padding_mode)
    Z = np.zeros((V.shape[0], W.shape[n]) + tuple(out))
    for ins, outs in _group_slices(V.shape[1], W.shape[n], groups):
        for j in np.ndindex(*out):
            K = W[_stack(j, tiles)]
            for m in np.ndindex(*kernel):
                p = tuple(jj * s + mm * d for jj, mm, s, d in zip(j, m, stride, dilation))
                Z[(_ALL, outs) + j] += P[(_ALL, ins) + p] @ K[(outs, _ALL) + m].T
    if bias is not None:
        B = np.asarray(bias, dtype=np.float64)
        for j in np.ndindex(*out):
            Z[(_ALL, _ALL) + j] += B if B.ndim == 1 else B[(_ALL,) + _stack(j, tiles)]
    return Z


def weight_grad(G, V, weight_shape, stride=1, padding=0, dilation=1, groups=1,
                padding_mode="zeros") -> np.ndarray:
    """Gradient of the kernel stacks: stack ``q`` sums eq 9.11 over the outputs ``j % t = q``.

    Example:
        >>> V = np.arange(5.0).reshape(1, 1, 5)
        >>> weight_grad(np.ones((1, 1, 5)), V, (2, 1, 1, 1))[:, 0, 0, 0]   # [0+2+4, 1+3]
        array([6., 4.])
    """
    G, V = np.asarray(G, dtype=np.float64), np.asarray(V, dtype=np.float64)
    shape = tuple(weight_shape)
    n, tiles, kernel, stride, dilation, pairs, out = _geometry(V.shape[2:], shape, stride,
                                                               padding, dilation)
    P = pad(V, pairs, padding_mode)
    dW = np.zeros(shape)
    for ins, outs in _group_slices(V.shape[1], G.shape[1], groups):
        for j in np.ndindex(*out):
            q = _stack(j, tiles)
            for m in np.ndindex(*kernel):
                p = tuple(jj * s + mm * d for jj, mm, s, d in zip(j, m, stride, dilation))
                dW[q + (outs, _ALL) + m] += G[(_ALL, outs) + j].T @ P[(_ALL, ins) + p]
    return dW


def input_grad(weight, G, input_size, stride=1, padding=0, dilation=1, groups=1,
               padding_mode="zeros") -> np.ndarray:
    """Input gradient: output ``j`` hands its gradient back through kernel stack ``j % t``.

    Example:
        >>> w = np.array([[[[1.0]]], [[[-1.0]]]])
        >>> input_grad(w, np.ones((1, 1, 5)), (5,))[0, 0]
        array([ 1., -1.,  1., -1.,  1.])
    """
    G = np.asarray(G, dtype=np.float64)
    W = np.asarray(weight, dtype=np.float64)
    size = tuple(input_size)
    n, tiles, kernel, stride, dilation, pairs, out = _geometry(size, W.shape, stride, padding,
                                                               dilation)
    in_channels = W.shape[n + 1] * groups
    padded = tuple(w + lo + hi for w, (lo, hi) in zip(size, pairs))
    dP = np.zeros((G.shape[0], in_channels) + padded)
    for ins, outs in _group_slices(in_channels, W.shape[n], groups):
        for j in np.ndindex(*out):
            K = W[_stack(j, tiles)]
            for m in np.ndindex(*kernel):
                p = tuple(jj * s + mm * d for jj, mm, s, d in zip(j, m, stride, dilation))
                dP[(_ALL, ins) + p] += G[(_ALL, outs) + j] @ K[(outs, _ALL) + m]
    return pad_adjoint(dP, pairs, padding_mode, size)


def bias_grad(G, tiles) -> np.ndarray:
    """Gradient of tiled biases ``(C_out, *t)``: sum over the batch and the outputs of a tile.

    Example:
        >>> bias_grad(np.ones((2, 1, 5)), (2,))
        array([[6., 4.]])
    """
    G = np.asarray(G, dtype=np.float64)
    tiles = tuple(tiles)
    dB = np.zeros((G.shape[1],) + tiles)
    for j in np.ndindex(*G.shape[2:]):
        dB[(_ALL,) + _stack(j, tiles)] += G[(_ALL, _ALL) + j].sum(axis=0)
    return dB
