"""Spatial pyramid pooling (He et al. 2014). The maths is in
:mod:`cnnkit.functional.pyramid_pool`."""

from __future__ import annotations

import math

import torch  # noqa: F401  (the docstring examples use it)

from ..functional import shapes
from ..functional.conv import check_input
from ..functional.pyramid_pool import PYRAMID_MODES, spatial_pyramid_pool
from ._base import FROM_INPUT, Layer
from .kinds import Choice, Levels

__all__ = ["SpatialPyramidPool"]


class SpatialPyramidPool(Layer):
    """Spatial pyramid pooling: a fixed-length vector from inputs of any size.
    See :func:`cnnkit.functional.pyramid_pool.spatial_pyramid_pool`.

    Args:
        levels: bins per dimension at each level, e.g. ``(1, 2, 4)``.
        mode: ``"max"`` or ``"avg"``.
        dims: number of spatial dimensions (1, 2 or 3).

    Shape:
        ``(N, C, *W)`` -> ``(N, C * sum_l prod(l))``, whatever ``W``.

    Example:
        >>> spp = SpatialPyramidPool((1, 2, 4))
        >>> spp(torch.randn(1, 8, 30, 20)).shape == spp(torch.randn(1, 8, 11, 13)).shape
        True
        >>> spp.features(8)
        168
    """

    kinds = {"levels": Levels(), "mode": Choice(PYRAMID_MODES)}
    takes = "volume"

    def __init__(self, levels=(1, 2, 4), mode: str = "max", *, dims=2):
        Layer.__init__(self, locals())

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        return (shapes.pyramid_pool_features(shape[0], settings["levels"], len(shape) - 1),)

    @classmethod
    def receptive_field(cls, settings, shape, geometry):
        # The coarsest level (usually 1 bin) sees the whole volume, as a flatten does.
        return shapes.whole_input_geometry(geometry, tuple(shape[1:]))

    @classmethod
    def flop_count(cls, settings, shape, out):
        # One comparison (or addition) per input value and level.
        return math.prod(shape) * len(settings["levels"])

    def features(self, channels: int) -> int:
        """Length of the output vector for ``channels`` input channels."""
        return shapes.pyramid_pool_features(channels, self.levels, self.dims)

    def forward(self, x):
        if x.dim() != self.dims + 2:
            check_input(x, self.dims, None, type(self).__name__)
        return spatial_pyramid_pool(x, self.levels, self.mode)
