"""Boxes: conversions, intersection over union, non-maximum suppression, the YOLO grid
encoding (Redmon et al. 2016) and the R-CNN box parametrisation (Girshick 2015).

Conventions. A box is four numbers in the last dimension. ``xyxy`` is ``(x1, y1, x2, y2)``
with ``x1 <= x2`` and ``y1 <= y2``; ``cxcywh`` is ``(cx, cy, w, h)``, centre and size.
Coordinates are continuous (a box from 0 to 1 has width 1, not 2): detection targets are
normalised to the image, ``[0, 1]`` on both axes. Detection targets are padded tensors
``(N, M, 5)`` of rows ``[class, cx, cy, w, h]``; a row whose class is -1 is padding.

Everything here works on whole batches at once; nothing loops over samples or boxes in
Python (non-maximum suppression repeats one matrix step until nothing changes, see
:func:`batched_nms`).
"""

from __future__ import annotations

import math

import torch

from .._validation import ArgumentError, ArgumentTypeError, ShapeError

__all__ = [
    "BOX_FORMATS", "apply_deltas", "batched_nms", "box_area", "box_convert", "box_deltas",
    "box_iou", "cxcywh_to_xyxy", "grid_size", "nms", "xyxy_to_cxcywh", "yolo_decode",
    "yolo_encode",
]

BOX_FORMATS = ("xyxy", "cxcywh")


def _check_boxes(boxes, name: str = "boxes") -> torch.Tensor:
    if not isinstance(boxes, torch.Tensor):
        raise ArgumentTypeError(f"{name} must be a tensor (..., 4). Received: {name} of type "
                                f"{type(boxes).__name__}.", argument=name)
    if boxes.dim() == 0 or boxes.shape[-1] != 4:
        raise ShapeError(f"{name} must have 4 numbers in the last dimension (x1, y1, x2, y2 or "
                         f"cx, cy, w, h). Received: {name}.shape={tuple(boxes.shape)}.",
                         argument=name)
    return boxes


def cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """Centre and size -> corners: ``(cx, cy, w, h)`` -> ``(cx - w/2, cy - h/2, cx + w/2,
    cy + h/2)``.

    Shape:
        ``(..., 4)`` -> ``(..., 4)``.

    Example:
        >>> cxcywh_to_xyxy(torch.tensor([0.5, 0.5, 0.2, 0.4]))
        tensor([0.4000, 0.3000, 0.6000, 0.7000])
    """
    cx, cy, w, h = _check_boxes(boxes).unbind(-1)
    return torch.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), dim=-1)


