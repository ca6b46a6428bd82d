"""The neocognitron's S-cell layer (Fukushima 1980): shape detectors inhibited by the
energy of their input window."""

from __future__ import annotations


import torch
import torch.nn as nn

from ..functional import shapes
from ..functional.s_cell import s_cell
from ._base import Layer, rank_alias
from .conv import SlidingKernel
from .kinds import Number

__all__ = ["SCell", "SCell1d", "SCell2d", "SCell3d"]


class SCell(SlidingKernel):
    """S-cells: ``max(0, a . x - threshold * |x|)`` over every window, ``|x|`` the window's
    norm over all input maps (a V-cell); see :mod:`cnnkit.functional.s_cell`.

    The kernels start as random non-negative unit vectors. In a neocognitron they are
    learned without labels (:func:`cnnkit.features.neocognitron.learn_s_cells`) and then
    kept fixed; gradients reach them like any convolution's if they are left trainable.

    Args:
        in_channels: input maps (C-cell planes of the stage before, or the image).
        out_channels: S-cell planes, one kernel each.
        kernel: kernel size, int or one per dimension.
        threshold: selectivity in ``[0, 1)``: the smallest cosine between kernel and window
            that makes a cell fire.
        stride, padding, dilation: as for :class:`cnnkit.layers.Conv` (zero padding).
        dims: number of spatial dimensions (1, 2 or 3).

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``, O as for a convolution.

    Example:
        >>> layer = SCell2d(1, 8, 5, padding="same")
        >>> out = layer(torch.rand(2, 1, 28, 28))
        >>> out.shape, bool((out >= 0).all())
        (torch.Size([2, 8, 28, 28]), True)
    """

    kinds = {**SlidingKernel.kinds,
             "threshold": Number(0, 1, open_high=True, what="the smallest cosine that fires")}

    def __init__(self, in_channels, out_channels, kernel, threshold=0.5, stride=1, padding=0,
                 dilation=1, *, dims=2):
        Layer.__init__(self, locals())

    @classmethod
    def param_count(cls, settings, shape, out):
        return shapes.conv_params(shape[0], settings["out_channels"], settings["kernel"],
                                  bias=False)

    @classmethod
    def flop_count(cls, settings, shape, out):
        # the S-cells' kernels, and one squared input per kernel tap for the V-cell
        return shapes.conv_flops(shape[0], (settings["out_channels"] + 1, *out[1:]),
                                 settings["kernel"])

    def create(self) -> None:
        self.groups = 1
        self.padding_mode = "zeros"
        weight = torch.rand(self.out_channels, self.in_channels, *self.kernel)
        weight = weight / weight.flatten(1).norm(dim=1).view(-1, *[1] * (weight.dim() - 1))
        self.weight = nn.Parameter(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        return s_cell(x, self.weight, self.threshold, self.stride, self.padding, self.dilation)


SCell1d = rank_alias(SCell, 1)
SCell2d = rank_alias(SCell, 2)
SCell3d = rank_alias(SCell, 3)
