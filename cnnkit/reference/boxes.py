"""Boxes by loops: conversions, IoU, greedy non-maximum suppression, the YOLO grid encoding
and decoding, and the R-CNN box parametrisation, one box at a time from their definitions.

* IoU: the area of the intersection over the area of the union (Everingham et al. 2010,
  section 4.4, eq. 2).
* Greedy NMS: visit the boxes from the highest score down (ties in input order); keep a box
  unless a kept box of the same class overlaps it with IoU above the threshold.
* YOLO v1 (Redmon et al. 2016, section 2): the cell holding a box's centre is responsible
  for it; each cell predicts B boxes (x, y offsets in the cell, square roots of w, h
  relative to the image, confidence) and C class probabilities.
* R-CNN deltas (Girshick 2015, section 2.3): ``((gx - px) / pw, (gy - py) / ph,
  log(gw / pw), log(gh / ph))``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["apply_deltas", "box_deltas", "box_iou", "cxcywh_to_xyxy", "nms", "xyxy_to_cxcywh",
           "yolo_decode", "yolo_encode"]


def cxcywh_to_xyxy(boxes) -> np.ndarray:
    """Example:
        >>> cxcywh_to_xyxy([[1.0, 2.0, 2.0, 4.0]]).tolist()
        [[0.0, 0.0, 2.0, 4.0]]
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    out = np.zeros_like(boxes)
    for i in np.ndindex(*boxes.shape[:-1]):
        cx, cy, w, h = boxes[i]
        out[i] = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    return out


def xyxy_to_cxcywh(boxes) -> np.ndarray:
    """Example:
        >>> xyxy_to_cxcywh([[0.0, 0.0, 2.0, 4.0]]).tolist()
        [[1.0, 2.0, 2.0, 4.0]]
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    out = np.zeros_like(boxes)
    for i in np.ndindex(*boxes.shape[:-1]):
        x1, y1, x2, y2 = boxes[i]
        out[i] = ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
    return out


def iou(a, b) -> float:
    """IoU of two ``xyxy`` boxes; 0 when the union is empty.

    Example:
        >>> round(iou([0, 0, 2, 2], [1, 1, 3, 3]), 6)   # 1 / (4 + 4 - 1)
        0.142857
    """
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    area_a = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])
    area_b = max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def box_iou(a, b) -> np.ndarray:
    """Every pair: ``(N, 4)``, ``(M, 4)`` -> ``(N, M)``.

    Example:
        >>> box_iou([[0, 0, 1, 1]], [[0, 0, 1, 1], [2, 2, 3, 3]]).tolist()
        [[1.0, 0.0]]
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    out = np.zeros((len(a), len(b)))
    for i in range(len(a)):
        for j in range(len(b)):
            out[i, j] = iou(a[i], b[j])
    return out


