"""Detection metrics: VOC average precision per class at an IoU threshold and its mean
(mAP@0.5), with all-point interpolation (Everingham et al. 2010, section 4.2; the VOC
devkit from 2010 on); and their accumulator."""

from __future__ import annotations

import torch

from .._validation import ShapeError
from ..functional.boxes import box_iou, cxcywh_to_xyxy
from ._meter import Meter, plain

__all__ = ["DetectionMeter", "match_detections", "voc_ap"]


def voc_ap(recall: torch.Tensor, precision: torch.Tensor) -> float:
    """Area under the precision-recall curve with all-point interpolation (VOC 2010 on).

    The precision at recall ``r`` is interpolated as the highest precision at any recall
    ``>= r`` (which makes the curve monotone); AP is the area under that curve, summed
    where the recall changes: ``AP = sum_n (r_{n+1} - r_n) p_interp(r_{n+1})``.

    Args:
        recall: cumulative recall at each detection, in score order (non-decreasing).
        precision: cumulative precision at each detection.

    Example:
        >>> round(voc_ap(torch.tensor([0.5, 0.5, 1.0]), torch.tensor([1.0, 0.5, 2 / 3])), 6)
        0.833333
    """
    recall, precision = recall.double(), precision.double()
    r = torch.cat((recall.new_zeros(1), recall, recall.new_ones(1)))
    p = torch.cat((precision.new_zeros(1), precision, precision.new_zeros(1)))
    p = p.flip(0).cummax(0).values.flip(0)  # the highest precision at this recall or beyond
    changed = r[1:] != r[:-1]
    return float(((r[1:] - r[:-1]) * p[1:] * changed).sum())


def match_detections(boxes: torch.Tensor, scores: torch.Tensor, classes: torch.Tensor,
                     valid: torch.Tensor, targets: torch.Tensor, iou_threshold: float = 0.5
                     ) -> torch.Tensor:
    """Which detections are true positives, as the VOC devkit decides (Everingham et al.
    2010, section 4.4).

    Detections are taken from the highest score down. Each is assigned the ground truth
    box of its class (in its image) that it overlaps most; it is a true positive if that
    IoU is at least ``iou_threshold`` and no detection before it took the same box;
    otherwise (a miss, or a duplicate) it is a false positive.

    Implementation: the assignment does not depend on the order, so every detection's
    best box is found at once; among the detections that pass the threshold on one box,
    the first in score order is the true positive.

    Args:
        boxes: ``(N, D, 4)`` ``xyxy`` detections in [0, 1].
        scores: ``(N, D)``.
        classes: int64 ``(N, D)``.
        valid: bool ``(N, D)``: the detections that exist (after NMS and a score threshold).
        targets: ``(N, M, 5)`` rows ``[class, cx, cy, w, h]``, class -1 padding.

    Returns:
        bool ``(N, D)``: true positives (False for invalid detections).

    Example:
        >>> boxes = torch.tensor([[[0., 0, .5, .5], [0., 0, .5, .5], [.5, .5, 1, 1]]])
        >>> targets = torch.tensor([[[0, .25, .25, .5, .5]]])
        >>> match_detections(boxes, torch.tensor([[.9, .8, .7]]), torch.zeros(1, 3, dtype=torch.long),
        ...                  torch.ones(1, 3, dtype=torch.bool), targets).tolist()
        [[True, False, False]]
    """
    n, d = scores.shape
    m = targets.shape[1]
    if m == 0 or d == 0:
        return torch.zeros((n, d), dtype=torch.bool, device=scores.device)
    truth = cxcywh_to_xyxy(targets[..., 1:].to(boxes.dtype))
    truth_class = targets[..., 0].long()
    iou = box_iou(boxes, truth)  # (N, D, M)
    same = (classes[:, :, None] == truth_class[:, None, :]) & (truth_class[:, None, :] >= 0)
    iou = torch.where(same, iou, torch.full_like(iou, -1.0))
    best, which = iou.max(-1)
    hit = valid & (best >= iou_threshold)
    # Rank of each detection in its image, highest score first (ties: input order).
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(d, device=scores.device)
                                            .expand(n, d))
    key = torch.arange(n, device=scores.device)[:, None] * m + which
    key = torch.where(hit, key, torch.full_like(key, n * m))  # misses: a spare slot
    first = torch.full((n * m + 1,), d, dtype=torch.long, device=scores.device)
    first.scatter_reduce_(0, key.reshape(-1), rank.reshape(-1), reduce="amin")
    return hit & (rank == first[key])


