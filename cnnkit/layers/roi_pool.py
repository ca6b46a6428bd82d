"""RoI max pooling (Girshick 2015). The maths is in :mod:`cnnkit.functional.roi_pool`."""

from __future__ import annotations

import math

import torch

from .._validation import ShapeError
from ..functional import shapes
from ..functional.conv import check_input
from ..functional.roi_pool import ROI_BINS, roi_max_pool
from ._base import FROM_INPUT, Layer
from .kinds import Boxes, Choice, Number, PerDim

__all__ = ["FixedRoIMaxPool", "RoIMaxPool"]


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


class FixedRoIMaxPool(Layer):
    """RoI max pooling over regions written into the network: the same ``K`` boxes in
    every input, each pooled into ``output_size`` bins exactly as :class:`RoIMaxPool`
    does, and the ``K`` grids stacked along the first spatial axis.

    The stacking keeps the result a feature map, so the rest of a sequential network can
    treat every region with the same weights: a convolution with kernel and stride equal
    to ``output_size`` gives one column of features per region (the fully connected
    layers of Fast R-CNN's head, shared by all regions, Girshick 2015), and 1x1
    convolutions after it score each region. The regions play the part of the proposals
    that Fast R-CNN takes from a separate method; here they are fixed (a grid of
    candidate windows, say), which suits data whose objects sit in known places.

    Args:
        boxes: the regions, each the low corner then the high corner, last spatial
            dimension first (``[x1, y1, x2, y2]`` in 2-D; inclusive corners), in input
            pixels; they must lie on the input.
        output_size: bins per dimension.
        spatial_scale: input cells per box unit (1/8 when the boxes are in the pixels of
            an image that three stride-2 stages reduced to this input).
        bins: ``"fast_rcnn"`` (floor / ceil bin bounds) or ``"partition"``.
        dims: number of spatial dimensions (1, 2 or 3).

    Shape:
        ``(N, C, S_1, ..., S_d)`` -> ``(N, C, K * n_1, n_2, ..., n_d)`` with
        ``n = output_size``: rows ``k * n_1`` to ``(k + 1) * n_1 - 1`` hold region ``k``.

    Example:
        >>> pool = FixedRoIMaxPool([[0, 0, 3, 3], [4, 0, 7, 3]], output_size=2)
        >>> x = torch.arange(32.0).view(1, 1, 4, 8)
        >>> pool(x)[0, 0]
        tensor([[ 9., 11.],
                [25., 27.],
                [13., 15.],
                [29., 31.]])
    """

    kinds = {"boxes": Boxes(), "output_size": PerDim(),
             "spatial_scale": Number(0, open_low=True,
                                     what="input cells per box unit, e.g. 1/8"),
             "bins": Choice(ROI_BINS)}
    takes = "volume"
    onnx = "its bins are found by data-dependent look-ups (a sparse table of maxima)"

    def __init__(self, boxes, output_size=2, spatial_scale: float = 1.0,
                 bins: str = "fast_rcnn", *, dims=2):
        Layer.__init__(self, locals())

    def create(self) -> None:
        # Not persistent: the boxes are settings (in the spec), not learned state.
        self.register_buffer("box_table", torch.tensor(self.boxes, dtype=torch.float64),
                             persistent=False)

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        output_size, boxes = settings["output_size"], settings["boxes"]
        if len(shape) - 1 != len(output_size):
            raise ShapeError(f"RoI pooling over {len(output_size)}-D regions needs a "
                             f"{len(output_size)}-D input. Received: {source.text} of shape "
                             f"{tuple(shape)}.")
        scale, size = settings["spatial_scale"], tuple(shape[1:])
        axes = "xyz"[:len(size)]
        for k, box in enumerate(boxes):
            # The cells a box reaches, rounded as the pooling rounds them (last dim first).
            ends = [math.floor(v * scale + 0.5) for v in box[len(size):]]
            starts = [math.floor(v * scale + 0.5) for v in box[:len(size)]]
            limits = size[::-1]
            if any(lo > w - 1 or hi > w for lo, hi, w in zip(starts, ends, limits)):
                plain = cls.kinds["boxes"].plain((box,))[0]
                reach = ", ".join(f"{a} {lo}..{hi}" for a, lo, hi in zip(axes, starts, ends))
                cells = ", ".join(f"{a} 0..{w - 1}" for a, w in zip(axes, limits))
                raise ShapeError(
                    f"boxes[{k}]={plain} reaches past {source.text}: at spatial_scale={scale:g} "
                    f"it covers cells {reach}, and the input has {cells} "
                    f"({shapes.format_spatial(size)}). Keep every box on the input, or check "
                    f"spatial_scale.", argument="boxes")
        return (shape[0], len(boxes) * output_size[0], *output_size[1:])

    @classmethod
    def receptive_field(cls, settings, shape, geometry):
        # Each output row looks at its own region: no single window describes them all.
        return shapes.whole_input_geometry(geometry, tuple(shape[1:]))

    @classmethod
    def flop_count(cls, settings, shape, out):
        # 2^d table look-ups per output value, after one table of O(C * size * levels).
        return math.prod(out) * 2 ** len(settings["output_size"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != self.dims + 2:
            check_input(x, self.dims, None, type(self).__name__)
        n, k = x.shape[0], self.box_table.shape[0]
        table = self.box_table.to(x.dtype)
        index = torch.arange(n, device=x.device, dtype=x.dtype).repeat_interleave(k)
        boxes = torch.cat([index[:, None], table.repeat(n, 1)], dim=1)
        pooled = roi_max_pool(x, boxes, self.output_size, self.spatial_scale, self.bins)
        pooled = pooled.view(n, k, *pooled.shape[1:]).transpose(1, 2)   # (N, C, K, *n)
        return pooled.reshape(n, x.shape[1], k * self.output_size[0], *self.output_size[1:])
