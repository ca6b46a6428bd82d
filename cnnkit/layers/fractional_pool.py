"""Fractional max pooling (Graham 2014). The maths is in
:mod:`cnnkit.functional.fractional_pool`."""

from __future__ import annotations

import torch  # noqa: F401  (the docstring examples use it)

from .._validation import ArgumentError, ShapeError
from ..functional import shapes
from ..functional.conv import check_input
from ..functional.fractional_pool import fractional_max_pool
from ._base import FROM_INPUT, Layer
from .kinds import Flag, PerDim, Ratio

__all__ = ["FractionalMaxPool"]


class FractionalMaxPool(Layer):
    """Fractional max pooling: shrink each spatial dimension by ``alpha`` in (1, 2) with
    random or pseudo-random regions, drawn afresh for every example and call (Graham 2014
    averages several passes at test time). See
    :func:`cnnkit.functional.fractional_pool.fractional_max_pool`.

    Args:
        ratio: ``alpha`` in (1, 2), one or one per dimension; or give ``output_size``.
        output_size: a fixed output size instead of a ratio.
        overlapping: overlapping regions ``[a_{i-1}, a_i]`` instead of disjoint ones.
        pseudo_random: the ``ceil(alpha (i + u))`` sequences; False for random ones.
        dims: number of spatial dimensions (1, 2 or 3).

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *O)``, ``O = ceil(L / alpha)``, ``L = W`` (disjoint) or
        ``W - 1`` (overlapping).

    Raises:
        ArgumentError: a ratio outside (1, 2); both or neither of ratio and output_size.

    Example:
        >>> FractionalMaxPool(2 ** 0.5)(torch.randn(2, 4, 32, 32)).shape
        torch.Size([2, 4, 23, 23])
    """

    kinds = {"ratio": Ratio(), "output_size": PerDim(optional=True), "overlapping": Flag(),
             "pseudo_random": Flag()}
    takes = "volume"
    onnx = ("its pooling regions come from the input size at run time (torch.export needs "
            "them fixed)")

    def __init__(self, ratio=None, output_size=None, overlapping=False, pseudo_random=True, *,
                 dims=2):
        Layer.__init__(self, locals())

    @classmethod
    def check_together(cls, settings, source=None):
        ratio, output_size = settings["ratio"], settings["output_size"]
        if (ratio is None) == (output_size is None):
            raise ArgumentError(
                "fractional max pooling needs exactly one of ratio and output_size. Received: "
                f"ratio={ratio!r}, output_size={output_size!r}. Pass ratio=1.414 (say) or "
                "output_size=(H, W).", argument="ratio")

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        try:
            spatial = shapes.fractional_pool_output_shape(
                tuple(shape[1:]), settings["ratio"], settings["output_size"],
                settings["overlapping"])
        except ShapeError as error:
            key = "ratio" if settings["ratio"] is not None else "output_size"
            raise ShapeError(f"{error} The input comes from {source.text}.", argument=key) from None
        return (shape[0], *spatial)

    @classmethod
    def receptive_field(cls, settings, shape, geometry):
        return None  # random regions: no regular grid

    def forward(self, x):
        if x.dim() != self.dims + 2:
            check_input(x, self.dims, None, type(self).__name__)
        return fractional_max_pool(x, self.ratio, self.output_size, overlapping=self.overlapping,
                                   pseudo_random=self.pseudo_random)
