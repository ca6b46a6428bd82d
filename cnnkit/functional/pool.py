"""Pooling in 1-D, 2-D and 3-D: max, average, Lp, global and adaptive.

Goodfellow et al. 2016 (section 9.3) name max pooling, the average of a rectangular neighbourhood,
the L2 norm of a rectangular neighbourhood, and pooling with a stride larger than one
(fig 9.10) or with regions that scale with the input (fig 9.11: adaptive pooling).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, to_tuple
from . import shapes
from .conv import pad, spatial_rank

__all__ = [
    "adaptive_avg_pool",
    "adaptive_max_pool",
    "avg_pool",
    "global_avg_pool",
    "global_lp_pool",
    "global_max_pool",
    "lp_pool",
    "max_pool",
    "pool_geometry",
    "window_sum",
]

_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
_ADAPTIVE_MAX = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}
_ADAPTIVE_AVG = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}


def pool_geometry(x, kernel, stride, padding, dilation, ceil_mode=False, who="pool"):
    """Check and resolve a pooling window: returns (n, kernel, stride, pairs, dilation, out)."""
    n = spatial_rank(x, who)
    kernel = to_tuple(kernel, n, "kernel")
    stride = kernel if stride is None else to_tuple(stride, n, "stride")
    dilation = to_tuple(dilation, n, "dilation")
    padding = shapes.normalize_padding(padding, n)
    size = tuple(x.shape[2:])
    pairs = shapes.padding_pairs(padding, kernel, stride, dilation, size)
    out = shapes.conv_output_shape(size, kernel, stride, pairs, dilation, ceil_mode=ceil_mode)
    return n, kernel, stride, pairs, dilation, out


def _torch_can_pad(pairs, kernel) -> bool:
    # PyTorch's pooling kernels take symmetric padding of at most half the window.
    return all(lo == hi and lo <= k // 2 for (lo, hi), k in zip(pairs, kernel))


def max_pool(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False,
             return_indices=False):
    """Max pooling (Goodfellow et al. 2016, section 9.3): the maximum over each window.

    Args:
        x: input ``(N, C, *spatial)`` with 1, 2 or 3 spatial dimensions.
        kernel: window size, int or one per dimension.
        stride: step between windows; defaults to ``kernel`` (non-overlapping). A stride
            smaller than the window gives overlapping pooling (AlexNet: 3, stride 2).
        padding: as for convolution; padded positions never win (they hold -inf).
        dilation: spacing between window elements.
        ceil_mode: keep a last, partial window.

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *O)``, O as for a convolution with the same window.

    Example:
        >>> max_pool(torch.arange(16.).view(1, 1, 4, 4), 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
    """
    n, kernel, stride, pairs, dilation, out = pool_geometry(x, kernel, stride, padding, dilation,
                                                            ceil_mode, "max_pool")
    if _torch_can_pad(pairs, kernel):
        return _MAX[n](x, kernel, stride, tuple(lo for lo, _ in pairs), dilation, ceil_mode,
                       return_indices)
    if return_indices:
        raise ArgumentError(
            "return_indices=True needs symmetric padding of at most half the window. "
            f"Received: padding={pairs}, kernel={kernel}."
        )
    padded = pad(x, pairs, "zeros", value=-math.inf)
    pooled = _MAX[n](padded, kernel, stride, 0, dilation, ceil_mode)
    # On the pre-padded input PyTorch's ceil_mode keeps a last window that starts in the
    # high padding (all -inf); the shape rule (shapes.conv_output_size) does not.
    return pooled[(Ellipsis,) + tuple(slice(0, o) for o in out)]


def window_sum(x, kernel, stride, pairs, dilation, ceil_mode=False, pad_value=0.0):
    """Sum over each window of ``x`` padded by ``pairs`` (filled with ``pad_value``).

    Any padding and dilation. With ``ceil_mode`` the last window may run past the padded
    input; positions past its end add nothing. Uses PyTorch's average pooling where it
    gives the sum exactly (zero padding, no ceil_mode: its partial windows divide by a
    clipped count), else a depthwise convolution with a kernel of ones.
    """
    n = x.dim() - 2
    if (not ceil_mode and pad_value == 0 and all(d == 1 for d in dilation)
            and _torch_can_pad(pairs, kernel)):
        avg = _AVG[n](x, kernel, stride, tuple(lo for lo, _ in pairs), False, True)
        return avg * math.prod(kernel)
    size = tuple(x.shape[2:])
    out = shapes.conv_output_shape(size, kernel, stride, pairs, dilation, ceil_mode=ceil_mode)
    padded = pad(x, pairs, "zeros", value=pad_value)
    # Zeros past the padded end turn ceil_mode's partial last windows into whole ones.
    extra = [max((o - 1) * s + shapes.effective_kernel(k, d) - p, 0)
             for o, s, k, d, p in zip(out, stride, kernel, dilation, padded.shape[2:])]
    padded = pad(padded, [(0, e) for e in extra])
    batch, channels = x.shape[:2]
    flat = padded.reshape(batch * channels, 1, *padded.shape[2:])
    ones = x.new_ones((1, 1, *kernel))
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[n]
    summed = conv(flat, ones, None, stride, 0, dilation)
    summed = summed[(Ellipsis,) + tuple(slice(0, o) for o in out)]
    return summed.reshape(batch, channels, *out)


def avg_pool(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False,
             count_include_pad=False):
    """Average pooling: the mean over each window.

    Args:
        count_include_pad: divide by the full window size even where it overlaps padding.
            The default divides by the number of real input elements in the window, so
            that padding never drags a border average towards zero.

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *O)``, O as for :func:`max_pool`.

    Example:
        >>> avg_pool(torch.ones(1, 1, 3, 3), 2, stride=1, padding="same")
        tensor([[[[1., 1., 1.],
                  [1., 1., 1.],
                  [1., 1., 1.]]]])
    """
    n, kernel, stride, pairs, dilation, _ = pool_geometry(x, kernel, stride, padding, dilation,
                                                          ceil_mode, "avg_pool")
    if all(d == 1 for d in dilation) and _torch_can_pad(pairs, kernel):
        return _AVG[n](x, kernel, stride, tuple(lo for lo, _ in pairs), ceil_mode,
                       count_include_pad)
    total = window_sum(x, kernel, stride, pairs, dilation, ceil_mode)
    if not ceil_mode and (count_include_pad or not any(p for pair in pairs for p in pair)):
        return total / math.prod(kernel)
    # Count the positions each window covers: input and padding (count_include_pad) or
    # input only; a ceil_mode window's positions past the padded end never count.
    ones = x.new_ones((1, 1, *x.shape[2:]))
    return total / window_sum(ones, kernel, stride, pairs, dilation, ceil_mode,
                              pad_value=1.0 if count_include_pad else 0.0)


def lp_pool(x, p=2.0, kernel=2, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Lp pooling: ``(sum over the window of |x|^p)^(1/p)``; p=2 is the L2 norm of
    Goodfellow et al. 2016, section 9.3.

    ``p = inf`` gives the maximum of ``|x|``. Padding contributes zeros. The gradient at
    an all-zero window is defined as zero (not NaN).

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *O)``, O as for :func:`max_pool`.

    Example:
        >>> lp_pool(torch.tensor([[[3., 4.]]]), 2, kernel=2)
        tensor([[[5.]]])
    """
    _check_p(p)
    n, kernel, stride, pairs, dilation, _ = pool_geometry(x, kernel, stride, padding, dilation,
                                                          ceil_mode, "lp_pool")
    if math.isinf(p):
        return max_pool(x.abs(), kernel, stride, pairs, dilation, ceil_mode)
    total = window_sum(_abs_pow(x, p), kernel, stride, pairs, dilation, ceil_mode)
    return _root(total, p)


