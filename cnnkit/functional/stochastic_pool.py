"""Stochastic pooling (Zeiler and Fergus 2013), 1-D, 2-D and 3-D.

A regulariser listed by the Wikipedia article "Convolutional neural network".

Each window's non-negative activations ``a_i`` define a multinomial ``p_i = a_i / sum_j a_j``.

* Training: the output is one activation ``a_k`` drawn with probability ``p_k``; an
  all-zero window gives 0. The gradient flows to the sampled element only (to none in an
  all-zero window, whose output is the constant 0).
* Inference: the probability-weighted average ``sum_i p_i a_i = sum a_i^2 / sum a_i``, a
  smooth pooling between average and max; its gradient flows through that expression.

The sample is drawn by inverting the window's cumulative distribution: with
``u ~ U[0, 1)`` per output, the chosen element is the first ``k`` with
``c_k > u * c_last``, ``c`` the running sum over the window. Zero activations never grow
the running sum, so they are never chosen. The windows are a strided view of the input
(``unfold``), copied once tap-major; a loop over the ``prod(K)`` taps (not over samples)
keeps the running sum and counts the taps not yet past the threshold, with tensors the size
of the output; the output is then a gather from the input, whose backward is a scatter of
``N * C * prod(O)`` values.
The same code runs on CPU and GPU.

Zero padding adds zero activations, which are never drawn and do not change ``sum a_i``.
"""

from __future__ import annotations

import math

import torch

from .._validation import ArgumentError, ShapeError
from .conv import pad
from .pool import pool_geometry, window_sum

__all__ = ["stochastic_pool", "stochastic_pool_weighted"]


def _check_non_negative(x):
    if x.numel() and bool((x < 0).any()):
        low = float(x.detach().min())
        raise ArgumentError(
            "stochastic pooling expects non-negative inputs (p_i = a_i / sum a is a probability "
            f"only for a_i >= 0). Received: an input whose minimum is {low:.4g}. Apply a ReLU "
            "(or another non-negative activation) before the pooling."
        )


def _ceil_pairs(size, kernel, stride, pairs, dilation, out):
    """Extend the high padding so that the floor rule yields ``out`` windows (ceil_mode)."""
    result = []
    for w, k, s, (lo, hi), d, o in zip(size, kernel, stride, pairs, dilation, out):
        need = (o - 1) * s + d * (k - 1) + 1 - (w + lo + hi)
        result.append((lo, hi + max(need, 0)))
    return tuple(result)


def _windows(padded, kernel, stride, dilation):
    """Strided view ``(N, C, *O, *K)`` of every window (no copy)."""
    view = padded
    for axis, (k, s, d) in enumerate(zip(kernel, stride, dilation)):
        view = view.unfold(2 + axis, d * (k - 1) + 1, s)
        if d > 1:
            view = view[..., ::d]
    return view


def _flat_offsets(padded_size, kernel, dilation, device):
    """Offset of each window tap in the flattened padded input, ``(prod K,)``."""
    steps = [math.prod(padded_size[a + 1:]) for a in range(len(padded_size))]
    grids = torch.meshgrid(*[torch.arange(k, device=device) * d * st
                             for k, d, st in zip(kernel, dilation, steps)], indexing="ij")
    return sum(grids).reshape(-1)


def _window_starts(padded_size, out, stride, device):
    """Flat index of each window's first element in the padded input, ``(prod O,)``."""
    steps = [math.prod(padded_size[a + 1:]) for a in range(len(padded_size))]
    grids = torch.meshgrid(*[torch.arange(o, device=device) * s * st
                             for o, s, st in zip(out, stride, steps)], indexing="ij")
    return sum(grids).reshape(-1)


