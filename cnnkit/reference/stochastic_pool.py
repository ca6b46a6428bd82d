"""Stochastic pooling by loops (Zeiler and Fergus 2013).

For every window of non-negative activations ``a_1 .. a_K`` (taps in row-major order,
padding left out: it holds zeros, which are never drawn):

* training, with a uniform ``u`` in [0, 1): walk the window keeping the running sum
  ``c_k = a_1 + ... + a_k`` and output the first ``a_k`` with ``c_k > u * c_K``; that is
  ``a_k`` with probability ``a_k / c_K``. An all-zero window outputs 0;
* inference: ``sum_k p_k a_k = sum a_k^2 / sum a_k`` (0 for an all-zero window).

Backward: training sends each output's gradient to the drawn element; inference
differentiates ``S2 / S1`` (``S1 = sum a``, ``S2 = sum a^2``):
``d/da_k = (2 a_k S1 - S2) / S1^2`` for every window that contains ``a_k``.
"""

from __future__ import annotations

import numpy as np

from .pool import windows

__all__ = ["stochastic_pool", "stochastic_pool_backward"]

_ALL = slice(None)


def _table(x, kernel, stride, padding, dilation, ceil_mode):
    return windows(x.shape[2:], kernel, stride, padding, dilation, ceil_mode)


def stochastic_pool(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False, *,
                    training=True, uniform=None):
    """Stochastic pooling by loops; returns ``(out, drawn)``.

    Args:
        x: non-negative ``(N, C, *W)``.
        uniform: ``(N, C, *O)`` uniforms in [0, 1) (training only).

    Returns:
        ``out`` ``(N, C, *O)``, and ``drawn``: a dict ``(n, c, *j) -> input position`` of
        the element drawn in training (absent for all-zero windows; empty at inference).

    Example:
        >>> x = np.array([[[1.0, 3.0, 0.0, 0.0]]])
        >>> stochastic_pool(x, 2, training=False)[0]
        array([[[2.5, 0. ]]])
        >>> stochastic_pool(x, 2, uniform=np.array([[[0.5, 0.5]]]))[0]   # 0.5 * 4 < 1 + 3
        array([[[3., 0.]]])
    """
    x = np.asarray(x, dtype=np.float64)
    table = _table(x, kernel, stride, padding, dilation, ceil_mode)
    out_shape = x.shape[:2] + tuple(max(j) + 1 for j in zip(*table))
    out = np.zeros(out_shape)
    drawn = {}
    for j, (real, _) in table.items():
        for n, c in np.ndindex(*x.shape[:2]):
            values = [x[(n, c) + q] for q in real]
            total = sum(values)
            if total <= 0:
                continue
            if not training:
                out[(n, c) + j] = sum(v * v for v in values) / total
                continue
            threshold = uniform[(n, c) + j] * total
            running = 0.0
            for q, v in zip(real, values):
                running += v
                if running > threshold:
                    out[(n, c) + j] = v
                    drawn[(n, c) + j] = q
                    break
    return out, drawn


def stochastic_pool_backward(x, G, kernel, stride=None, padding=0, dilation=1,
                             ceil_mode=False, *, training=True, drawn=None):
    """Input gradient of :func:`stochastic_pool` for the output gradient ``G``.

    Args:
        drawn: the forward pass's drawn positions (training).
    """
    x, G = np.asarray(x, dtype=np.float64), np.asarray(G, dtype=np.float64)
    dx = np.zeros_like(x)
    if training:
        for key, q in drawn.items():
            n, c, j = key[0], key[1], key[2:]
            dx[(n, c) + q] += G[(n, c) + j]
        return dx
    table = _table(x, kernel, stride, padding, dilation, ceil_mode)
    for j, (real, _) in table.items():
        for n, c in np.ndindex(*x.shape[:2]):
            values = [x[(n, c) + q] for q in real]
            s1 = sum(values)
            if s1 <= 0:
                continue
            s2 = sum(v * v for v in values)
            for q, v in zip(real, values):
                dx[(n, c) + q] += G[(n, c) + j] * (2 * v * s1 - s2) / (s1 * s1)
    return dx