def _check_p(p):
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise ArgumentTypeError(f"p must be a number. Received: p={p!r}.")
    if not p > 0:
        raise ArgumentError(f"p must be positive (p=2 is L2 pooling). Received: p={p!r}.")


def _abs_pow(x, p):
    """``|x|^p`` whose gradient at ``x = 0`` is 0 for every p (for p < 1 the derivative
    ``p |x|^(p-1)`` is infinite there, and infinity times a zero upstream is NaN)."""
    nonzero = x != 0
    safe = torch.where(nonzero, x.abs(), torch.ones_like(x))
    return torch.where(nonzero, safe.pow(p), torch.zeros_like(x))


def _root(total, p):
    """``total^(1/p)``, with gradient 0 (not NaN) where ``total = 0``."""
    positive = total > 0
    # Double `where` so that the infinite derivative of s^(1/p) at s = 0 never enters.
    safe = torch.where(positive, total, torch.ones_like(total))
    return torch.where(positive, safe.pow(1.0 / p), torch.zeros_like(total))


def _spatial_dims(x, who):
    return tuple(range(2, 2 + spatial_rank(x, who)))


def global_max_pool(x, keepdim=False):
    """Maximum over all spatial positions (global pooling; Wikipedia, "Convolutional neural
    network").

    Shape:
        ``(N, C, *W)`` -> ``(N, C)``, or ``(N, C, 1, ...)`` with ``keepdim``.

    Example:
        >>> global_max_pool(torch.arange(8.).view(1, 2, 4))
        tensor([[3., 7.]])
    """
    return x.amax(dim=_spatial_dims(x, "global_max_pool"), keepdim=keepdim)


