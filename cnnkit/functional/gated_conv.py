"""The gated activation unit of WaveNet: ``tanh(W_f * x) * sigmoid(W_g * x)``.

van den Oord et al. 2016 (WaveNet, eq. 2): a filter convolution ``W_f`` through tanh,
multiplied element-wise by a gate convolution ``W_g`` through the logistic sigmoid; the
gate decides how much of each filter output passes. Both convolutions read the same
input with the same kernel size, stride, padding and dilation, so they are computed as
one convolution with twice the filters: the first half is the filter, the second the gate.
"""

from __future__ import annotations

import torch

from .._validation import ShapeError
from .conv import conv

__all__ = ["gated_conv"]


def gated_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
               stride=1, padding=0, dilation=1, padding_mode: str = "zeros") -> torch.Tensor:
    """``tanh(W_f * x + b_f) * sigmoid(W_g * x + b_g)`` with ``W = [W_f; W_g]``.

    Args:
        x: input ``(N, C_in, *spatial)``.
        weight: the filter then the gate kernels ``(2 * C_out, C_in, *kernel)``.
        bias: ``(2 * C_out,)`` (filter then gate) or None.
        stride, padding, dilation, padding_mode: as for :func:`cnnkit.functional.conv`
            (WaveNet uses ``padding="causal"``).

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``, O as for a convolution.

    Raises:
        ShapeError: an odd number of kernels (they come in filter / gate pairs).

    Example:
        >>> x = torch.randn(2, 3, 16)
        >>> gated_conv(x, torch.randn(8, 3, 2), padding="causal", dilation=4).shape
        torch.Size([2, 4, 16])
    """
    if weight.shape[0] % 2:
        raise ShapeError(
            f"gated_conv takes the filter and the gate kernels stacked, 2 * C_out of them. "
            f"Received: weight.shape={tuple(weight.shape)} with {weight.shape[0]} kernels.",
            argument="weight")
    filt, gate = conv(x, weight, bias, stride, padding, dilation, 1, padding_mode).chunk(2, dim=1)
    return torch.tanh(filt) * torch.sigmoid(gate)
