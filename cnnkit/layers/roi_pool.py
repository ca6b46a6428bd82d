"""RoI max pooling (Girshick 2015). The maths is in :mod:`cnnkit.functional.roi_pool`."""

from __future__ import annotations

import torch

from ..functional.conv import check_input
from ..functional.roi_pool import ROI_BINS, roi_max_pool
from ._base import Layer
from .kinds import Choice, Number, PerDim

__all__ = ["RoIMaxPool"]


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

    kinds = {"output_size": PerDim(),
             "spatial_scale": Number(0, open_low=True,
                                     what="feature map cells per image pixel, e.g. 1/16"),
             "bins": Choice(ROI_BINS)}
    takes = "volume"
    onnx = "it takes a second input (the boxes) and loops over them in Python"

    def __init__(self, output_size, spatial_scale: float = 1.0, bins: str = "fast_rcnn", *,
                 dims=2):
        Layer.__init__(self, locals())

    def forward(self, x: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        if x.dim() != self.dims + 2:
            check_input(x, self.dims, None, type(self).__name__)
        return roi_max_pool(x, boxes, self.output_size, self.spatial_scale, self.bins)
