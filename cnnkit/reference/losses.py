"""More losses by loops: mean squared error, smooth L1, per-pixel softmax cross-entropy
with an ignore label, and the detection losses of YOLO v1 and Fast R-CNN, one element,
cell or RoI at a time from the papers' equations.

* Smooth L1: Girshick 2015, eq. 3.
* Per-pixel cross-entropy with ignored pixels: Long et al. 2015 (fully convolutional
  networks; the loss is a sum over the labelled pixels).
* YOLO v1: Redmon et al. 2016, eq. 3.
* Fast R-CNN: Girshick 2015, eq. 1, with RoIs labelled by their best IoU (section 2.3).
"""

from __future__ import annotations

import math

import numpy as np

from . import boxes as ref_boxes
from .norm import _log_softmax

__all__ = ["fast_rcnn_loss", "match_rois", "mse_loss", "smooth_l1", "smooth_l1_loss",
           "softmax_cross_entropy_ignore", "yolo_v1_loss"]


def _reduce(values, reduction, count=None):
    if reduction == "none":
        return values
    total = float(np.sum(values))
    return total if reduction == "sum" else total / (values.size if count is None else count)


def mse_loss(prediction, target, reduction="mean"):
    """Example:
        >>> mse_loss(np.array([[1.0, 2.0]]), np.zeros((1, 2)))
        2.5
    """
    yhat, y = np.asarray(prediction, np.float64), np.asarray(target, np.float64)
    out = np.zeros_like(yhat)
    for i in np.ndindex(*yhat.shape):
        out[i] = (yhat[i] - y[i]) ** 2
    return _reduce(out, reduction)


def smooth_l1(x: float, beta: float = 1.0) -> float:
    """Example:
        >>> smooth_l1(0.5), smooth_l1(-3.0)
        (0.125, 2.5)
    """
    return 0.5 * x * x / beta if abs(x) < beta else abs(x) - 0.5 * beta


def smooth_l1_loss(prediction, target, beta=1.0, reduction="mean"):
    """Example:
        >>> smooth_l1_loss(np.array([0.5, 3.0]), np.zeros(2), reduction="none").tolist()
        [0.125, 2.5]
    """
    yhat, y = np.asarray(prediction, np.float64), np.asarray(target, np.float64)
    out = np.zeros_like(yhat)
    for i in np.ndindex(*yhat.shape):
        out[i] = smooth_l1(yhat[i] - y[i], beta)
    return _reduce(out, reduction)


def softmax_cross_entropy_ignore(logits, target, ignore_index, weight=None, reduction="mean"):
    """``-w_y log softmax(z)_y`` at each labelled position; ``mean`` divides by the sum of
    the labelled positions' weights (0 when none is labelled).

    Example:
        >>> round(softmax_cross_entropy_ignore(np.zeros((1, 2, 2)), np.array([[1, 255]]), 255), 6)
        0.693147
    """
    logits = np.asarray(logits, np.float64)
    target = np.asarray(target)
    n, k = logits.shape[:2]
    spatial = logits.shape[2:]
    losses, weights = np.zeros((n,) + spatial), np.zeros((n,) + spatial)
    for b in range(n):
        for s in np.ndindex(*spatial):
            label = int(target[(b,) + s])
            if label == ignore_index:
                continue
            w = 1.0 if weight is None else float(weight[label])
            losses[(b,) + s] = -w * _log_softmax(logits[(b, slice(None)) + s])[label]
            weights[(b,) + s] = w
    if reduction == "none":
        return losses
    if reduction == "sum":
        return float(losses.sum())
    return float(losses.sum() / weights.sum()) if weights.sum() > 0 else 0.0


