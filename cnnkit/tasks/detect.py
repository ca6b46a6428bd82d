"""Detection: boxes and classes per image, with a one-stage grid head (YOLO v1, Redmon et
al. 2016) or a two-stage RoI head (Fast R-CNN, Girshick 2015)."""

from __future__ import annotations

import math

import torch

from .._validation import ArgumentError, ShapeError
from ..functional import boxes as B
from ..functional.losses import roi_detection_loss, yolo_v1_loss
from ..metrics import DetectionMeter
from .base import Task, TaskMeter, format_shape

__all__ = ["BOX_TOLERANCE", "HEADS", "Detect"]

HEADS = {"yolo": "grid", "fast_rcnn": "roi"}
# Normalised box edges may pass 0 or 1 by this much (coordinates written with six decimals).
BOX_TOLERANCE = 1e-5


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


class Detect(Task):
    """Boxes with classes per image, scored by mean average precision (VOC, IoU 0.5).

    Targets: float ``(N, M, 5)`` rows ``[class, cx, cy, w, h]`` normalised to [0, 1];
    rows with class -1 are padding (images hold different numbers of boxes).

    Two heads, chosen by the loss:

    * ``yolo`` (grid head, the default): the output is ``(5B + C, rows, cols)`` per image
      (a conv layer with ``5B + C`` filters; or a dense layer of ``(5B + C) * rows * cols``
      units, read channel by channel). Each cell predicts ``B`` boxes and ``C`` class
      probabilities (:func:`cnnkit.functional.boxes.yolo_decode`); the loss is
      :func:`cnnkit.functional.losses.yolo_v1_loss` with the paper's
      ``lambda_coord = 5``, ``lambda_noobj = 0.5``.
    * ``fast_rcnn`` (RoI head): the output is ``(R, 5 (K + 1))`` per image, one row per
      region of interest (:class:`cnnkit.tasks.RoIDetector`); the loss is Fast R-CNN's
      classification + smooth L1 box regression
      (:func:`cnnkit.functional.losses.roi_detection_loss`).

    Metrics: mAP at IoU ``map_iou`` with all-point interpolation (Everingham et al. 2010),
    per-class AP, precision and recall. Predictions: boxes (``xyxy`` in [0, 1]), scores and
    classes after per-class non-maximum suppression, best first, padded per image
    (``valid`` marks real detections).

    Args:
        loss: ``yolo`` or ``fast_rcnn``.
        num_classes: C (object classes, no background).
        boxes_per_cell: B of the grid head (None: 2, or what the output's depth gives for
            ``num_classes``).
        grid: ``S`` or ``(rows, cols)`` for a flat grid output (None: a square grid).
        lambda_coord, lambda_noobj: the YOLO loss weights.
        lambda_loc: the Fast R-CNN box-loss weight.
        fg_iou, bg_iou: Fast R-CNN's RoI labelling (see ``match_rois``).
        nms_iou: IoU above which NMS suppresses a box of the same class.
        score_threshold: detections scoring below this are dropped before NMS (low for
            mAP, which ranks them; raise it to show boxes).
        max_detections: per image, after NMS.
        map_iou: the IoU a detection needs to count as correct (0.5, VOC).

    Example:
        >>> task = Detect(num_classes=2)
        >>> targets = torch.tensor([[[1, 0.5, 0.5, 0.4, 0.4], [-1, 0, 0, 0, 0]]])
        >>> task.check((12, 7, 7), targets)
        >>> task.boxes_per_cell, task.predict(torch.zeros(1, 12, 7, 7))["boxes"].shape
        (2, torch.Size([1, 0, 4]))
    """

    name = "detect"
    target = "detection"
    losses = ("yolo", "fast_rcnn")
    monitor = "mAP"
    metrics = ("mAP",)

    def __init__(self, loss: str | None = None, num_classes: int | None = None, *,
                 boxes_per_cell: int | None = None, grid=None, lambda_coord: float = 5.0,
                 lambda_noobj: float = 0.5, lambda_loc: float = 1.0, fg_iou: float = 0.5,
                 bg_iou=(0.0, 0.5), nms_iou: float = 0.5, score_threshold: float = 0.05,
                 max_detections: int = 100, map_iou: float = 0.5):
        super().__init__(loss, num_classes)
        self.head = HEADS[self.loss_name]
        if boxes_per_cell is not None and not _is_count(boxes_per_cell):
            raise ArgumentError(f"boxes_per_cell must be a positive int. Received: "
                                f"boxes_per_cell={boxes_per_cell!r}.", argument="boxes_per_cell")
        self.boxes_per_cell = boxes_per_cell
        self.grid = None if grid is None else B.grid_size(grid)
        for name, value in (("nms_iou", nms_iou), ("score_threshold", score_threshold),
                            ("map_iou", map_iou), ("fg_iou", fg_iou)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0.0 <= value <= 1.0:
                raise ArgumentError(f"{name} must be in [0, 1]. Received: {name}={value!r}.",
                                    argument=name)
        if not _is_count(max_detections):
            raise ArgumentError(f"max_detections must be a positive int. Received: "
                                f"max_detections={max_detections!r}.", argument="max_detections")
        self.lambda_coord, self.lambda_noobj = float(lambda_coord), float(lambda_noobj)
        self.lambda_loc, self.fg_iou, self.bg_iou = float(lambda_loc), float(fg_iou), \
            tuple(float(v) for v in bg_iou)
        self.nms_iou, self.score_threshold = float(nms_iou), float(score_threshold)
        self.max_detections, self.map_iou = max_detections, float(map_iou)

    def options(self) -> dict:
        out = {"head": self.head, "nms_iou": self.nms_iou, "score_threshold": self.score_threshold,
               "max_detections": self.max_detections, "map_iou": self.map_iou}
        if self.head == "grid":
            out.update(boxes_per_cell=self.boxes_per_cell,
                       grid=None if self.grid is None else list(self.grid),
                       lambda_coord=self.lambda_coord, lambda_noobj=self.lambda_noobj)
        else:
            out.update(lambda_loc=self.lambda_loc, fg_iou=self.fg_iou, bg_iou=list(self.bg_iou))
        return out

    # ---- the grid head's layout ------------------------------------------------------------
    def _grid_layout(self, output_shape, num_classes):
        """(B, C, rows, cols) for a grid output of this shape, or a one-line error."""
        shape = tuple(output_shape)
        classes = num_classes if num_classes is not None else self.num_classes
        if len(shape) == 3:
            depth, rows, cols = shape
        elif len(shape) == 1 and (self.grid is not None or classes is not None):
            if self.grid is not None:
                rows, cols = self.grid
                depth = shape[0] // (rows * cols) if shape[0] % (rows * cols) == 0 else 0
            else:
                depth = 5 * (self.boxes_per_cell or 2) + classes
                side = math.isqrt(shape[0] // depth) if shape[0] % depth == 0 else 0
                rows = cols = side
                if side * side * depth != shape[0]:
                    depth = 0
            if depth == 0:
                raise ShapeError(
                    f"task {self.name!r}: a flat output of {shape[0]} values is not a grid of "
                    f"5B + C values per cell. Give the task grid: (rows, cols), or end the "
                    f"network with a conv layer of 5B + C filters.", argument="output")
        else:
            raise ShapeError(
                f"task {self.name!r}: the network's output is {format_shape(shape)} per image, "
                f"but a YOLO grid head gives (5B + C, rows, cols): per cell B boxes of 5 numbers "
                f"and C class scores. End the network with a conv layer of 5B + C filters (12 "
                f"for B = 2 boxes and C = 2 classes).", argument="output")
        if self.boxes_per_cell is not None:
            b = self.boxes_per_cell
            c = depth - 5 * b if classes is None else classes
        elif classes is not None:
            b, c = ((depth - classes) // 5 if (depth - classes) % 5 == 0 else 0), classes
        else:
            b, c = 2, depth - 10
        if b < 1 or c < 1 or 5 * b + c != depth:
            what = f"C = {classes} classes" if classes is not None else "C >= 1 classes"
            raise ShapeError(
                f"task {self.name!r}: the network gives {depth} values per grid cell, which is "
                f"not 5B + C for {what}{f' and B = {b}' if self.boxes_per_cell else ''}. Give "
                f"the last layer {5 * (self.boxes_per_cell or 2) + (classes or 1)} filters "
                f"({self.boxes_per_cell or 2} boxes per cell).", argument="output")
        return b, c, rows, cols

    def _grid(self, outputs: torch.Tensor) -> torch.Tensor:
        b, c, rows, cols = self._grid_layout(tuple(outputs.shape[1:]), self.num_classes)
        self.boxes_per_cell, self.num_classes = b, c
        return outputs.view(outputs.shape[0], 5 * b + c, rows, cols)

    # ---- the interface ---------------------------------------------------------------------
    def check(self, output_shape, targets, num_classes=None) -> None:
        """See :meth:`Task.check`.

        Example:
            >>> Detect(num_classes=1).check((11, 7, 7), torch.tensor([[[0, 0.9, 0.5, 0.4, 0.2]]]))
            Traceback (most recent call last):
            ...
            cnnkit._validation.ArgumentError: task 'detect': a box runs outside the image (cx, cy, w, h = [0.9, 0.5, 0.4, 0.2], in image 0); boxes are normalised, every edge must lie in [0, 1]. Clip the box to the image, or divide the coordinates by the image's width and height.
        """
        targets = self._check_tensor(targets)
        output_shape = tuple(output_shape)
        if targets.dim() != 3 or targets.shape[-1] != 5:
            raise self._shape_error(output_shape, targets,
                                    "(N, M, 5): rows [class, cx, cy, w, h], class -1 for padding",
                                    "Pad each image's boxes to M rows with class -1.")
        if not targets.is_floating_point():
            raise ArgumentError(f"task {self.name!r}: box targets must be float. Received: "
                                f"targets of dtype {targets.dtype}. Convert them with y.float().",
                                argument="targets")
        self._check_finite(targets)
        if targets.shape[0] and not bool((targets[..., 0] >= 0).any()):
            raise ArgumentError(
                f"task {self.name!r}: the targets hold no box at all ({targets.shape[0]} images, "
                f"every row padding with class -1): a detector learns nothing from them. "
                f"Check the annotations (an empty label file is an image without objects), "
                f"or give images that show objects.", argument="targets")
        if self.head == "grid":
            b, c, _, _ = self._grid_layout(output_shape, num_classes)
        else:
            if len(output_shape) != 2 or output_shape[1] % 5 or output_shape[1] < 10:
                raise ShapeError(
                    f"task {self.name!r}: the network's output is {format_shape(output_shape)} "
                    f"per image, but a Fast R-CNN head gives (R, 5 (K + 1)): per region K + 1 "
                    f"class scores, 4K box offsets and the region. Use cnnkit.tasks.RoIDetector, "
                    f"or loss: yolo for a grid head.", argument="output")
            c = output_shape[1] // 5 - 1
            if num_classes is not None and num_classes != c:
                raise ShapeError(f"task {self.name!r}: the data has {num_classes} classes but the "
                                 f"head scores {c}. Build the RoIDetector with num_classes="
                                 f"{num_classes}.", argument="num_classes")
        self._check_boxes(targets, c)
        if self.head == "grid":
            self.boxes_per_cell = b
        self.num_classes = c

    def _check_boxes(self, targets: torch.Tensor, classes: int) -> None:
        cls = targets[..., 0]
        real = cls >= 0
        bad = (cls != cls.round()) | (cls < -1) | (cls >= classes)
        if bool(bad.any()):
            i = bad.nonzero()[0]
            raise ArgumentError(
                f"task {self.name!r}: a box has the class {float(cls[i[0], i[1]]):g} (image "
                f"{int(i[0])}), not one of the {classes} classes 0..{classes - 1} nor -1 "
                f"(padding). Fix the class, or give the network outputs for more classes.",
                argument="targets")
        cx, cy, w, h = targets[..., 1:].unbind(-1)
        flat = real & ((w <= 0) | (h <= 0))
        if bool(flat.any()):
            i = flat.nonzero()[0]
            raise ArgumentError(
                f"task {self.name!r}: a box has a non-positive size (w={float(w[i[0], i[1]]):g}, "
                f"h={float(h[i[0], i[1]]):g}, in image {int(i[0])}). Drop empty boxes, or mark "
                f"the row as padding with class -1.", argument="targets")
        tol = BOX_TOLERANCE
        out = real & ((cx - w / 2 < -tol) | (cy - h / 2 < -tol) | (cx + w / 2 > 1 + tol)
                      | (cy + h / 2 > 1 + tol))
        if bool(out.any()):
            i = out.nonzero()[0]
            box = [round(float(v), 6) for v in targets[i[0], i[1], 1:]]
            raise ArgumentError(
                f"task {self.name!r}: a box runs outside the image (cx, cy, w, h = {box}, in "
                f"image {int(i[0])}); boxes are normalised, every edge must lie in [0, 1]. Clip "
                f"the box to the image, or divide the coordinates by the image's width and "
                f"height.", argument="targets")

    def loss(self, outputs, targets):
        if self.head == "grid":
            grid = self._grid(outputs)
            return yolo_v1_loss(grid, targets, boxes_per_cell=self.boxes_per_cell,
                                num_classes=self.num_classes, lambda_coord=self.lambda_coord,
                                lambda_noobj=self.lambda_noobj)
        return roi_detection_loss(outputs, targets, lambda_loc=self.lambda_loc,
                                  fg_iou=self.fg_iou, bg_iou=self.bg_iou)

    def _candidates(self, outputs):
        """(boxes, scores, classes) of every candidate detection, before NMS."""
        if self.head == "grid":
            return B.yolo_decode(self._grid(outputs), self.boxes_per_cell, self.num_classes)
        if outputs.dim() != 3 or outputs.shape[-1] % 5 or outputs.shape[-1] < 10:
            raise ShapeError(f"a RoI head's output must be (N, R, 5 (K + 1)). Received: outputs "
                             f"of shape {tuple(outputs.shape)}.", argument="outputs")
        k = outputs.shape[-1] // 5 - 1
        self.num_classes = k
        probabilities = torch.softmax(outputs[..., :k + 1], -1)
        score, best = probabilities[..., 1:].max(-1)  # the best object class of each RoI
        deltas = outputs[..., k + 1:5 * k + 1].reshape(*outputs.shape[:2], k, 4)
        chosen = deltas.gather(2, best[..., None, None].expand(*best.shape, 1, 4))[..., 0, :]
        rois = outputs[..., 5 * k + 1:]
        boxes = B.apply_deltas(rois, chosen).clamp(0, 1)
        return boxes, score, best

    def predict(self, outputs):
        """Detections after per-class NMS, best first: ``boxes`` ``(N, D, 4)`` ``xyxy`` in
        [0, 1], ``scores`` ``(N, D)``, ``classes`` int64 ``(N, D)`` and ``valid`` bool
        ``(N, D)`` (D: the most detections kept in any image of the batch, at most
        ``max_detections``)."""
        with torch.no_grad():
            boxes, scores, classes = self._candidates(outputs.detach())
            valid = scores >= self.score_threshold
            keep = B.batched_nms(boxes, scores, self.nms_iou, classes=classes, valid=valid)
            key = torch.where(keep, scores, torch.full_like(scores, -math.inf))
            order = torch.sort(key, dim=1, descending=True, stable=True).indices
            count = min(int(keep.sum(1).max()) if keep.numel() else 0, self.max_detections)
            order = order[:, :count]
            return {"boxes": boxes.gather(1, order[..., None].expand(*order.shape, 4)),
                    "scores": scores.gather(1, order), "classes": classes.gather(1, order),
                    "valid": keep.gather(1, order)}

    def metric_inputs(self, outputs, targets):
        found = self.predict(outputs)
        return found["boxes"], found["scores"], found["classes"], found["valid"], targets

    def meter(self) -> TaskMeter:
        if self.num_classes is None:
            raise ArgumentError(f"task {self.name!r} needs num_classes for its metrics. Call "
                                f"check() first or pass num_classes.", argument="num_classes")
        return TaskMeter(self, DetectionMeter(self.num_classes, self.map_iou))
