"""Pooling layers beyond max and average: stochastic (Zeiler and Fergus 2013), fractional
max (Graham 2014), across channels / maxout (Goodfellow et al. 2013), spatial pyramid
(He et al. 2014) and RoI max pooling (Girshick 2015). The maths is in
:mod:`cnnkit.functional`."""

from __future__ import annotations

import torch

from .._validation import one_of, positive_int, to_tuple
from ..functional import shapes
from ..functional.channel_pool import CHANNEL_POOL_MODES, channel_pool, check_lp
from ..functional.fractional_pool import fractional_max_pool
from ..functional.pyramid_pool import PYRAMID_MODES, spatial_pyramid_pool
from ..functional.roi_pool import ROI_BINS, _check_scale, roi_max_pool
from ..functional.stochastic_pool import stochastic_pool
from ._base import Layer
from .pool import _WindowPool

__all__ = ["ChannelPool", "FractionalMaxPool", "Maxout", "RoIMaxPool", "SpatialPyramidPool",
           "StochasticPool"]


class StochasticPool(_WindowPool):
    """Stochastic pooling: in training one activation per window, drawn with probability
    ``a_i / sum a``; in evaluation the probability-weighted average ``sum a_i^2 / sum a``.
    See :func:`cnnkit.functional.stochastic_pool.stochastic_pool`.

    Inputs must be non-negative (put it after a ReLU).

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *O)``, O as for max pooling with the same window.

    Raises:
        ArgumentError: at call time, a negative input.

    Example:
        >>> pool = StochasticPool(2)
        >>> pool(torch.rand(1, 6, 28, 28)).shape
        torch.Size([1, 6, 14, 14])
        >>> pool.eval()(torch.tensor([[[[1., 3.], [0., 0.]]]]))
        tensor([[[[2.5000]]]])
    """

    def forward(self, x):
        self._check(x)
        return stochastic_pool(x, self.kernel_size, self.stride, self.padding, self.dilation,
                               self.ceil_mode, training=self.training)


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

    _defaults = {"ratio": None, "output_size": None, "overlapping": False, "pseudo_random": True}

    def __init__(self, ratio=None, output_size=None, overlapping=False, pseudo_random=True, *,
                 dims=2):
        super().__init__()
        self.dims = one_of(dims, (1, 2, 3), "dims")
        if (ratio is None) == (output_size is None):
            shapes.fractional_pool_output_shape((4,) * self.dims, ratio, output_size)
        self.ratio = None if ratio is None else shapes.check_pool_ratio(ratio, self.dims)
        self.output_size = None if output_size is None else to_tuple(output_size, self.dims,
                                                                      "output_size")
        self.overlapping = bool(overlapping)
        self.pseudo_random = bool(pseudo_random)

    def output_shape(self, size) -> tuple[int, ...]:
        """Spatial output size for a spatial input ``size``."""
        return shapes.fractional_pool_output_shape(tuple(size), self.ratio, self.output_size,
                                                        self.overlapping)

    def forward(self, x):
        if x.dim() != self.dims + 2:
            from ..functional.conv import check_input
            check_input(x, self.dims, None, type(self).__name__)
        return fractional_max_pool(x, self.ratio, self.output_size, overlapping=self.overlapping,
                                   pseudo_random=self.pseudo_random)


class ChannelPool(Layer):
    """Pool groups of ``k`` consecutive channels into one (Goodfellow et al. 2016, fig. 9.9):
    max (maxout), mean or Lp norm. See :func:`cnnkit.functional.channel_pool.channel_pool`.

    Shape:
        ``(N, C, *S)`` -> ``(N, C / k, *S)``.

    Raises:
        ShapeError: at call time, ``k`` does not divide the input channels.

    Example:
        >>> ChannelPool(4, mode="avg")(torch.randn(2, 16, 5, 5)).shape
        torch.Size([2, 4, 5, 5])
    """

    _always_shown = ("k",)
    _defaults = {"mode": "max", "p": 2.0}

    def __init__(self, k: int, mode: str = "max", p: float = 2.0):
        super().__init__()
        self.k = positive_int(k, "k")
        self.mode = one_of(mode, CHANNEL_POOL_MODES, "mode")
        self.p = check_lp(p)

    def output_channels(self, channels: int) -> int:
        """Channels after pooling (raises if ``k`` does not divide them)."""
        return shapes.channel_pool_output_channels(channels, self.k)

    def forward(self, x):
        return channel_pool(x, self.k, self.mode, self.p)


