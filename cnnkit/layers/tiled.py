"""Tiled convolution layer (Gregor and LeCun 2010; Goodfellow et al. 2016, eq. 9.10)."""

from __future__ import annotations

import torch
import torch.nn as nn

from ..functional import shapes
from ..functional.tiled import tiled_conv
from ._base import FROM_INPUT, Layer, rank_alias
from .kinds import Flag, PerDim
from .conv import SlidingKernel

__all__ = ["TiledConv", "TiledConv1d", "TiledConv2d", "TiledConv3d"]


class TiledConv(SlidingKernel):
    """Tiled convolution layer (Gregor and LeCun 2010; Goodfellow et al. 2016, eq. 9.10).

    ``t`` kernel stacks are cycled through along each spatial dimension (output ``p`` uses
    stack ``p % t``), with biases tiled the same way: between a convolution (``t = 1``)
    and a locally connected layer (``t`` = the output size), at ``prod(t)`` times the
    parameters of a convolution whatever the input size.

    Args:
        in_channels, out_channels, kernel, stride, padding, dilation, groups, padding_mode:
            as for :class:`cnnkit.layers.Conv`.
        tiles: ``t``, an int or one per dimension (``1 <= t <= O``).
        bias: biases ``(C_out, *t)`` tiled like the kernels, or False.
        input_size: optional spatial input size; when given, a ``t`` larger than the output
            fails at construction instead of at the first call.
        dims: number of spatial dimensions (1, 2 or 3).

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``, O as for a convolution; weight
        ``(*t, C_out, C_in / groups, *K)``.

    Raises:
        ArgumentError: ``tiles`` below 1; ShapeError: ``tiles`` above the output size.

    Example:
        >>> layer = TiledConv2d(3, 8, 3, tiles=2, padding="same")
        >>> layer(torch.randn(1, 3, 10, 10)).shape
        torch.Size([1, 8, 10, 10])
        >>> tuple(layer.weight.shape)
        (2, 2, 8, 3, 3, 3)
    """

    kinds = {**SlidingKernel.kinds, "tiles": PerDim(), "bias": Flag(),
             "input_size": PerDim(optional=True)}

    def __init__(self, in_channels, out_channels, kernel, tiles=2, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", input_size=None, *,
                 dims=2):
        Layer.__init__(self, locals())

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        out = super().output_shape(settings, shape, source)
        shapes.check_tiles(settings["tiles"], out[1:])
        return out

    @classmethod
    def param_count(cls, settings, shape, out):
        return shapes.tiled_params(shape[0], settings["out_channels"], settings["kernel"],
                                   settings["tiles"], settings["groups"], settings["bias"])

    def create(self) -> None:
        s = self._settings
        if s["input_size"] is not None:
            self.spatial_output(s["input_size"])  # tiles larger than the output fail now
        self.weight = nn.Parameter(torch.empty(shapes.tiled_weight_shape(
            s["in_channels"], s["out_channels"], s["kernel"], s["tiles"], s["groups"])))
        self.bias = nn.Parameter(torch.empty(s["out_channels"], *s["tiles"])) if s["bias"] else None
        self.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        return tiled_conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                          self.groups, self.padding_mode)


TiledConv1d = rank_alias(TiledConv, 1)
TiledConv2d = rank_alias(TiledConv, 2)
TiledConv3d = rank_alias(TiledConv, 3)