def xyxy_to_cxcywh(boxes: torch.Tensor) -> torch.Tensor:
    """Corners -> centre and size: ``(x1, y1, x2, y2)`` -> ``((x1 + x2)/2, (y1 + y2)/2,
    x2 - x1, y2 - y1)``.

    Shape:
        ``(..., 4)`` -> ``(..., 4)``.

    Example:
        >>> xyxy_to_cxcywh(torch.tensor([0.4, 0.3, 0.6, 0.7]))
        tensor([0.5000, 0.5000, 0.2000, 0.4000])
    """
    x1, y1, x2, y2 = _check_boxes(boxes).unbind(-1)
    return torch.stack(((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1), dim=-1)


def box_convert(boxes: torch.Tensor, in_fmt: str, out_fmt: str) -> torch.Tensor:
    """Convert boxes between ``"xyxy"`` and ``"cxcywh"``.

    Raises:
        ArgumentError: an unknown format.

    Example:
        >>> box_convert(torch.tensor([[0., 0., 2., 4.]]), "xyxy", "cxcywh")
        tensor([[1., 2., 2., 4.]])
    """
    for name, fmt in (("in_fmt", in_fmt), ("out_fmt", out_fmt)):
        if fmt not in BOX_FORMATS:
            raise ArgumentError(f"{name} must be 'xyxy' or 'cxcywh'. Received: {name}={fmt!r}.",
                                argument=name)
    if in_fmt == out_fmt:
        return _check_boxes(boxes).clone()
    return cxcywh_to_xyxy(boxes) if in_fmt == "cxcywh" else xyxy_to_cxcywh(boxes)


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Area of ``xyxy`` boxes, ``(x2 - x1) (y2 - y1)``; 0 for an inverted box.

    Shape:
        ``(..., 4)`` -> ``(...)``.

    Example:
        >>> box_area(torch.tensor([[0., 0., 2., 3.], [1., 1., 0., 0.]]))
        tensor([6., 0.])
    """
    x1, y1, x2, y2 = _check_boxes(boxes).unbind(-1)
    return (x2 - x1).clamp_min(0) * (y2 - y1).clamp_min(0)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Intersection over union of every box of ``a`` with every box of ``b`` (``xyxy``).

    ``IoU(A, B) = area(A n B) / area(A u B)`` (Everingham et al. 2010, eq. 2: a detection
    is correct when its IoU with a ground truth box exceeds 0.5); 0 where the union is
    empty (two points).

    Shape:
        ``(..., N, 4)`` and ``(..., M, 4)`` -> ``(..., N, M)``; leading dimensions
        broadcast (one image per batch entry).

    Example:
        >>> box_iou(torch.tensor([[0., 0., 2., 2.]]), torch.tensor([[1., 1., 3., 3.], [0., 0., 2., 2.]]))
        tensor([[0.1429, 1.0000]])
    """
    a, b = _check_boxes(a, "a"), _check_boxes(b, "b")
    if a.dim() < 2 or b.dim() < 2:
        raise ShapeError(f"box_iou takes lists of boxes (..., N, 4) and (..., M, 4). Received: "
                         f"a.shape={tuple(a.shape)}, b.shape={tuple(b.shape)}.")
    lo = torch.maximum(a[..., :, None, :2], b[..., None, :, :2])
    hi = torch.minimum(a[..., :, None, 2:], b[..., None, :, 2:])
    inter = (hi - lo).clamp_min(0).prod(-1)
    union = box_area(a)[..., :, None] + box_area(b)[..., None, :] - inter
    return torch.where(union > 0, inter / union.clamp_min(torch.finfo(union.dtype).tiny),
                       torch.zeros_like(inter))


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float = 0.5, *,
                classes: torch.Tensor | None = None, valid: torch.Tensor | None = None
                ) -> torch.Tensor:
    """Greedy non-maximum suppression for a batch of images, per class: which boxes stay.

    Greedy NMS visits the boxes from the highest score down and keeps a box unless a box
    kept before it (of the same class, in the same image) overlaps it with IoU above
    ``iou_threshold``. Ties in score keep their original order.

    Implementation: with the boxes sorted by score and ``S[j, i]`` = "box ``j`` comes
    before ``i`` and would suppress it", the greedy result is the unique ``keep`` with
    ``keep[i] = valid[i] and not any_j keep[j] S[j, i]``. Starting from ``keep = valid``,
    one step ``keep <- valid & not (keep @ S)`` fixes the first box, the next step the
    second, and so on, so repeating it until nothing changes gives exactly the greedy
    answer: each step is one batched matrix product, and the number of steps is the
    length of the longest chain of suppressions (a few), not the number of boxes.

    Args:
        boxes: ``(N, R, 4)`` ``xyxy`` boxes (or ``(R, 4)`` for one image).
        scores: ``(N, R)`` (or ``(R,)``).
        iou_threshold: suppress boxes whose IoU with a kept box is above this.
        classes: ``(N, R)`` class of each box; boxes of different classes never suppress
            each other. None: one class.
        valid: ``(N, R)`` bool, boxes that take part (a score threshold); others are not
            kept and suppress nothing.

    Returns:
        ``(N, R)`` bool (or ``(R,)``): the boxes that stay, in the input's order.

    Shape:
        memory ``O(N R^2)``: keep ``R`` to a few thousand (threshold the scores first).

    Example:
        >>> boxes = torch.tensor([[0., 0, 1, 1], [0., 0, 1, 0.9], [2., 2, 3, 3]])
        >>> batched_nms(boxes, torch.tensor([0.9, 0.95, 0.5]), 0.5)
        tensor([False,  True,  True])
    """
    single = boxes.dim() == 2
    if single:
        boxes, scores = boxes[None], scores[None]
        classes = None if classes is None else classes[None]
        valid = None if valid is None else valid[None]
    _check_boxes(boxes)
    if boxes.dim() != 3 or scores.shape != boxes.shape[:2]:
        raise ShapeError(f"batched_nms takes boxes (N, R, 4) and scores (N, R). Received: "
                         f"boxes.shape={tuple(boxes.shape)}, scores.shape={tuple(scores.shape)}.")
    if not 0.0 <= float(iou_threshold) <= 1.0:
        raise ArgumentError(f"iou_threshold must be in [0, 1]. Received: "
                            f"iou_threshold={iou_threshold!r}.", argument="iou_threshold")
    n, r = scores.shape
    if valid is None:
        valid = torch.ones((n, r), dtype=torch.bool, device=boxes.device)
    order = torch.sort(scores.detach(), dim=1, descending=True, stable=True).indices
    sorted_boxes = boxes.detach().gather(1, order[..., None].expand(n, r, 4))
    sorted_valid = valid.gather(1, order)
    suppress = box_iou(sorted_boxes, sorted_boxes) > iou_threshold
    if classes is not None:
        sorted_classes = classes.gather(1, order)
        suppress &= sorted_classes[:, :, None] == sorted_classes[:, None, :]
    earlier = torch.ones(r, r, dtype=torch.bool, device=boxes.device).triu(1)
    suppress = (suppress & earlier & sorted_valid[:, :, None]).to(torch.float32)
    keep = sorted_valid
    for _ in range(r + 1):
        hit = torch.bmm(keep.to(torch.float32)[:, None, :], suppress)[:, 0] > 0
        new = sorted_valid & ~hit
        if torch.equal(new, keep):
            break
        keep = new
    out = torch.zeros_like(keep).scatter(1, order, keep)
    return out[0] if single else out


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float = 0.5, *,
        classes: torch.Tensor | None = None) -> torch.Tensor:
    """Greedy non-maximum suppression of one image's boxes (see :func:`batched_nms`).

    Args:
        boxes: ``(R, 4)`` ``xyxy``.
        scores: ``(R,)``.
        iou_threshold: suppress boxes whose IoU with a kept box is above this.
        classes: ``(R,)``: suppress only within a class.

    Returns:
        int64 indices of the kept boxes, highest score first (ties in input order).

    Example:
        >>> boxes = torch.tensor([[0., 0, 1, 1], [0., 0, 1, 0.9], [2., 2, 3, 3]])
        >>> nms(boxes, torch.tensor([0.9, 0.95, 0.5]), 0.5)
        tensor([1, 2])
    """
    if boxes.dim() != 2 or scores.dim() != 1:
        raise ShapeError(f"nms takes boxes (R, 4) and scores (R,). Received: "
                         f"boxes.shape={tuple(boxes.shape)}, scores.shape={tuple(scores.shape)}.")
    keep = batched_nms(boxes, scores, iou_threshold, classes=classes)
    order = torch.sort(scores.detach(), descending=True, stable=True).indices
    return order[keep[order]]