def global_avg_pool(x, keepdim=False):
    """Mean over all spatial positions (global average pooling, as in GoogLeNet).

    Shape:
        ``(N, C, *W)`` -> ``(N, C)``, or ``(N, C, 1, ...)`` with ``keepdim``.
    """
    return x.mean(dim=_spatial_dims(x, "global_avg_pool"), keepdim=keepdim)


def global_lp_pool(x, p=2.0, keepdim=False):
    """Lp norm over all spatial positions; ``p = inf`` gives the maximum of ``|x|``.

    As for :func:`lp_pool`, an all-zero channel has gradient zero (not NaN).

    Shape:
        ``(N, C, *W)`` -> ``(N, C)``.

    Example:
        >>> global_lp_pool(torch.tensor([[[3., -4.], [0., 0.]]]), 2)
        tensor([[5., 0.]])
        >>> global_lp_pool(torch.tensor([[[3., -4.]]]), float("inf"))
        tensor([[4.]])
    """
    _check_p(p)
    dims = _spatial_dims(x, "global_lp_pool")
    if math.isinf(p):
        return x.abs().amax(dim=dims, keepdim=keepdim)
    return _root(_abs_pow(x, p).sum(dim=dims, keepdim=keepdim), p)


def _adaptive(table, x, output_size, who):
    n = spatial_rank(x, who)
    output_size = to_tuple(output_size, n, "output_size")
    return table[n](x, output_size)


def adaptive_max_pool(x, output_size):
    """Max pooling to a fixed output size whatever the input size (Goodfellow et al. 2016,
    fig. 9.11).

    Window ``i`` along a dimension of size W covers ``[floor(i W / O), ceil((i + 1) W / O))``.

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *output_size)``.

    Example:
        >>> adaptive_max_pool(torch.randn(2, 3, 13, 17), 4).shape
        torch.Size([2, 3, 4, 4])
    """
    return _adaptive(_ADAPTIVE_MAX, x, output_size, "adaptive_max_pool")


def adaptive_avg_pool(x, output_size):
    """Average pooling to a fixed output size; windows as in :func:`adaptive_max_pool`.

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *output_size)``.
    """
    return _adaptive(_ADAPTIVE_AVG, x, output_size, "adaptive_avg_pool")
