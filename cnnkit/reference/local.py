"""Locally connected layers by loops, straight from Goodfellow et al. 2016, eq. 9.9
(indices from 0).

The book's 6-D weight ``W[i, j, k, l, m, n]`` (output channel ``i``, output row ``j`` and
column ``k``, input channel ``l``, offsets ``m, n``) gives

    ``Z[i, j, k] = sum_{l, m, n} V[l, j*s + m*d, k*s + n*d] W[i, j, k, l, m, n]``

cnnkit stores the weight location-major, ``weight[j, k, i, l, m, n]``; the loops below index
it that way (``weight[j][i, l, m]`` for output location ``j``, any number of spatial axes).
The gradients follow the same pattern as eq 9.11-9.13 with the kernel indexed by the
output location. Padding (``valid``/``same``/``full``, ints, pairs, modes) and channel groups
(fig 9.15) are those of :mod:`cnnkit.reference.conv`.

These loops are slow on purpose: they are test oracles, not the fast path.
"""

from __future__ import annotations

import numpy as np

from .._validation import ArgumentError, ShapeError
from .conv import output_size, pad, pad_adjoint, resolve_padding

__all__ = [
    "bias_grad",
    "input_grad",
    "locally_connected",
    "locally_connected_transpose",
    "weight_grad",
]

_ALL = slice(None)


