"""WaveNet's gated activation unit by loops: ``z = tanh(W_f * x) . sigmoid(W_g * x)``
(van den Oord et al. 2016, eq. 2)."""

from __future__ import annotations

import math

import numpy as np

from . import conv as ref_conv

__all__ = ["gated_conv"]


def gated_conv(x, weight_filter, weight_gate, bias_filter=None, bias_gate=None, stride=1,
               padding=0, dilation=1, padding_mode="zeros"):
    """Two loop convolutions of the same input, one through tanh and one through the
    sigmoid, multiplied element by element.

    Example:
        >>> out = gated_conv(np.ones((1, 1, 3)), np.ones((1, 1, 1)), np.zeros((1, 1, 1)))
        >>> bool(np.allclose(out, 0.5 * np.tanh(1.0)))
        True
    """
    args = dict(stride=stride, padding=padding, dilation=dilation, padding_mode=padding_mode)
    f = ref_conv.conv(x, weight_filter, bias_filter, **args)
    g = ref_conv.conv(x, weight_gate, bias_gate, **args)
    out = np.empty_like(f)
    for index in np.ndindex(f.shape):
        out[index] = math.tanh(f[index]) / (1.0 + math.exp(-g[index]))
    return out
