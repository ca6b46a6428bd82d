"""Pooling by loops: max, average, Lp, global and adaptive, forward and backward.

Goodfellow et al. 2016, section 9.3: a pooling function replaces the output at a location
by a summary statistic of a rectangular neighbourhood (max, average, L2 norm), possibly
with a stride (fig 9.10) or with regions that scale with the input (fig 9.11, adaptive
pooling).

Every window is listed explicitly: per axis, output ``j`` starts at input position
``j*s - lo`` (``lo`` the low padding) and reads ``j*s - lo + t*d`` for taps
``t = 0 .. k-1``. Taps outside the input are padding: they never win a max, add zero to
a sum and an Lp norm, and count towards an average only with ``count_include_pad``.

Which windows exist (per axis, padded input ``W + lo + hi``, span ``E = (k-1)*d + 1``):

* ``ceil_mode=False``: every window that lies inside the padded input.
* ``ceil_mode=True``: also a last, partial window that runs past the padded end, kept
  when it overhangs by less than one stride (``ceil`` in the output-size formula) and
  starts inside the input or the low padding (PyTorch's rule). Its taps past the padded
  end are not positions at all: they are not counted even with ``count_include_pad``.

Backward functions take the forward input and the gradient ``G`` of the loss with
respect to the output, and return the gradient with respect to the input.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import ArgumentError
from .conv import resolve_padding

__all__ = [
    "adaptive_avg_pool",
    "adaptive_avg_pool_backward",
    "adaptive_max_pool",
    "adaptive_max_pool_backward",
    "adaptive_windows",
    "avg_pool",
    "avg_pool_backward",
    "global_avg_pool",
    "global_avg_pool_backward",
    "global_lp_pool",
    "global_lp_pool_backward",
    "global_max_pool",
    "global_max_pool_backward",
    "lp_pool",
    "lp_pool_backward",
    "max_pool",
    "max_pool_backward",
    "windows",
]

_ALL = slice(None)


def _per_dim(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * n


def _axis_windows(size, kernel, stride, pad, dilation, ceil_mode):
    """Windows along one axis: a list of (taps inside the input, taps inside the padded input)."""
    lo, hi = pad
    padded = size + lo + hi
    span = (kernel - 1) * dilation + 1
    result = []
    j = 0
    while True:
        start = j * stride  # padded coordinates
        whole = start + span <= padded
        partial = (ceil_mode and start + span - padded < stride and start < lo + size)
        if not (whole or partial):
            break
        taps = [start + t * dilation for t in range(kernel)]
        real = [q - lo for q in taps if lo <= q < lo + size]
        existing = [q for q in taps if q < padded]
        result.append((real, len(existing)))
        j += 1
    return result


def windows(size, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Every pooling window: ``{output index: (input positions, positions incl. padding)}``.

    Example:
        >>> windows((5,), 3, 2, padding=((1, 0),))
        {(0,): ([(0,), (1,)], 3), (1,): ([(1,), (2,), (3,)], 3)}
    """
    n = len(size)
    kernel = _per_dim(kernel, n)
    stride = kernel if stride is None else _per_dim(stride, n)
    dilation = _per_dim(dilation, n)
    pairs = resolve_padding(padding, size, kernel, stride, dilation)
    axes = [_axis_windows(w, k, s, p, d, ceil_mode)
            for w, k, s, p, d in zip(size, kernel, stride, pairs, dilation)]
    result = {}
    for j in np.ndindex(*[len(a) for a in axes]):
        per_axis = [axes[a][jj] for a, jj in enumerate(j)]
        positions = [tuple(q) for q in np.ndindex(*[len(real) for real, _ in per_axis])]
        real = [tuple(per_axis[a][0][i] for a, i in enumerate(q)) for q in positions]
        result[j] = (real, math.prod(count for _, count in per_axis))
    return result


def _out_shape(x, table):
    return x.shape[:2] + tuple(max(j) + 1 for j in zip(*table)) if table else x.shape[:2]