def yolo_v1_loss(outputs, targets, boxes_per_cell=2, num_classes=None, lambda_coord=5.0,
                 lambda_noobj=0.5, reduction="mean"):
    """Eq. 3 of Redmon et al. 2016 by loops over images, cells and predictors; returns
    ``(loss, parts)`` with the five terms summed over images (``mean``: divided by N).

    Example:
        >>> out = np.zeros((1, 13, 7, 7))
        >>> yolo_v1_loss(out, [[[1, 0.5, 0.5, 0.2, 0.4]]])[0]
        6.5
    """
    outputs = np.asarray(outputs, np.float64)
    n, depth, rows, cols = outputs.shape
    B = boxes_per_cell
    C = depth - 5 * B if num_classes is None else num_classes
    obj, tbox, tcls = ref_boxes.yolo_encode(targets, rows, cols)
    parts = {key: np.zeros(n) for key in ("coord", "size", "object", "no_object", "class")}
    for i in range(n):
        for row in range(rows):
            for col in range(cols):
                cell = outputs[i, :, row, col]
                responsible, ious = -1, [0.0] * B
                if obj[i, row, col]:
                    cx, cy, w, h = tbox[i, row, col]
                    truth = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
                    for b in range(B):
                        x, y, sw, sh = cell[5 * b:5 * b + 4]
                        px, py, pw, ph = (col + x) / cols, (row + y) / rows, sw * sw, sh * sh
                        ious[b] = ref_boxes.iou([px - pw / 2, py - ph / 2, px + pw / 2,
                                                 py + ph / 2], truth)
                    responsible = max(range(B), key=lambda b: (ious[b], -b))
                    tx, ty = cx * cols - col, cy * rows - row
                    for c in range(C):
                        p_hat = 1.0 if c == tcls[i, row, col] else 0.0
                        parts["class"][i] += (cell[5 * B + c] - p_hat) ** 2
                for b in range(B):
                    x, y, sw, sh, conf = cell[5 * b:5 * b + 5]
                    if b == responsible:
                        parts["coord"][i] += lambda_coord * ((x - tx) ** 2 + (y - ty) ** 2)
                        parts["size"][i] += lambda_coord * ((sw - math.sqrt(w)) ** 2
                                                            + (sh - math.sqrt(h)) ** 2)
                        parts["object"][i] += (conf - ious[b]) ** 2
                    else:
                        parts["no_object"][i] += lambda_noobj * conf ** 2
    per_image = sum(parts.values())
    if reduction == "none":
        return per_image, parts
    scale = 1.0 if reduction == "sum" else 1.0 / n
    return float(per_image.sum() * scale), {k: float(v.sum() * scale) for k, v in parts.items()}


def fast_rcnn_loss(class_logits, box_deltas, labels, box_targets, lambda_loc=1.0,
                   reduction="mean"):
    """Eq. 1 of Girshick 2015 by a loop over RoIs; RoIs labelled -1 are left out.

    Example:
        >>> round(fast_rcnn_loss(np.zeros((1, 2)), np.zeros((1, 4)), [1], [[2.0, 0, 0, 0]]), 6)
        2.193147
    """
    logits = np.asarray(class_logits, np.float64)
    deltas = np.asarray(box_deltas, np.float64)
    targets = np.asarray(box_targets, np.float64)
    per_roi, kept = np.zeros(len(logits)), 0
    for r, u in enumerate(int(v) for v in labels):
        if u < 0:
            continue
        kept += 1
        loss = -_log_softmax(logits[r])[u]
        if u >= 1:
            t = deltas[r, 4 * (u - 1):4 * u]
            loss += lambda_loc * sum(smooth_l1(t[i] - targets[r, i]) for i in range(4))
        per_roi[r] = loss
    if reduction == "none":
        return per_roi
    if reduction == "sum":
        return float(per_roi.sum())
    return float(per_roi.sum() / max(kept, 1))


def match_rois(rois, targets, fg_iou=0.5, bg_iou=(0.0, 0.5), std=(0.1, 0.1, 0.2, 0.2)):
    """Per image and RoI: the label (class + 1, 0 background, -1 ignored) and the target
    deltas onto the ground truth box of highest IoU (the first on ties).

    Example:
        >>> labels, _ = match_rois([[[0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1]]], [[[2, 0.25, 0.25, 0.5, 0.5]]])
        >>> labels.tolist()
        [[3, 0]]
    """
    rois, targets = np.asarray(rois, np.float64), np.asarray(targets, np.float64)
    n, r = rois.shape[:2]
    labels = np.full((n, r), -1, dtype=np.int64)
    deltas = np.zeros((n, r, 4))
    for i in range(n):
        for j in range(r):
            best, which = 0.0, -1  # an image without objects: best IoU 0
            for m, (k, cx, cy, w, h) in enumerate(targets[i]):
                if k < 0:
                    continue
                value = ref_boxes.iou(rois[i, j], [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
                if which < 0 or value > best:
                    best, which = value, m
            if which >= 0 and best >= fg_iou:
                k, cx, cy, w, h = targets[i, which]
                labels[i, j] = int(k) + 1
                deltas[i, j] = ref_boxes.box_deltas(
                    rois[i, j], [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], std)
            elif bg_iou[0] <= best < bg_iou[1]:
                labels[i, j] = 0
    return labels, deltas
