"""WaveNet's gated convolution: ``tanh(W_f * x) * sigmoid(W_g * x)`` (van den Oord et al. 2016)."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from ..functional import shapes
from ..functional.gated_conv import gated_conv
from ._base import Layer, rank_alias
from .conv import SHARED_OR_NONE, SlidingKernel

__all__ = ["GatedConv", "GatedConv1d", "GatedConv2d", "GatedConv3d"]


class GatedConv(SlidingKernel):
    """A gated activation unit (van den Oord et al. 2016, eq. 2): a filter and a gate
    convolution of the same input, ``tanh(filter) * sigmoid(gate)``.

    Args:
        in_channels: channels of the input.
        out_channels: gated outputs (the layer holds twice as many kernels).
        kernel: kernel size, int or one per dimension (WaveNet: 2).
        stride, dilation, padding_mode: as for :class:`cnnkit.layers.Conv`.
        padding: as for :class:`cnnkit.layers.Conv`; WaveNet uses ``"causal"``.
        bias: ``"shared"`` (one per filter and per gate channel) or ``"none"``.
        dims: number of spatial dimensions (1, 2 or 3).

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``, O as for a convolution.

    Example:
        >>> layer = GatedConv1d(1, 16, 2, padding="causal", dilation=8)
        >>> layer(torch.randn(4, 1, 100)).shape, sum(p.numel() for p in layer.parameters())
        (torch.Size([4, 16, 100]), 96)
    """

    kinds = {**SlidingKernel.kinds, "bias": SHARED_OR_NONE}

    def __init__(self, in_channels, out_channels, kernel, stride=1, padding=0, dilation=1,
                 bias="shared", padding_mode="zeros", *, dims=2):
        Layer.__init__(self, locals())

    @classmethod
    def param_count(cls, settings, shape, out):
        return 2 * shapes.conv_params(shape[0], settings["out_channels"], settings["kernel"],
                                      bias=settings["bias"] == "shared")

    @classmethod
    def flop_count(cls, settings, shape, out):
        return 2 * shapes.conv_flops(shape[0], out, settings["kernel"])

    def fan_in(self) -> int:
        return self.in_channels * math.prod(self.kernel)

    def create(self) -> None:
        self.groups = 1
        kernels = 2 * self.out_channels
        self.weight = nn.Parameter(torch.empty(kernels, self.in_channels, *self.kernel))
        shared = self._settings["bias"] == "shared"
        self.bias = nn.Parameter(torch.empty(kernels)) if shared else None
        self.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        return gated_conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                          self.padding_mode)


GatedConv1d = rank_alias(GatedConv, 1, "1-D :class:`GatedConv` (WaveNet's causal layers).")
GatedConv2d = rank_alias(GatedConv, 2)
GatedConv3d = rank_alias(GatedConv, 3)