# --------------------------------------------------------------------------------------
# The YOLO grid (Redmon et al. 2016, section 2)
# --------------------------------------------------------------------------------------

def grid_size(grid) -> tuple[int, int]:
    """``S`` or ``(rows, cols)`` -> ``(rows, cols)``, checked.

    Example:
        >>> grid_size(7), grid_size((4, 6))
        ((7, 7), (4, 6))
    """
    items = (grid, grid) if isinstance(grid, int) and not isinstance(grid, bool) else grid
    try:
        rows, cols = items
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"grid must be an int S or (rows, cols). Received: grid={grid!r}.",
                                argument="grid") from None
    for v in (rows, cols):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ArgumentError(f"grid must be positive ints. Received: grid={grid!r}.",
                                argument="grid")
    return rows, cols


def yolo_encode(targets: torch.Tensor, grid) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Put each ground-truth box in the grid cell that holds its centre (YOLO v1).

    "If the center of an object falls into a grid cell, that grid cell is responsible for
    detecting that object" (Redmon et al. 2016, section 2). The cell of a centre
    ``(cx, cy)`` is row ``floor(cy * rows)``, column ``floor(cx * cols)`` (a centre on the
    far edge, 1.0, goes to the last cell). A cell predicts one set of class
    probabilities, so it holds one object: when several centres fall into one cell, the
    box listed first wins.

    Args:
        targets: ``(N, M, 5)`` rows ``[class, cx, cy, w, h]`` normalised to [0, 1]; class -1
            marks padding.
        grid: ``S`` or ``(rows, cols)``.

    Returns:
        ``(obj, boxes, classes)``: bool ``(N, rows, cols)``, the cells that hold an object;
        ``(N, rows, cols, 4)`` its ``(cx, cy, w, h)`` in image coordinates (zeros elsewhere);
        int64 ``(N, rows, cols)`` its class (-1 elsewhere).

    Example:
        >>> obj, boxes, classes = yolo_encode(torch.tensor([[[2., 0.6, 0.2, 0.3, 0.1]]]), 2)
        >>> obj[0].tolist(), classes[0].tolist(), boxes[0, 0, 1].tolist()
        ([[False, True], [False, False]], [[-1, 2], [-1, -1]], [0.6000000238418579, 0.20000000298023224, 0.30000001192092896, 0.10000000149011612])
    """
    rows, cols = grid_size(grid)
    if not isinstance(targets, torch.Tensor) or targets.dim() != 3 or targets.shape[-1] != 5:
        shape = tuple(targets.shape) if isinstance(targets, torch.Tensor) else type(targets).__name__
        raise ShapeError(f"detection targets must be (N, M, 5) rows [class, cx, cy, w, h]. "
                         f"Received: targets of shape {shape}.", argument="targets")
    n, m = targets.shape[:2]
    device = targets.device
    cells = rows * cols
    real = targets[..., 0] >= 0
    row = (targets[..., 2] * rows).floor().long().clamp(0, rows - 1)
    col = (targets[..., 1] * cols).floor().long().clamp(0, cols - 1)
    flat = torch.arange(n, device=device)[:, None] * cells + row * cols + col
    flat = torch.where(real, flat, torch.full_like(flat, n * cells))  # padding: a spare slot
    index = torch.arange(m, device=device).expand(n, m)
    first = torch.full((n * cells + 1,), m, dtype=torch.long, device=device)
    first.scatter_reduce_(0, flat.reshape(-1), index.reshape(-1), reduce="amin")
    first = first[:-1].view(n, cells)
    obj = first < m
    pick = first.clamp_max(max(m - 1, 0))
    if m == 0:
        chosen = targets.new_zeros((n, cells, 5))
    else:
        chosen = targets.gather(1, pick[..., None].expand(n, cells, 5))
    boxes = torch.where(obj[..., None], chosen[..., 1:], torch.zeros_like(chosen[..., 1:]))
    classes = torch.where(obj, chosen[..., 0].long(), torch.full_like(obj, -1, dtype=torch.long))
    return (obj.view(n, rows, cols), boxes.view(n, rows, cols, 4),
            classes.view(n, rows, cols))


def _yolo_split(outputs: torch.Tensor, boxes_per_cell: int, num_classes: int):
    """``(N, 5B + C, rows, cols)`` -> per-box ``(N, rows, cols, B, 5)`` and class scores
    ``(N, rows, cols, C)``."""
    depth = 5 * boxes_per_cell + num_classes
    if outputs.dim() != 4 or outputs.shape[1] != depth:
        raise ShapeError(
            f"a YOLO grid output must be (N, 5B + C, rows, cols) = (N, {depth}, rows, cols) for "
            f"B={boxes_per_cell} boxes per cell and C={num_classes} classes. Received: outputs "
            f"of shape {tuple(outputs.shape)}. Make the last layer a conv with {depth} filters "
            f"(or a dense layer of {depth} x rows x cols units).", argument="outputs")
    x = outputs.permute(0, 2, 3, 1)
    n, rows, cols = x.shape[:3]
    return x[..., :5 * boxes_per_cell].reshape(n, rows, cols, boxes_per_cell, 5), \
        x[..., 5 * boxes_per_cell:]


def _cell_offsets(rows: int, cols: int, like: torch.Tensor):
    r = torch.arange(rows, device=like.device, dtype=like.dtype).view(rows, 1)
    c = torch.arange(cols, device=like.device, dtype=like.dtype).view(1, cols)
    return r, c


def yolo_decode(outputs: torch.Tensor, boxes_per_cell: int, num_classes: int
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The boxes a YOLO v1 grid output predicts, with their class-specific scores.

    Each cell predicts ``B`` boxes ``(x, y, sqrt w, sqrt h, confidence)`` (``x, y`` the
    centre's offset within the cell, ``w, h`` relative to the image) and ``C`` class
    probabilities (Redmon et al. 2016, section 2). A box's centre is
    ``((col + x) / cols, (row + y) / rows)``, its size the squares of its outputs, and its
    score "class-specific confidence" ``Pr(class | object) * confidence`` for the cell's
    most probable class, with both factors clipped to [0, 1] (the outputs are linear).
    Boxes are clipped to the image.

    Args:
        outputs: ``(N, 5B + C, rows, cols)``: per cell, ``B`` times ``(x, y, sqrt w,
            sqrt h, confidence)`` then ``C`` class probabilities.
        boxes_per_cell: ``B``.
        num_classes: ``C``.

    Returns:
        ``(boxes, scores, classes)``: ``(N, rows * cols * B, 4)`` ``xyxy`` in [0, 1],
        ``(N, rows * cols * B)`` scores, int64 ``(N, rows * cols * B)`` classes; boxes
        listed cell by cell (row-major), ``B`` per cell.

    Example:
        >>> out = torch.zeros(1, 5 + 2, 1, 1)
        >>> out[0, :, 0, 0] = torch.tensor([0.5, 0.5, 0.6, 0.4, 0.8, 0.1, 0.9])
        >>> boxes, scores, classes = yolo_decode(out, 1, 2)
        >>> [round(v, 4) for v in boxes[0, 0].tolist()], round(float(scores[0, 0]), 4), int(classes[0, 0])
        ([0.32, 0.42, 0.68, 0.58], 0.72, 1)
    """
    per_box, class_scores = _yolo_split(outputs, boxes_per_cell, num_classes)
    n, rows, cols, b = per_box.shape[:4]
    r, c = _cell_offsets(rows, cols, per_box)
    cx = (c[..., None] + per_box[..., 0]) / cols
    cy = (r[..., None] + per_box[..., 1]) / rows
    w, h = per_box[..., 2].square(), per_box[..., 3].square()
    boxes = cxcywh_to_xyxy(torch.stack((cx, cy, w, h), -1)).clamp(0, 1)
    probability, classes = class_scores.clamp(0, 1).max(-1)
    scores = per_box[..., 4].clamp(0, 1) * probability[..., None]
    classes = classes[..., None].expand(n, rows, cols, b)
    return boxes.reshape(n, -1, 4), scores.reshape(n, -1), classes.reshape(n, -1)