def nms(boxes, scores, iou_threshold=0.5, classes=None) -> list[int]:
    """Greedy NMS: indices of the kept boxes, highest score first.

    Example:
        >>> nms([[0, 0, 1, 1], [0, 0, 1, 0.9], [2, 2, 3, 3]], [0.9, 0.95, 0.5])
        [1, 2]
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    scores = [float(s) for s in scores]
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    kept: list[int] = []
    for i in order:
        suppressed = False
        for j in kept:
            same = classes is None or int(classes[i]) == int(classes[j])
            if same and iou(boxes[j], boxes[i]) > iou_threshold:
                suppressed = True
                break
        if not suppressed:
            kept.append(i)
    return kept


def yolo_encode(targets, rows, cols):
    """Per image, per cell: (has an object, its (cx, cy, w, h), its class or -1); the box
    listed first wins a cell.

    Example:
        >>> obj, boxes, classes = yolo_encode([[[1, 0.9, 0.1, 0.2, 0.2]]], 2, 2)
        >>> obj[0].tolist(), classes[0].tolist()
        ([[False, True], [False, False]], [[-1, 1], [-1, -1]])
    """
    targets = np.asarray(targets, dtype=np.float64)
    n = targets.shape[0]
    obj = np.zeros((n, rows, cols), dtype=bool)
    boxes = np.zeros((n, rows, cols, 4))
    classes = np.full((n, rows, cols), -1, dtype=np.int64)
    for b in range(n):
        for row_values in targets[b]:
            k, cx, cy, w, h = row_values
            if k < 0:
                continue
            row = min(max(int(math.floor(cy * rows)), 0), rows - 1)
            col = min(max(int(math.floor(cx * cols)), 0), cols - 1)
            if obj[b, row, col]:
                continue  # the box listed first keeps the cell
            obj[b, row, col] = True
            boxes[b, row, col] = (cx, cy, w, h)
            classes[b, row, col] = int(k)
    return obj, boxes, classes


def yolo_decode(outputs, boxes_per_cell, num_classes):
    """``(N, 5B + C, rows, cols)`` -> (boxes ``(N, R, 4)`` xyxy, scores, classes), boxes in
    cell order (row-major), B per cell.

    Example:
        >>> out = np.zeros((1, 7, 1, 1)); out[0, :, 0, 0] = [0.5, 0.5, 0.6, 0.4, 0.8, 0.1, 0.9]
        >>> boxes, scores, classes = yolo_decode(out, 1, 2)
        >>> np.round(boxes[0, 0], 6).tolist(), round(float(scores[0, 0]), 6), int(classes[0, 0])
        ([0.32, 0.42, 0.68, 0.58], 0.72, 1)
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    n, _, rows, cols = outputs.shape
    B, C = boxes_per_cell, num_classes
    count = rows * cols * B
    boxes, scores = np.zeros((n, count, 4)), np.zeros((n, count))
    classes = np.zeros((n, count), dtype=np.int64)
    for i in range(n):
        k = 0
        for row in range(rows):
            for col in range(cols):
                cell = outputs[i, :, row, col]
                probs = [min(max(p, 0.0), 1.0) for p in cell[5 * B:5 * B + C]]
                best = max(range(C), key=lambda c: (probs[c], -c))
                for b in range(B):
                    x, y, sw, sh, conf = cell[5 * b:5 * b + 5]
                    cx, cy, w, h = (col + x) / cols, (row + y) / rows, sw * sw, sh * sh
                    box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
                    boxes[i, k] = [min(max(v, 0.0), 1.0) for v in box]
                    scores[i, k] = min(max(conf, 0.0), 1.0) * probs[best]
                    classes[i, k] = best
                    k += 1
    return boxes, scores, classes


def box_deltas(proposal, target, std=(0.1, 0.1, 0.2, 0.2)) -> list[float]:
    """One proposal and one target, ``xyxy`` -> ``v``.

    Example:
        >>> [round(v, 4) for v in box_deltas([0, 0, 2, 2], [1, 0, 3, 4], (1, 1, 1, 1))]
        [0.5, 0.5, 0.0, 0.6931]
    """
    px, py = (proposal[0] + proposal[2]) / 2, (proposal[1] + proposal[3]) / 2
    pw, ph = proposal[2] - proposal[0], proposal[3] - proposal[1]
    gx, gy = (target[0] + target[2]) / 2, (target[1] + target[3]) / 2
    gw, gh = target[2] - target[0], target[3] - target[1]
    v = [(gx - px) / pw, (gy - py) / ph, math.log(gw / pw), math.log(gh / ph)]
    return [vi / si for vi, si in zip(v, std)]


def apply_deltas(proposal, delta, std=(0.1, 0.1, 0.2, 0.2)) -> list[float]:
    """One proposal moved by one delta, ``xyxy``.

    Example:
        >>> [round(v, 3) for v in apply_deltas([0, 0, 2, 2], [0.5, 0.5, 0, math.log(2)], (1, 1, 1, 1))]
        [1.0, 0.0, 3.0, 4.0]
    """
    px, py = (proposal[0] + proposal[2]) / 2, (proposal[1] + proposal[3]) / 2
    pw, ph = proposal[2] - proposal[0], proposal[3] - proposal[1]
    dx, dy, dw, dh = (d * s for d, s in zip(delta, std))
    gx, gy, gw, gh = px + dx * pw, py + dy * ph, pw * math.exp(dw), ph * math.exp(dh)
    return [gx - gw / 2, gy - gh / 2, gx + gw / 2, gy + gh / 2]