def stochastic_pool_weighted(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Inference rule of stochastic pooling: ``sum a_i^2 / sum a_i`` over each window.

    Two window sums (average pooling kernels), so it costs about two average poolings.
    An all-zero window gives 0 with a zero gradient.

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *O)``, O as for :func:`max_pool`.

    Example:
        >>> stochastic_pool_weighted(torch.tensor([[[1., 3., 0., 0.]]]), 2)
        tensor([[[2.5000, 0.0000]]])
    """
    return stochastic_pool(x, kernel, stride, padding, dilation, ceil_mode, training=False)


def stochastic_pool(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False, *,
                    training: bool = True, generator=None, uniform=None,
                    return_indices: bool = False):
    """Stochastic pooling: sample one activation per window in proportion to its value.

    Args:
        x: non-negative input ``(N, C, *W)`` with 1, 2 or 3 spatial dimensions (e.g. the
            output of a ReLU).
        kernel: window size, int or one per dimension.
        stride: step between windows; defaults to ``kernel``.
        padding: as for convolution; padded positions hold zeros and are never drawn.
        dilation: spacing between window elements.
        ceil_mode: keep a last, partial window.
        training: sample (True) or return the probability-weighted average (False).
        generator: ``torch.Generator`` for the uniform draws (on ``x``'s device).
        uniform: explicit uniforms in [0, 1), one per output ``(N, C, *O)``, instead of
            drawing them (tests, replay).
        return_indices: in training, also return the flat index of each sampled element
            in the input's spatial dimensions (-1 for an all-zero window).

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *O)``, ``O = floor((W + P_lo + P_hi - E) / S) + 1``.
        Training reads ``N * C * prod(O) * prod(K)`` window values (a strided view).

    Raises:
        ArgumentError: a negative input value, or invalid window settings.
        ShapeError: wrong input rank, or a window larger than the padded input.

    Example:
        >>> x = torch.tensor([[[0., 2., 0., 0., 5., 0.]]])
        >>> stochastic_pool(x, 3)   # one non-zero per window: always drawn
        tensor([[[2., 5.]]])
        >>> stochastic_pool(torch.tensor([[[1., 3.]]]), 2, training=False)
        tensor([[[2.5000]]])
    """
    n, kernel, stride, pairs, dilation, out = pool_geometry(
        x, kernel, stride, padding, dilation, ceil_mode, "stochastic_pool")
    _check_non_negative(x)
    size = tuple(x.shape[2:])
    if ceil_mode:
        pairs = _ceil_pairs(size, kernel, stride, pairs, dilation, out)
    if not training:
        total = window_sum(x, kernel, stride, pairs, dilation)
        squares = window_sum(x * x, kernel, stride, pairs, dilation)
        # An all-zero window has total = squares = 0: divide by 1 there instead, which
        # gives 0 with a zero gradient (no 0 / 0 in the forward or backward pass).
        return squares / (total + (total == 0).to(total.dtype))
    batch, channels = x.shape[:2]
    padded = pad(x, pairs)
    padded_size = tuple(padded.shape[2:])
    expected = (batch, channels, *out)
    if uniform is None:
        uniform = torch.rand(expected, dtype=x.dtype, device=x.device, generator=generator)
    elif tuple(uniform.shape) != expected:
        raise ShapeError(
            f"stochastic_pool: uniform must have the output shape {expected}. "
            f"Received: uniform.shape={tuple(uniform.shape)}."
        )
    with torch.no_grad():
        # The taps, row-major, each one contiguous output-sized tensor: one copy of the
        # strided windows (tap-major), after which the running sum walks the taps with fast
        # contiguous additions (additions on the strided views themselves are several
        # times slower).
        view = _windows(padded.detach(), kernel, stride, dilation)
        spatial = list(range(2, 2 + n))
        taps = view.permute(*[2 + n + a for a in range(n)], 0, 1, *spatial).contiguous()
        taps = taps.view(-1, *expected)
        total = taps[0].clone()
        for tap in taps[1:]:
            total += tap
        # u * total < total in exact arithmetic; rounding (or a float64 u near 1 cast to
        # float32) can reach total, which would let a trailing zero tap win.
        threshold = torch.minimum(uniform.to(total.dtype) * total,
                                  torch.nextafter(total, torch.zeros_like(total)))
        # The drawn tap is the first whose running sum exceeds u * total: count the taps
        # whose running sum does not. Taps with a_i = 0 never qualify. The running sum
        # repeats the additions of `total` in the same order, so it ends exactly there.
        running = torch.zeros_like(total)
        choice = torch.zeros(expected, dtype=torch.uint8 if len(taps) < 255 else torch.int32,
                             device=x.device)
        for tap in taps:
            running += tap
            choice += running <= threshold
        choice = choice.long().clamp_max_(len(taps) - 1)
        positive = total > 0
        offsets = _flat_offsets(padded_size, kernel, dilation, x.device)
        starts = _window_starts(padded_size, out, stride, x.device).view(1, 1, *out)
        index = starts + offsets[choice]
    picked = padded.reshape(batch, channels, -1).gather(2, index.reshape(batch, channels, -1))
    picked = picked.view(expected)
    # All-zero windows output 0 and pass no gradient.
    result = picked * positive.to(picked.dtype)
    if not return_indices:
        return result
    with torch.no_grad():
        # Map the padded flat index back to the unpadded input.
        coords = []
        rest = index
        for axis in reversed(range(n)):
            coords.append(rest % padded_size[axis] - pairs[axis][0])
            rest = rest // padded_size[axis]
        coords.reverse()
        flat = torch.zeros_like(index)
        for axis in range(n):
            flat = flat * size[axis] + coords[axis]
        flat = torch.where(positive, flat, torch.full_like(flat, -1))
    return result, flat