class Maxout(ChannelPool):
    """Maxout (Goodfellow et al. 2013): the maximum of each group of ``k`` channels.

    Shape:
        ``(N, C, *S)`` -> ``(N, C / k, *S)``.

    Example:
        >>> Maxout(2)(torch.randn(3, 10)).shape
        torch.Size([3, 5])
    """

    _defaults: dict = {}

    def __init__(self, k: int):
        super().__init__(k, "max")


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

    _defaults = {"levels": (1, 2, 4), "mode": "max"}

    def __init__(self, levels=(1, 2, 4), mode: str = "max", *, dims=2):
        super().__init__()
        self.dims = one_of(dims, (1, 2, 3), "dims")
        self.levels = shapes.normalize_levels(levels, self.dims)
        self.mode = one_of(mode, PYRAMID_MODES, "mode")

    def settings(self) -> dict:
        out = super().settings()
        # Ints when every level is square, as the user usually writes them.
        if all(len(set(level)) == 1 for level in self.levels):
            out["levels"] = tuple(level[0] for level in self.levels)
        return out

    def features(self, channels: int) -> int:
        """Length of the output vector for ``channels`` input channels."""
        return shapes.pyramid_pool_features(channels, self.levels, self.dims)

    def forward(self, x):
        if x.dim() != self.dims + 2:
            from ..functional.conv import check_input
            check_input(x, self.dims, None, type(self).__name__)
        return spatial_pyramid_pool(x, self.levels, self.mode)


class RoIMaxPool(Layer):
    """RoI max pooling (Fast R-CNN): ``forward(features, boxes)`` gives one
    ``(C, *output_size)`` grid of maxima per box. See
    :func:`cnnkit.functional.roi_pool.roi_max_pool`.

    Args:
        output_size: bins per dimension (7 in Fast R-CNN with VGG16).
        spatial_scale: feature map cells per image pixel (1/16 for a stride-16 map).
        bins: ``"fast_rcnn"`` (floor / ceil bin bounds) or ``"partition"`` (disjoint bins).
        dims: number of spatial dimensions (1, 2 or 3).

    Shape:
        ``(N, C, *S)`` and boxes ``(K, 1 + 2d)`` -> ``(K, C, *output_size)``.

    Example:
        >>> pool = RoIMaxPool(7, spatial_scale=1 / 16)
        >>> boxes = torch.tensor([[0, 0., 0, 300, 200], [1, 50., 40, 400, 380]])
        >>> pool(torch.randn(2, 16, 30, 40), boxes).shape
        torch.Size([2, 16, 7, 7])
    """

    _always_shown = ("output_size",)
    _defaults = {"spatial_scale": 1.0, "bins": "fast_rcnn"}

    def __init__(self, output_size, spatial_scale: float = 1.0, bins: str = "fast_rcnn", *,
                 dims=2):
        super().__init__()
        self.dims = one_of(dims, (1, 2, 3), "dims")
        self.output_size = to_tuple(output_size, self.dims, "output_size")
        self.spatial_scale = _check_scale(spatial_scale)
        self.bins = one_of(bins, ROI_BINS, "bins")

    def forward(self, x: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        if x.dim() != self.dims + 2:
            from ..functional.conv import check_input
            check_input(x, self.dims, None, type(self).__name__)
        return roi_max_pool(x, boxes, self.output_size, self.spatial_scale, self.bins)
