"""LeNet's subsampling: each window's sum times a learned coefficient, plus a learned bias.

LeCun et al. 1998 (section II-B, layers S2 and S4): "The four inputs to a unit in S2 are
added, then multiplied by a trainable coefficient, and added to a trainable bias." There
is one coefficient and one bias per feature map, so a subsampling layer has two
parameters per channel. Windows do not overlap by default (stride = window).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .._validation import ShapeError, to_tuple
from . import shapes
from .conv import check_input

__all__ = ["subsample"]

_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def subsample(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, kernel,
              stride=None) -> torch.Tensor:
    """``out[n, c, o] = weight[c] * sum_{k in window(o)} x[n, c, k] + bias[c]``.

    Args:
        x: input ``(N, C, *spatial)`` with 1, 2 or 3 spatial dimensions.
        weight: one coefficient per channel ``(C,)``.
        bias: one bias per channel ``(C,)``, or None.
        kernel: window size, int or one per dimension.
        stride: int or one per dimension (default: the window, as in LeNet-5).

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *O)``, ``O = floor((W - K) / S) + 1``.

    Raises:
        ShapeError: a wrong input rank, a coefficient count other than the channels, or a
            window larger than the input.

    Example:
        >>> x = torch.arange(16.0).view(1, 1, 4, 4)
        >>> subsample(x, torch.tensor([0.5]), torch.tensor([1.0]), 2)
        tensor([[[[ 6., 10.],
                  [22., 26.]]]])
    """
    n = x.dim() - 2
    if n not in _AVG:
        check_input(x, 2, None, "subsample")
    channels = x.shape[1]
    for name, tensor in (("weight", weight), ("bias", bias)):
        if tensor is not None and tuple(tensor.shape) != (channels,):
            raise ShapeError(
                f"subsample takes one {name} value per channel: shape ({channels},) for an input "
                f"of {channels} channels. Received: {name}.shape={tuple(tensor.shape)}.",
                argument=name)
    kernel = to_tuple(kernel, n, "kernel")
    stride = kernel if stride is None else to_tuple(stride, n, "stride")
    shapes.conv_output_shape(tuple(x.shape[2:]), kernel, stride, "valid", (1,) * n, what="size")
    # The window mean times the window size is its sum (no padding: every window is whole).
    sums = _AVG[n](x, kernel, stride) * math.prod(kernel)
    view = (1, channels) + (1,) * n
    out = sums * weight.view(view)
    return out if bias is None else out + bias.view(view)