# --------------------------------------------------------------------------------------
# The R-CNN box parametrisation (Girshick 2015, section 2.3; Girshick et al. 2014, app. C)
# --------------------------------------------------------------------------------------

def box_deltas(proposals: torch.Tensor, targets: torch.Tensor,
               std: tuple[float, ...] = (0.1, 0.1, 0.2, 0.2)) -> torch.Tensor:
    """The regression target ``v`` that moves ``proposals`` onto ``targets`` (both ``xyxy``).

    ``v = ((gx - px) / pw, (gy - py) / ph, log(gw / pw), log(gh / ph)) / std`` with centres
    ``(px, py)``, ``(gx, gy)`` and sizes ``pw, ph``, ``gw, gh``: a scale-invariant shift
    of the centre and a log-space change of size (Girshick 2015, section 2.3). Fast R-CNN
    normalises the targets to about unit variance; ``std`` is that scale (the values the
    Fast R-CNN code uses).

    Shape:
        ``(..., 4)`` and ``(..., 4)`` -> ``(..., 4)``.

    Raises:
        ArgumentError: a box of zero width or height.

    Example:
        >>> box_deltas(torch.tensor([0., 0., 2., 2.]), torch.tensor([1., 0., 3., 4.]), std=(1, 1, 1, 1))
        tensor([0.5000, 0.5000, 0.0000, 0.6931])
    """
    p, g = xyxy_to_cxcywh(proposals), xyxy_to_cxcywh(targets)
    if bool((p[..., 2:] <= 0).any()) or bool((g[..., 2:] <= 0).any()):
        raise ArgumentError("box_deltas needs boxes of positive width and height. Received: a "
                            "proposal or target with x2 <= x1 or y2 <= y1. Drop empty boxes.")
    v = torch.cat(((g[..., :2] - p[..., :2]) / p[..., 2:], torch.log(g[..., 2:] / p[..., 2:])), -1)
    return v / v.new_tensor(std)


def apply_deltas(proposals: torch.Tensor, deltas: torch.Tensor,
                 std: tuple[float, ...] = (0.1, 0.1, 0.2, 0.2),
                 max_log_scale: float = math.log(1000.0 / 16)) -> torch.Tensor:
    """Move ``proposals`` by ``deltas`` (the inverse of :func:`box_deltas`): ``xyxy``.

    ``max_log_scale`` bounds ``log(gw / pw)`` so that an untrained network's outputs cannot
    overflow ``exp``.

    Shape:
        ``(..., 4)`` and ``(..., 4)`` -> ``(..., 4)``.

    Example:
        >>> apply_deltas(torch.tensor([0., 0., 2., 2.]), torch.tensor([0.5, 0.5, 0., math.log(2)]), std=(1, 1, 1, 1))
        tensor([1., 0., 3., 4.])
    """
    p = xyxy_to_cxcywh(proposals)
    d = deltas * deltas.new_tensor(std)
    centre = p[..., :2] + d[..., :2] * p[..., 2:]
    size = p[..., 2:] * torch.exp(d[..., 2:].clamp(max=max_log_scale))
    return cxcywh_to_xyxy(torch.cat((centre, size), -1))
