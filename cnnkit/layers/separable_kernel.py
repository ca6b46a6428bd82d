"""Convolution layer whose kernels are rank-``r`` separable (Goodfellow et al. 2016,
section 9.8).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from .._validation import ShapeError
from ..functional import shapes
from ..functional.separable_kernel import (separable_approximation, separable_kernel,
                                           separable_kernel_conv)
from ._base import Layer, rank_alias
from .kinds import Count, Flag
from .conv import SlidingKernel

__all__ = ["SeparableKernelConv", "SeparableKernelConv1d", "SeparableKernelConv2d",
           "SeparableKernelConv3d"]


class SeparableKernelConv(SlidingKernel):
    """Convolution whose every kernel is a sum of ``r`` outer products of 1-D vectors.

    The parameters are the vectors: ``factors[i]`` of shape ``(r, C_out, C_in / groups, K_i)``,
    ``r * sum(K)`` numbers per kernel instead of ``prod(K)``; the forward pass runs ``d``
    one-dimensional convolutions (:func:`cnnkit.functional.separable_kernel_conv`).
    (Not to be confused with :class:`cnnkit.layers.SeparableConv`, which separates the
    channels, depthwise then pointwise.)

    Args:
        in_channels, out_channels, kernel, stride, padding, dilation, groups, padding_mode,
            flip: as for :class:`cnnkit.layers.Conv`.
        rank: number of separable terms ``r`` per kernel.
        bias: one bias per output channel, or False.
        assemble: compute with the assembled kernel (one ordinary convolution) instead of
            ``d`` one-dimensional passes; the same map, faster for many channels and small
            kernels (:func:`cnnkit.functional.separable_kernel_conv`).
        dims: number of spatial dimensions (1, 2 or 3).

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``, O as for a convolution.

    Raises:
        ArgumentError, ArgumentTypeError: invalid settings, named.

    Example:
        >>> layer = SeparableKernelConv2d(1, 4, 9, rank=2, padding="same")
        >>> layer(torch.randn(2, 1, 16, 16)).shape
        torch.Size([2, 4, 16, 16])
        >>> tuple(layer.full_kernel().shape), sum(p.numel() for p in layer.factors)
        ((4, 1, 9, 9), 144)
    """

    kinds = {**SlidingKernel.kinds, "rank": Count(), "bias": Flag(), "flip": Flag(),
             "assemble": Flag()}

    def __init__(self, in_channels, out_channels, kernel, rank=1, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", flip=False, assemble=False, *, dims=2):
        Layer.__init__(self, locals())

    @classmethod
    def param_count(cls, settings, shape, out):
        return shapes.separable_kernel_params(shape[0], settings["out_channels"],
                                              settings["kernel"], settings["rank"],
                                              settings["groups"], settings["bias"])

    @classmethod
    def flop_count(cls, settings, shape, out):
        return shapes.separable_kernel_flops(shape[0], settings["out_channels"],
                                             settings["kernel"], settings["rank"], out[1:],
                                             settings["groups"])

    def create(self) -> None:
        s = self._settings
        per_group = s["in_channels"] // s["groups"]
        self.factors = nn.ParameterList(
            [nn.Parameter(torch.empty(s["rank"], s["out_channels"], per_group, k))
             for k in s["kernel"]])
        self.bias = nn.Parameter(torch.empty(s["out_channels"])) if s["bias"] else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Factors uniform with the variance that gives the assembled kernel the variance of
        ``torch.nn.Conv2d``'s default, ``1 / (3 fan_in)``: each kernel entry is a sum of ``r``
        products of ``d`` independent factors, of variance ``r v^d``."""
        fan_in = (self.in_channels // self.groups) * math.prod(self.kernel)
        var = (1.0 / (3.0 * fan_in * self.rank)) ** (1.0 / self.dims)
        bound = math.sqrt(3.0 * var)
        for f in self.factors:
            nn.init.uniform_(f, -bound, bound)
        if self.bias is not None:
            b = 1.0 / math.sqrt(fan_in)
            nn.init.uniform_(self.bias, -b, b)

    def full_kernel(self) -> torch.Tensor:
        """The assembled kernel ``(C_out, C_in / groups, *K)`` (for inspection, or a Conv)."""
        return separable_kernel(list(self.factors))

    @torch.no_grad()
    def load_kernel_(self, weight: torch.Tensor) -> "SeparableKernelConv":
        """Set the factors to the best rank-``r`` approximation of a full 2-D (or 1-D) weight.

        Raises:
            ShapeError: a weight of another shape than ``full_kernel()``'s.
        """
        expected = (self.out_channels, self.in_channels // self.groups, *self.kernel)
        if tuple(weight.shape) != expected:
            raise ShapeError(
                f"load_kernel_ needs a weight of shape {expected}. Received: weight.shape="
                f"{tuple(weight.shape)}."
            )
        if self.dims == 1:
            self.factors[0].zero_()
            self.factors[0][0].copy_(weight)
            return self
        for f, new in zip(self.factors, separable_approximation(weight, self.rank)):
            f.copy_(new)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        return separable_kernel_conv(x, list(self.factors), self.bias, self.stride, self.padding,
                                     self.dilation, self.groups, self.padding_mode, self.flip,
                                     self.assemble)


SeparableKernelConv1d = rank_alias(SeparableKernelConv, 1)
SeparableKernelConv2d = rank_alias(SeparableKernelConv, 2)
SeparableKernelConv3d = rank_alias(SeparableKernelConv, 3)
