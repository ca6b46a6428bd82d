"""DropConnect by loops (Wan et al. 2013): every example with its own masked weights.

``r_n = (M_n * W) v_n + b``: the dense layer sums ``M_n[o, i] W[o, i] v_n[i]`` over ``i``
for each example ``n`` and output ``o``; the convolution convolves example ``n`` with the
kernel ``M_n * W`` (one call of :func:`cnnkit.reference.conv.conv` per example). A mask of
the weight's own shape is shared by the batch.

Inference moments (the paper's Gaussian approximation of the pre-activation):
``mu = sum_i (1 - p) W[o, i] v[i] + b[o]`` and ``var = sum_i p (1 - p) W[o, i]^2 v[i]^2``.

Backward functions take the gradient ``G`` of the loss with respect to the
pre-activation and return the gradients with respect to the input, weight and bias.
"""

from __future__ import annotations

import numpy as np

from . import conv as ref_conv

__all__ = [
    "conv_backward",
    "conv_forward",
    "conv_moments",
    "dense_backward",
    "dense_forward",
    "dense_moments",
]


def _mask_of(mask, n, weight_ndim):
    """Mask of example ``n``: a per-example mask has one more dimension than the weight."""
    mask = np.asarray(mask, dtype=bool)
    return mask[n] if mask.ndim == weight_ndim + 1 else mask


def dense_forward(x, weight, bias, mask) -> np.ndarray:
    """``y[n, o] = sum_i M_n[o, i] W[o, i] x[n, i] + b[o]`` by loops.

    Args:
        x: ``(N, in)``; weight: ``(out, in)``; bias: ``(out,)`` or None;
        mask: boolean ``(N, out, in)`` or ``(out, in)``.

    Example:
        >>> dense_forward(np.ones((1, 2)), np.ones((1, 2)), None, np.array([[True, False]]))
        array([[1.]])
    """
    x, weight = np.asarray(x, dtype=np.float64), np.asarray(weight, dtype=np.float64)
    batch, (out, inp) = x.shape[0], weight.shape
    y = np.zeros((batch, out))
    for n in range(batch):
        m = _mask_of(mask, n, 2)
        for o in range(out):
            total = 0.0
            for i in range(inp):
                if m[o, i]:
                    total += weight[o, i] * x[n, i]
            y[n, o] = total + (bias[o] if bias is not None else 0.0)
    return y


def dense_backward(x, weight, mask, G):
    """Gradients ``(dx, dW, db)`` of :func:`dense_forward` for the output gradient ``G``.

    ``dx[n, i] = sum_o M_n[o, i] W[o, i] G[n, o]``, ``dW[o, i] = sum_n M_n[o, i] G[n, o] x[n, i]``,
    ``db[o] = sum_n G[n, o]``.
    """
    x, weight, G = (np.asarray(a, dtype=np.float64) for a in (x, weight, G))
    batch, (out, inp) = x.shape[0], weight.shape
    dx, dW, db = np.zeros_like(x), np.zeros_like(weight), np.zeros(out)
    for n in range(batch):
        m = _mask_of(mask, n, 2)
        for o in range(out):
            db[o] += G[n, o]
            for i in range(inp):
                if m[o, i]:
                    dx[n, i] += weight[o, i] * G[n, o]
                    dW[o, i] += G[n, o] * x[n, i]
    return dx, dW, db


def dense_moments(x, weight, bias, p):
    """Mean and variance of the DropConnect pre-activation over the masks.

    Example:
        >>> mu, var = dense_moments(np.ones((1, 2)), np.ones((1, 2)), None, 0.5)
        >>> mu, var
        (array([[1.]]), array([[0.5]]))
    """
    x, weight = np.asarray(x, dtype=np.float64), np.asarray(weight, dtype=np.float64)
    batch, (out, inp) = x.shape[0], weight.shape
    mu, var = np.zeros((batch, out)), np.zeros((batch, out))
    for n in range(batch):
        for o in range(out):
            for i in range(inp):
                mu[n, o] += (1 - p) * weight[o, i] * x[n, i]
                var[n, o] += p * (1 - p) * weight[o, i] ** 2 * x[n, i] ** 2
            mu[n, o] += bias[o] if bias is not None else 0.0
    return mu, var


def conv_forward(x, weight, bias, mask, **conv_args) -> np.ndarray:
    """Example ``n`` convolved with ``M_n * W`` (or the shared mask), then the bias.

    ``conv_args``: stride, padding, dilation, groups, padding_mode, flip as for
    :func:`cnnkit.reference.conv.conv`.
    """
    x, weight = np.asarray(x, dtype=np.float64), np.asarray(weight, dtype=np.float64)
    outs = []
    for n in range(x.shape[0]):
        kernel = weight * _mask_of(mask, n, weight.ndim)
        outs.append(ref_conv.conv(x[n:n + 1], kernel, bias, **conv_args))
    return np.concatenate(outs, axis=0)


def conv_backward(x, weight, mask, G, untied: bool = False, **conv_args):
    """Gradients ``(dx, dW, db)`` of :func:`conv_forward`: per example, the kernel
    gradient masked by ``M_n`` and the input gradient through ``M_n * W``."""
    x, weight, G = (np.asarray(a, dtype=np.float64) for a in (x, weight, G))
    dx, dW = np.zeros_like(x), np.zeros_like(weight)
    for n in range(x.shape[0]):
        m = _mask_of(mask, n, weight.ndim)
        dW += m * ref_conv.kernel_grad(G[n:n + 1], x[n:n + 1], weight.shape[2:], **conv_args)
        dx[n:n + 1] = ref_conv.input_grad(weight * m, G[n:n + 1], x.shape[2:], **conv_args)
    return dx, dW, ref_conv.bias_grad(G, untied)


def conv_moments(x, weight, bias, p, **conv_args):
    """Mean and variance of the DropConnect convolution's pre-activation over the masks:
    ``mu = conv(x, (1 - p) W) + b``, ``var = p (1 - p) conv(x^2, W^2)``."""
    x, weight = np.asarray(x, dtype=np.float64), np.asarray(weight, dtype=np.float64)
    mu = ref_conv.conv(x, (1 - p) * weight, bias, **conv_args)
    var = p * (1 - p) * ref_conv.conv(x * x, weight * weight, None, **conv_args)
    return mu, var