class DetectionMeter(Meter):
    """Mean average precision at an IoU threshold (VOC: 0.5) over a whole data set.

    ``update`` matches a batch's detections to its ground truth
    (:func:`match_detections`) and keeps, per detection, its score, class and whether it
    is a true positive, and per class the number of ground truth boxes. ``compute`` sorts
    each class's detections by score (the only per-class loop), accumulates precision
    and recall, and integrates with :func:`voc_ap`.

    ``compute()`` gives ``mAP`` (the mean over classes that have ground truth boxes),
    ``average_precision`` (per class, None for a class without ground truth boxes),
    ``precision`` and ``recall`` (per class, at the end of its ranking: all detections
    kept), ``detections`` and ``objects`` (counts).

    Example:
        >>> meter = DetectionMeter(num_classes=1)
        >>> boxes = torch.tensor([[[0., 0, .5, .5], [.5, .5, 1, 1]]])
        >>> meter.update(boxes, torch.tensor([[.9, .8]]), torch.zeros(1, 2, dtype=torch.long),
        ...              torch.ones(1, 2, dtype=torch.bool),
        ...              torch.tensor([[[0, .25, .25, .5, .5], [0, .75, .25, .5, .5]]]))
        >>> result = meter.compute()
        >>> result["mAP"], result["recall"]
        (0.5, [0.5])
    """

    def __init__(self, num_classes: int, iou_threshold: float = 0.5):
        self.num_classes, self.iou_threshold = num_classes, iou_threshold
        self.reset()

    def reset(self) -> None:
        self.scores: list[torch.Tensor] = []
        self.classes: list[torch.Tensor] = []
        self.true: list[torch.Tensor] = []
        self.objects = torch.zeros(self.num_classes, dtype=torch.long)

    def update(self, boxes: torch.Tensor, scores: torch.Tensor, classes: torch.Tensor,
               valid: torch.Tensor, targets: torch.Tensor) -> None:
        """Add a batch of detections (see :func:`match_detections` for the shapes)."""
        if boxes.dim() != 3 or scores.shape != boxes.shape[:2] or classes.shape != scores.shape \
                or valid.shape != scores.shape or targets.dim() != 3 or targets.shape[-1] != 5 \
                or targets.shape[0] != boxes.shape[0]:
            raise ShapeError(
                f"a detection meter takes boxes (N, D, 4), scores, classes and valid (N, D), and "
                f"targets (N, M, 5). Received: boxes {tuple(boxes.shape)}, scores "
                f"{tuple(scores.shape)}, classes {tuple(classes.shape)}, valid "
                f"{tuple(valid.shape)}, targets {tuple(targets.shape)}.")
        boxes, scores, targets = boxes.detach(), scores.detach(), targets.detach()
        true = match_detections(boxes, scores, classes, valid, targets, self.iou_threshold)
        self.scores.append(scores[valid].double().cpu())
        self.classes.append(classes[valid].cpu())
        self.true.append(true[valid].cpu())
        present = targets[..., 0].long()
        present = present[present >= 0].cpu()
        self.objects += torch.bincount(present, minlength=self.num_classes)[:self.num_classes]

    def compute(self) -> dict:
        scores = torch.cat(self.scores) if self.scores else torch.zeros(0, dtype=torch.float64)
        classes = torch.cat(self.classes) if self.classes else torch.zeros(0, dtype=torch.long)
        true = torch.cat(self.true) if self.true else torch.zeros(0, dtype=torch.bool)
        ap, precision, recall = [], [], []
        for k in range(self.num_classes):  # per class: sort its detections by score
            objects = int(self.objects[k])
            mine = classes == k
            order = torch.sort(scores[mine], descending=True, stable=True).indices
            tp = true[mine][order].double().cumsum(0)
            seen = torch.arange(1, len(tp) + 1, dtype=torch.float64)
            if objects == 0:
                ap.append(float("nan"))
                recall.append(float("nan"))
                precision.append(float(tp[-1] / seen[-1]) if len(tp) else float("nan"))
                continue
            rec, prec = tp / objects, tp / seen
            ap.append(voc_ap(rec, prec) if len(tp) else 0.0)
            recall.append(float(rec[-1]) if len(tp) else 0.0)
            precision.append(float(prec[-1]) if len(tp) else float("nan"))
        defined = [v for v in ap if v == v]
        return {"mAP": sum(defined) / len(defined) if defined else None,
                "average_precision": plain(ap), "precision": plain(precision),
                "recall": plain(recall), "detections": int(len(scores)),
                "objects": int(self.objects.sum())}
