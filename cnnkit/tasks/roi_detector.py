"""A two-stage detector in the manner of Fast R-CNN (Girshick 2015): a backbone's feature
map, RoI max pooling of region proposals, fully connected layers, and two sibling
outputs (class scores, box offsets).

Why a model class and not a spec layer: RoI pooling takes two inputs (the feature map and
the boxes), and a spec is a sequence of one-input layers. The detector owns its
proposals, so it is a one-input Module again (images in, one row per region out) that any
trainer can call; its backbone can be any network, a spec's included.

Proposals: Fast R-CNN pools selective-search proposals (Uijlings et al. 2013), an external
program. Here the proposals are a fixed set of windows of a few sizes and aspect ratios
tiled over the image (:func:`grid_proposals`), the same for every image, so that a batch
is one tensor and the whole head runs without a per-image loop; the box regression moves
them onto the objects.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from .._validation import ArgumentError, ShapeError
from ..functional.roi_pool import roi_max_pool

__all__ = ["RoIDetector", "grid_proposals"]


def grid_proposals(sizes=(0.25, 0.5), ratios=(0.5, 1.0, 2.0), overlap: float = 0.5) -> torch.Tensor:
    """Windows of each size and aspect ratio tiled over the unit square, ``xyxy``.

    A window of size ``s`` and ratio ``a`` (width / height) is ``s sqrt(a)`` wide and
    ``s / sqrt(a)`` tall (clipped to 1); its centres step by ``(1 - overlap)`` times its
    width and height from one edge of the image to the other.

    Returns:
        ``(R, 4)`` float32 boxes in [0, 1].

    Example:
        >>> grid_proposals(sizes=(0.5,), ratios=(1.0,)).tolist()[:2]
        [[0.0, 0.0, 0.5, 0.5], [0.25, 0.0, 0.75, 0.5]]
        >>> grid_proposals().shape
        torch.Size([146, 4])
    """
    if not 0.0 <= overlap < 1.0:
        raise ArgumentError(f"overlap must be in [0, 1). Received: overlap={overlap!r}.",
                            argument="overlap")
    out = []
    for s in sizes:
        for a in ratios:
            if not (s > 0 and a > 0):
                raise ArgumentError(f"sizes and ratios must be positive. Received: size={s!r}, "
                                    f"ratio={a!r}.", argument="sizes")
            w, h = min(s * math.sqrt(a), 1.0), min(s / math.sqrt(a), 1.0)
            nx = int(math.floor((1 - w) / ((1 - overlap) * w) + 1e-9)) + 1
            ny = int(math.floor((1 - h) / ((1 - overlap) * h) + 1e-9)) + 1
            xs = torch.linspace(0, 1 - w, nx) if nx > 1 else torch.tensor([(1 - w) / 2])
            ys = torch.linspace(0, 1 - h, ny) if ny > 1 else torch.tensor([(1 - h) / 2])
            y0, x0 = torch.meshgrid(ys, xs, indexing="ij")
            out.append(torch.stack((x0, y0, x0 + w, y0 + h), -1).reshape(-1, 4))
    return torch.cat(out).clamp(0, 1)


class RoIDetector(nn.Module):
    """Fast R-CNN's detection head on a backbone, with fixed proposals.

    ``backbone(images)`` gives a feature map ``(N, C, h, w)`` whose stride is the same on
    both axes; each proposal is RoI max-pooled from it into ``pool x pool`` bins
    (:func:`cnnkit.functional.roi_max_pool`), then two fully connected layers of
    ``hidden`` units with ReLU and two sibling layers: ``K + 1`` class scores (0 is
    background) and ``4K`` box offsets (Girshick 2015, figure 1).

    Args:
        backbone: a Module from images to feature maps (e.g. a spec-built network
            without its classifier).
        input_shape: one image's shape, ``(C, H, W)``.
        num_classes: K object classes.
        proposals: ``(R, 4)`` ``xyxy`` boxes in [0, 1]; default :func:`grid_proposals`.
        pool: bins per side of RoI pooling (7 in the paper, with VGG16).
        hidden: units of the two fully connected layers.

    Shape:
        ``(N, *input_shape)`` -> ``(N, R, 5 (K + 1))``: per region, K + 1 scores, 4K
        offsets and the region itself (what ``Detect(loss="fast_rcnn")`` reads).

    Example:
        >>> from cnnkit import layers as L
        >>> backbone = L.Sequential(L.Conv2d(3, 8, 3, stride=2, padding=1), L.ReLU())
        >>> net = RoIDetector(backbone, (3, 32, 32), num_classes=2, hidden=16)
        >>> net(torch.zeros(2, 3, 32, 32)).shape, net.output_shape
        (torch.Size([2, 146, 15]), (146, 15))
    """

    # Why torch.onnx.export cannot take it (cnnkit.export reads this before trying).
    onnx = ("its RoI max pooling sizes each region's bins from the box values, shapes that "
            "depend on the data and that the exporter cannot trace")

    def __init__(self, backbone: nn.Module, input_shape, num_classes: int, *,
                 proposals: torch.Tensor | None = None, pool: int = 7, hidden: int = 256):
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ArgumentError(f"num_classes must be a positive int (object classes, without "
                                f"background). Received: num_classes={num_classes!r}.",
                                argument="num_classes")
        self.backbone = backbone
        # What a spec would say of it: the detect task with Fast R-CNN's multi-task loss.
        self.task, self.loss = "detect", "fast_rcnn"
        self.input_shape = tuple(int(v) for v in input_shape)
        if len(self.input_shape) != 3:
            raise ShapeError(f"input_shape must be (C, H, W). Received: "
                             f"input_shape={tuple(input_shape)!r}.", argument="input_shape")
        self.num_classes, self.pool = num_classes, pool
        with torch.no_grad():
            was = backbone.training
            backbone.eval()
            features = backbone(torch.zeros(1, *self.input_shape))
            backbone.train(was)
        if features.dim() != 4:
            raise ShapeError(f"the backbone must give feature maps (N, C, h, w). Received: an "
                             f"output of shape {tuple(features.shape)}. Remove its flatten and "
                             f"dense layers.", argument="backbone")
        channels = features.shape[1]
        boxes = grid_proposals() if proposals is None else proposals.detach().float()
        if boxes.dim() != 2 or boxes.shape[1] != 4 or boxes.shape[0] == 0:
            raise ShapeError(f"proposals must be (R, 4) xyxy boxes in [0, 1]. Received: "
                             f"proposals of shape {tuple(boxes.shape)}.", argument="proposals")
        self.register_buffer("proposals", boxes)
        # One sample's output, as a spec-built Network states it (for Task.check).
        self.output_shape = (len(boxes), 5 * (num_classes + 1))
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(channels * pool * pool, hidden), nn.ReLU(),
                                nn.Linear(hidden, hidden), nn.ReLU())
        self.scores = nn.Linear(hidden, num_classes + 1)
        self.deltas = nn.Linear(hidden, 4 * num_classes)
        # As in the paper: classification weights N(0, 0.01^2), box regression N(0, 0.001^2).
        nn.init.normal_(self.scores.weight, std=0.01)
        nn.init.zeros_(self.scores.bias)
        nn.init.normal_(self.deltas.weight, std=0.001)
        nn.init.zeros_(self.deltas.bias)

    def rois(self, batch: int, height: int, width: int) -> torch.Tensor:
        """The proposals of every image as RoI-pooling boxes ``(N R, 5)``: batch index and
        inclusive pixel corners."""
        p = self.proposals
        x1, y1 = p[:, 0] * width, p[:, 1] * height
        x2 = torch.maximum(p[:, 2] * width - 1, x1)
        y2 = torch.maximum(p[:, 3] * height - 1, y1)
        corners = torch.stack((x1, y1, x2, y2), -1)
        index = torch.arange(batch, device=p.device, dtype=p.dtype).repeat_interleave(len(p))
        return torch.cat((index[:, None], corners.repeat(batch, 1)), 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.backbone(images)
        n, _, h, w = features.shape
        height, width = images.shape[-2:]
        scale = w / width
        if abs(h / height - scale) > 1e-6:
            raise ShapeError(f"the backbone's feature map ({h}x{w}) must shrink both axes of the "
                             f"{height}x{width} input by the same factor. Use an input whose "
                             f"sides the backbone's strides divide.", argument="images")
        pooled = roi_max_pool(features, self.rois(n, height, width).to(features.dtype), self.pool,
                              spatial_scale=scale)
        hidden = self.fc(pooled)
        rows = torch.cat((self.scores(hidden), self.deltas(hidden)), 1).view(n, len(self.proposals), -1)
        regions = self.proposals.to(rows.dtype).expand(n, -1, -1)
        return torch.cat((rows, regions), -1)