def _per_dim(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * n


def _group_slices(in_channels, out_channels, groups):
    if in_channels % groups or out_channels % groups:
        raise ArgumentError(
            f"groups must divide both channel counts. Received: groups={groups}, "
            f"in_channels={in_channels}, out_channels={out_channels}."
        )
    ci, co = in_channels // groups, out_channels // groups
    return [(slice(g * ci, (g + 1) * ci), slice(g * co, (g + 1) * co)) for g in range(groups)]


def _geometry(size, weight, stride, padding, dilation):
    W = np.asarray(weight, dtype=np.float64)
    n = len(size)
    out_w = W.shape[:n]
    kernel = W.shape[n + 2:]
    stride, dilation = _per_dim(stride, n), _per_dim(dilation, n)
    pairs = resolve_padding(padding, size, kernel, stride, dilation)
    out = output_size(size, kernel, stride, pairs, dilation)
    if tuple(out) != tuple(out_w):
        raise ShapeError(
            f"the weight has kernels for an output of size {tuple(out_w)}; an input of size "
            f"{tuple(size)} gives {tuple(out)}."
        )
    return W, n, kernel, stride, dilation, pairs, out


def locally_connected(V, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                      padding_mode="zeros") -> np.ndarray:
    """Unshared convolution by loops (eq 9.9): every output location has its own kernel.

    ``Z[b, i, j] = sum_{l, m} P[b, l, j*s + m*d] weight[j, i, l, m] (+ bias[i, j])``.

    Args:
        V: input ``(N, C_in, *W)``.
        weight: ``(*O, C_out, C_in / groups, *k)``.
        bias: ``(C_out, *O)`` or None.

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``.

    Example:
        >>> V = np.arange(4.0).reshape(1, 1, 4)
        >>> w = np.array([[[[1.0, 1.0]]], [[[0.0, 1.0]]], [[[2.0, 0.0]]]])  # 3 locations
        >>> locally_connected(V, w)[0, 0]   # [0+1, 2, 2*2]
        array([1., 2., 4.])
    """
    V = np.asarray(V, dtype=np.float64)
    W, n, kernel, stride, dilation, pairs, out = _geometry(V.shape[2:], weight, stride, padding,
                                                           dilation)
    P = pad(V, pairs, padding_mode)
    Z = np.zeros((V.shape[0], W.shape[n]) + tuple(out))
    for ins, outs in _group_slices(V.shape[1], W.shape[n], groups):
        for j in np.ndindex(*out):
            for m in np.ndindex(*kernel):
                p = tuple(jj * s + mm * d for jj, mm, s, d in zip(j, m, stride, dilation))
                # sum over l: (N, C_g) @ (C_g, C_out_g), with location j's own kernel
                Z[(_ALL, outs) + j] += P[(_ALL, ins) + p] @ W[j + (outs, _ALL) + m].T
    if bias is not None:
        Z += np.asarray(bias, dtype=np.float64)
    return Z


def weight_grad(G, V, weight_shape, stride=1, padding=0, dilation=1, groups=1,
                padding_mode="zeros") -> np.ndarray:
    """Weight gradient: ``dW[j, i, l, m] = sum_b G[b, i, j] P[b, l, j*s + m*d]``.

    Each location's kernel collects only its own output's gradient (no sum over ``j``,
    unlike eq 9.11 for a shared kernel).

    Example:
        >>> V = np.arange(4.0).reshape(1, 1, 4)
        >>> weight_grad(np.ones((1, 1, 3)), V, (3, 1, 1, 2))[:, 0, 0]
        array([[0., 1.],
               [1., 2.],
               [2., 3.]])
    """
    G, V = np.asarray(G, dtype=np.float64), np.asarray(V, dtype=np.float64)
    shape = tuple(weight_shape)
    _, n, kernel, stride, dilation, pairs, out = _geometry(V.shape[2:], np.zeros(shape), stride,
                                                           padding, dilation)
    P = pad(V, pairs, padding_mode)
    dW = np.zeros(shape)
    for ins, outs in _group_slices(V.shape[1], G.shape[1], groups):
        for j in np.ndindex(*out):
            for m in np.ndindex(*kernel):
                p = tuple(jj * s + mm * d for jj, mm, s, d in zip(j, m, stride, dilation))
                # sum over b: (C_out_g, N) @ (N, C_g)
                dW[j + (outs, _ALL) + m] += G[(_ALL, outs) + j].T @ P[(_ALL, ins) + p]
    return dW


def input_grad(weight, G, input_size, stride=1, padding=0, dilation=1, groups=1,
               padding_mode="zeros") -> np.ndarray:
    """Input gradient: each output ``j`` hands ``sum_i weight[j, i, l, m] G[b, i, j]`` to the
    input pixel ``j*s + m*d`` its tap ``m`` read; padded pixels are folded back.

    Example:
        >>> w = np.ones((3, 1, 1, 2))
        >>> input_grad(w, np.ones((1, 1, 3)), (4,))[0, 0]
        array([1., 2., 2., 1.])
    """
    G = np.asarray(G, dtype=np.float64)
    size = tuple(input_size)
    W, n, kernel, stride, dilation, pairs, out = _geometry(size, weight, stride, padding, dilation)
    in_channels = W.shape[n + 1] * groups
    padded = tuple(w + lo + hi for w, (lo, hi) in zip(size, pairs))
    dP = np.zeros((G.shape[0], in_channels) + padded)
    for ins, outs in _group_slices(in_channels, W.shape[n], groups):
        for j in np.ndindex(*out):
            for m in np.ndindex(*kernel):
                p = tuple(jj * s + mm * d for jj, mm, s, d in zip(j, m, stride, dilation))
                # sum over i: (N, C_out_g) @ (C_out_g, C_g)
                dP[(_ALL, ins) + p] += G[(_ALL, outs) + j] @ W[j + (outs, _ALL) + m]
    return pad_adjoint(dP, pairs, padding_mode, size)


def bias_grad(G) -> np.ndarray:
    """Gradient of the per-location bias: the output gradient summed over the batch."""
    return np.asarray(G, dtype=np.float64).sum(axis=0)


def locally_connected_transpose(Y, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                                output_size=None) -> np.ndarray:
    """The transpose of :func:`locally_connected`: its input gradient applied to ``Y``.

    ``output_size`` is the forward input's size; by default the smallest size whose
    forward map has ``Y``'s size, found axis by axis by counting windows.

    Example:
        >>> locally_connected_transpose(np.ones((1, 1, 3)), np.ones((3, 1, 1, 2)))[0, 0]
        array([1., 2., 2., 1.])
    """
    Y = np.asarray(Y, dtype=np.float64)
    n = Y.ndim - 2
    if output_size is None:
        kernel = np.asarray(weight).shape[n + 2:]
        stride_t, dilation_t = _per_dim(stride, n), _per_dim(dilation, n)
        sizes = []
        for axis in range(n):
            if isinstance(padding, (str, int)):
                axis_padding = padding
            else:
                axis_padding = [padding[axis]]
            k, s, d = (kernel[axis],), (stride_t[axis],), (dilation_t[axis],)
            target = Y.shape[2 + axis]
            for w in range(1, (target + 1) * s[0] + (k[0] - 1) * d[0] + 1):
                pairs = resolve_padding(axis_padding, (w,), k, s, d)
                if _count((w,), k, s, pairs, d) == target:
                    break
            else:
                raise ShapeError(f"no input size gives an output of size {target} along axis {axis}.")
            sizes.append(w)
        output_size = tuple(sizes)
    Z = input_grad(weight, Y, output_size, stride, padding, dilation, groups, "zeros")
    if bias is not None:
        Z += np.asarray(bias, dtype=np.float64)
    return Z


def _count(size, kernel, stride, pairs, dilation) -> int:
    return output_size(size, kernel, stride, pairs, dilation)[0]
