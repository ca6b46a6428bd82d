"""Object detectors: the YOLO v1 grid detector (Redmon, Divvala, Girshick & Farhadi 2016)
as a spec, and a Fast R-CNN head (Girshick 2015) on a small backbone.

Both are trained on boxes ``[class, cx, cy, w, h]`` (task ``detect``): YOLO with the loss of
its eq. 3 (``loss: yolo``), Fast R-CNN with its multi-task loss on RoIs
(``loss: fast_rcnn``, see docs/tasks.md).

YOLO v1, faithful: one pass of a convolutional network to an S x S grid; each cell predicts
``B`` boxes (x, y, sqrt w, sqrt h, confidence) and ``C`` class probabilities; leaky ReLU
(0.1); the sum-squared loss with lambda_coord 5 and lambda_noobj 0.5. Simplified: a small
backbone (3x3 convolutions, ``width`` maps doubling after each 2x2 max pooling) instead of
the 24 GoogLeNet-like layers pre-trained on ImageNet; the two fully connected layers are
1x1 convolutions on the grid after an adaptive average pooling to S x S (so a cell sees its
receptive field, not the whole image).

Fast R-CNN, faithful: RoI max pooling of each proposal into ``pool x pool`` bins on the
backbone's last map, two fully connected ReLU layers, sibling outputs of K + 1 scores and 4K
box offsets, the initialisation of the sibling layers. Simplified: fixed proposals on a grid
of sizes and ratios (:func:`cnnkit.tasks.grid_proposals`) instead of selective search; a
small backbone trained from scratch instead of VGG16.
"""

from __future__ import annotations

import torch.nn as nn

from ..spec import Network, build
from ..tasks import RoIDetector, grid_proposals
from ._parts import check_image_shape
from ._registry import register_model

__all__ = ["fast_rcnn", "fast_rcnn_backbone_spec", "yolo_v1", "yolo_v1_spec"]

_LEAKY = {"activation": "leaky_relu"}


def _backbone(width: int, side: int, until: int) -> tuple[list, int]:
    """3x3 leaky-ReLU convolutions with 2x2 max pooling, halving ``side`` while the result is
    at least ``until``; the layers and the last width."""
    layers, filters = [], width
    while side // 2 >= until:
        layers += [{"conv": {"filters": filters, "kernel": 3, "padding": "same", **_LEAKY}},
                   {"maxpool": 2}]
        side //= 2
        filters *= 2
    layers.append({"conv": {"filters": filters, "kernel": 3, "padding": "same", **_LEAKY}})
    return layers, filters


def yolo_v1_spec(num_classes: int = 20, input_shape=(3, 448, 448), grid: int = 7,
                 boxes: int = 2, width: int = 16, hidden: int = 256) -> dict:
    """The YOLO v1 spec as a dict (what :func:`yolo_v1` builds).

    Example:
        >>> spec = yolo_v1_spec(10, (1, 48, 48), grid=6, width=4)
        >>> spec["loss"], spec["layers"][-1]
        ('yolo', {'conv': {'filters': 20, 'kernel': 1}})
    """
    layers, _ = _backbone(width, min(input_shape[1:]), grid)
    layers += [{"adaptive_avgpool": grid},
               {"conv": {"filters": hidden, "kernel": 1, **_LEAKY}},
               {"conv": {"filters": 5 * boxes + num_classes, "kernel": 1}}]
    return {"name": "yolo_v1", "input": list(input_shape), "task": "detect", "layers": layers,
            "loss": "yolo"}


@register_model
def yolo_v1(num_classes: int = 20, input_shape=(3, 448, 448), grid: int = 7, boxes: int = 2,
            width: int = 16, hidden: int = 256) -> Network:
    """YOLO v1: an S x S grid of B boxes and C class probabilities per cell.

    Args:
        num_classes: object classes C.
        input_shape: ``(C, H, W)``.
        grid: cells per side S (7 in the paper).
        boxes: box predictors per cell B (2 in the paper; ``loss: yolo`` takes 2).
        width: maps of the first convolution, doubled after each pooling.
        hidden: maps of the 1x1 layer before the output.

    Shape:
        ``(N, C, H, W)`` -> ``(N, 5 B + num_classes, grid, grid)``.

    Example:
        >>> yolo_v1(10, (1, 48, 48), grid=6, width=4).output_shape
        (20, 6, 6)
    """
    return build(yolo_v1_spec(num_classes, check_image_shape(input_shape, "yolo_v1"), grid,
                              boxes, width, hidden))


def fast_rcnn_backbone_spec(input_shape=(3, 224, 224), width: int = 16, stride: int = 4) -> dict:
    """The backbone of :func:`fast_rcnn`: 3x3 ReLU convolutions, ``width`` maps doubling
    after each 2x2 max pooling, down to ``stride``; no classifier.

    Example:
        >>> build(fast_rcnn_backbone_spec((1, 48, 48), width=4)).output_shape
        (8, 12, 12)
    """
    layers, filters, side = [], width, 1
    while side < stride:
        layers += [{"conv": {"filters": filters, "kernel": 3, "padding": "same",
                             "activation": "relu"}}, {"maxpool": 2}]
        side *= 2
        filters *= 2
    layers.append({"conv": {"filters": filters // 2, "kernel": 3, "padding": "same",
                            "activation": "relu"}})
    return {"name": "fast_rcnn_backbone", "input": list(input_shape), "layers": layers}


@register_model
def fast_rcnn(num_classes: int = 20, input_shape=(3, 224, 224), width: int = 16,
              stride: int = 4, pool: int = 3, hidden: int = 128,
              sizes=(0.3, 0.45), ratios=(0.5, 1.0, 2.0)) -> nn.Module:
    """A Fast R-CNN head (RoI pooling, two dense layers, scores and box offsets) on a small
    backbone, with fixed grid proposals.

    A :class:`cnnkit.tasks.RoIDetector` (a Module, not a spec: the spec has no RoI layer
    with proposals).

    Args:
        num_classes: object classes K (the scores add a background class).
        input_shape: ``(C, H, W)``; H and W divisible by ``stride``.
        width: maps of the backbone's first convolution.
        stride: the backbone's downsampling (a power of 2).
        pool: RoI pooling bins per side (7 in the paper).
        hidden: units of the two dense layers (4096 in the paper).
        sizes, ratios: the proposals' sides (fractions of the image) and aspect ratios.

    Shape:
        ``(N, C, H, W)`` -> ``(N, R, 5 (K + 1))`` (see RoIDetector).

    Example:
        >>> net = fast_rcnn(10, (1, 48, 48), width=4, hidden=16)
        >>> net.output_shape[1]
        55
    """
    shape = check_image_shape(input_shape, "fast_rcnn")
    backbone = build(fast_rcnn_backbone_spec(shape, width, stride))
    return RoIDetector(backbone, shape, num_classes, pool=pool, hidden=hidden,
                       proposals=grid_proposals(sizes=tuple(sizes), ratios=tuple(ratios)))