def _pool(x, table, reduce):
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros(_out_shape(x, table))
    for j, (real, count) in table.items():
        values = np.stack([x[(_ALL, _ALL) + q] for q in real], axis=-1) if real else None
        out[(_ALL, _ALL) + j] = reduce(values, count)
    return out


def _argmax_backward(x, G, table, score):
    """Send each output's gradient to the first input position of its window whose
    ``score`` is largest (ties go to the earliest tap)."""
    x = np.asarray(x, dtype=np.float64)
    dx = np.zeros_like(x)
    for j, (real, _) in table.items():
        if not real:
            continue
        for b, c in np.ndindex(*x.shape[:2]):
            values = [score(x[(b, c) + q]) for q in real]
            winner = real[int(np.argmax(values))]
            dx[(b, c) + winner] += G[(b, c) + j] * _sign_or_one(x[(b, c) + winner], score)
    return dx


def _sign_or_one(value, score):
    return np.sign(value) if score is np.abs else 1.0


def _max(values, count):
    return values.max(axis=-1) if values is not None else -np.inf


def max_pool(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Max pooling: the largest input value in each window (padding never wins).

    A window with no input position at all gives ``-inf``.

    Example:
        >>> max_pool(np.array([[[1.0, 5.0, 2.0, 0.0, 3.0]]]), 3, 2)
        array([[[5., 3.]]])
    """
    x = np.asarray(x, dtype=np.float64)
    return _pool(x, windows(x.shape[2:], kernel, stride, padding, dilation, ceil_mode), _max)


def max_pool_backward(x, G, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Gradient of :func:`max_pool`: each output's gradient goes to its window's argmax.

    Example:
        >>> max_pool_backward(np.array([[[1.0, 5.0, 2.0, 0.0, 3.0]]]), np.ones((1, 1, 2)), 3, 2)
        array([[[0., 1., 0., 0., 1.]]])
    """
    x = np.asarray(x, dtype=np.float64)
    table = windows(x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    return _argmax_backward(x, np.asarray(G, dtype=np.float64), table, lambda v: v)


def _divisors(table, count_include_pad):
    return {j: (count if count_include_pad else len(real)) for j, (real, count) in table.items()}


def avg_pool(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False,
             count_include_pad=False):
    """Average pooling: the window's sum over input positions divided by the number of
    input positions (``count_include_pad=False``) or of input and padding positions.

    Example:
        >>> x = np.array([[[2.0, 4.0, 6.0]]])
        >>> avg_pool(x, 2, 2, padding=((1, 0),))
        array([[[2., 5.]]])
        >>> avg_pool(x, 2, 2, padding=((1, 0),), count_include_pad=True)
        array([[[1., 5.]]])
    """
    x = np.asarray(x, dtype=np.float64)
    table = windows(x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    divisor = _divisors(table, count_include_pad)
    out = np.zeros(_out_shape(x, table))
    for j, (real, _) in table.items():
        for q in real:
            out[(_ALL, _ALL) + j] += x[(_ALL, _ALL) + q]
        out[(_ALL, _ALL) + j] /= divisor[j]
    return out


def avg_pool_backward(x, G, kernel, stride=None, padding=0, dilation=1, ceil_mode=False,
                      count_include_pad=False):
    """Gradient of :func:`avg_pool`: each input position of a window gets ``G / divisor``.

    Example:
        >>> avg_pool_backward(np.zeros((1, 1, 3)), np.ones((1, 1, 2)), 2, 1)
        array([[[0.5, 1. , 0.5]]])
    """
    x = np.asarray(x, dtype=np.float64)
    G = np.asarray(G, dtype=np.float64)
    table = windows(x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    divisor = _divisors(table, count_include_pad)
    dx = np.zeros_like(x)
    for j, (real, _) in table.items():
        for q in real:
            dx[(_ALL, _ALL) + q] += G[(_ALL, _ALL) + j] / divisor[j]
    return dx


def _check_p(p):
    if not p > 0:
        raise ArgumentError(f"p must be positive. Received: p={p!r}.")


def lp_pool(x, p, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Lp pooling: ``(sum over the window of |x|^p)^(1/p)``; ``p = inf`` gives ``max |x|``.

    Padding adds nothing to the sum. p = 2 is the L2 norm of a neighbourhood (Goodfellow
    et al. 2016, section 9.3).

    Example:
        >>> lp_pool(np.array([[[3.0, -4.0, 0.0, 0.0]]]), 2, 2)
        array([[[5., 0.]]])
        >>> lp_pool(np.array([[[3.0, -4.0]]]), np.inf, 2)
        array([[[4.]]])
    """
    _check_p(p)
    x = np.asarray(x, dtype=np.float64)
    table = windows(x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    out = np.zeros(_out_shape(x, table))
    for j, (real, _) in table.items():
        for b, c in np.ndindex(*x.shape[:2]):
            values = [abs(x[(b, c) + q]) for q in real]
            if math.isinf(p):
                out[(b, c) + j] = max(values, default=0.0)
            else:
                out[(b, c) + j] = sum(v ** p for v in values) ** (1.0 / p)
    return out


def lp_pool_backward(x, G, p, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Gradient of :func:`lp_pool`.

    With ``S = sum |x_q|^p`` over the window, ``d out / d x_q = S^(1/p - 1) |x_q|^(p-1)
    sign(x_q)``. Where ``S = 0`` (an all-zero window) the gradient is defined as 0, and
    ``x_q = 0`` contributes 0 also for ``p < 1`` (where the derivative does not exist).
    ``p = inf``: the gradient goes to the window's largest ``|x|``, times its sign.

    Example:
        >>> lp_pool_backward(np.array([[[3.0, -4.0, 0.0, 0.0]]]), np.ones((1, 1, 2)), 2, 2)
        array([[[ 0.6, -0.8,  0. ,  0. ]]])
    """
    _check_p(p)
    x = np.asarray(x, dtype=np.float64)
    G = np.asarray(G, dtype=np.float64)
    table = windows(x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    if math.isinf(p):
        return _argmax_backward(x, G, table, np.abs)
    dx = np.zeros_like(x)
    for j, (real, _) in table.items():
        for b, c in np.ndindex(*x.shape[:2]):
            total = sum(abs(x[(b, c) + q]) ** p for q in real)
            if total == 0:
                continue
            for q in real:
                v = x[(b, c) + q]
                if v != 0:
                    dx[(b, c) + q] += (G[(b, c) + j] * total ** (1.0 / p - 1.0)
                                       * abs(v) ** (p - 1.0) * np.sign(v))
    return dx


def _whole(x):
    """A window covering every spatial position: global pooling is pooling with it."""
    return {(): ([q for q in np.ndindex(*x.shape[2:])], math.prod(x.shape[2:]))}


def global_max_pool(x):
    """Maximum over all spatial positions: ``(N, C, *W) -> (N, C)``.

    Example:
        >>> global_max_pool(np.arange(8.0).reshape(1, 2, 2, 2))
        array([[3., 7.]])
    """
    x = np.asarray(x, dtype=np.float64)
    return _pool(x, _whole(x), _max)


def global_max_pool_backward(x, G):
    """Gradient of :func:`global_max_pool`: to the argmax of each channel."""
    x = np.asarray(x, dtype=np.float64)
    return _argmax_backward(x, np.asarray(G, dtype=np.float64), _whole(x), lambda v: v)


def global_avg_pool(x):
    """Mean over all spatial positions: ``(N, C, *W) -> (N, C)``.

    Example:
        >>> global_avg_pool(np.arange(8.0).reshape(1, 2, 4))
        array([[1.5, 5.5]])
    """
    x = np.asarray(x, dtype=np.float64)
    return avg_pool(x, x.shape[2:])[(_ALL, _ALL) + (0,) * (x.ndim - 2)]


def global_avg_pool_backward(x, G):
    """Gradient of :func:`global_avg_pool`: ``G / (number of positions)`` everywhere."""
    x = np.asarray(x, dtype=np.float64)
    G = np.asarray(G, dtype=np.float64).reshape(x.shape[:2] + (1,) * (x.ndim - 2))
    return avg_pool_backward(x, G, x.shape[2:])


def global_lp_pool(x, p):
    """Lp norm over all spatial positions: ``(N, C, *W) -> (N, C)``.

    Example:
        >>> global_lp_pool(np.array([[[3.0, 4.0]]]), 2)
        array([[5.]])
    """
    x = np.asarray(x, dtype=np.float64)
    return lp_pool(x, p, x.shape[2:])[(_ALL, _ALL) + (0,) * (x.ndim - 2)]


def global_lp_pool_backward(x, G, p):
    """Gradient of :func:`global_lp_pool` (0 for an all-zero channel)."""
    x = np.asarray(x, dtype=np.float64)
    G = np.asarray(G, dtype=np.float64).reshape(x.shape[:2] + (1,) * (x.ndim - 2))
    return lp_pool_backward(x, G, p, x.shape[2:])


def adaptive_windows(size, output_size):
    """Adaptive windows: output ``i`` of an axis of size W covers
    ``[floor(i W / O), ceil((i + 1) W / O))``.

    Example:
        >>> adaptive_windows((5,), (3,))[(1,)]
        ([(1,), (2,), (3,)], 3)
    """
    axes = [[list(range((i * w) // o, -(-((i + 1) * w) // o))) for i in range(o)]
            for w, o in zip(size, output_size)]
    table = {}
    for j in np.ndindex(*[len(a) for a in axes]):
        ranges = [axes[a][jj] for a, jj in enumerate(j)]
        real = [tuple(r[i] for r, i in zip(ranges, q))
                for q in np.ndindex(*[len(r) for r in ranges])]
        table[j] = (real, len(real))
    return table


def adaptive_max_pool(x, output_size):
    """Max over each adaptive window (Goodfellow et al. 2016, fig. 9.11).

    Example:
        >>> adaptive_max_pool(np.array([[[1.0, 5.0, 2.0, 0.0, 3.0]]]), (3,))
        array([[[5., 5., 3.]]])
    """
    x = np.asarray(x, dtype=np.float64)
    return _pool(x, adaptive_windows(x.shape[2:], output_size), _max)


def adaptive_max_pool_backward(x, G, output_size):
    """Gradient of :func:`adaptive_max_pool`: to each window's argmax."""
    x = np.asarray(x, dtype=np.float64)
    table = adaptive_windows(x.shape[2:], output_size)
    return _argmax_backward(x, np.asarray(G, dtype=np.float64), table, lambda v: v)


def adaptive_avg_pool(x, output_size):
    """Mean over each adaptive window.

    Example:
        >>> adaptive_avg_pool(np.array([[[1.0, 5.0, 2.0, 0.0, 3.0]]]), (2,))
        array([[[2.66666667, 1.66666667]]])
    """
    x = np.asarray(x, dtype=np.float64)
    return _pool(x, adaptive_windows(x.shape[2:], output_size),
                 lambda values, count: values.sum(axis=-1) / count)


def adaptive_avg_pool_backward(x, G, output_size):
    """Gradient of :func:`adaptive_avg_pool`: ``G / (window size)`` to every member."""
    x = np.asarray(x, dtype=np.float64)
    G = np.asarray(G, dtype=np.float64)
    dx = np.zeros_like(x)
    for j, (real, count) in adaptive_windows(x.shape[2:], output_size).items():
        for q in real:
            dx[(_ALL, _ALL) + q] += G[(_ALL, _ALL) + j] / count
    return dx
