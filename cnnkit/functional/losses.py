"""Losses: the three loss layers of the Wikipedia article "Convolutional neural network"
(softmax cross-entropy, sigmoid cross-entropy, Euclidean), mean squared error, smooth L1,
and the detection losses of YOLO v1 (Redmon et al. 2016) and Fast R-CNN (Girshick 2015).

The cross-entropies and the Euclidean loss accept per-location outputs (structured
outputs, Goodfellow et al. 2016, section 9.6): the class dimension is dimension 1 and any
spatial dimensions follow; softmax cross-entropy skips positions labelled ``ignore_index``
(the per-pixel loss of fully convolutional segmentation, Long et al. 2015).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validation import ArgumentError, ShapeError, one_of
from . import boxes as _boxes

__all__ = ["LOSSES", "euclidean_loss", "fast_rcnn_loss", "loss_function", "match_rois",
           "mse_loss", "roi_detection_loss", "sigmoid_cross_entropy", "smooth_l1_loss",
           "softmax_cross_entropy", "yolo_v1_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def softmax_cross_entropy(logits: torch.Tensor, target: torch.Tensor, *,
                          label_smoothing: float = 0.0, reduction: str = "mean",
                          weight: torch.Tensor | None = None,
                          ignore_index: int | None = None) -> torch.Tensor:
    """Softmax cross-entropy for one of K mutually exclusive classes.

    ``loss = -log softmax(z)[y]``, averaged over samples (and locations).

    Args:
        logits: ``(N, K)`` or ``(N, K, *spatial)`` unnormalised scores.
        target: ``(N,)`` or ``(N, *spatial)`` class indices in ``[0, K)``, or class
            probabilities of the same shape as ``logits``.
        label_smoothing: in [0, 1): mix the one-hot target with the uniform distribution.
        weight: ``(K,)`` class weights: each position's loss is multiplied by the weight of
            its class, and ``mean`` divides by the sum of those weights.
        ignore_index: a label that marks unlabelled positions (255 in PNG label maps):
            they add nothing to the loss or to the count that ``mean`` divides by.

    Shape:
        ``(N, K, *S)``, ``(N, *S)`` -> scalar (``reduction="none"``: ``(N, *S)``, 0 at
        ignored positions). With every position ignored, ``mean`` is 0.

    Raises:
        ShapeError: target shape does not match; ArgumentError: labels outside [0, K).

    Example:
        >>> softmax_cross_entropy(torch.zeros(2, 4), torch.tensor([0, 3]))
        tensor(1.3863)
    """
    one_of(reduction, _REDUCTIONS, "reduction")
    if logits.dim() < 2:
        raise ShapeError(f"logits must be (N, K, ...). Received: logits.shape={tuple(logits.shape)}.")
    if target.dtype.is_floating_point:
        if target.shape != logits.shape:
            raise ShapeError(
                f"probability targets must have the logits' shape {tuple(logits.shape)}. "
                f"Received: target.shape={tuple(target.shape)}."
            )
    else:
        expected = (logits.shape[0], *logits.shape[2:])
        if tuple(target.shape) != expected:
            raise ShapeError(
                f"class-index targets must have shape {expected} for logits of shape "
                f"{tuple(logits.shape)}. Received: target.shape={tuple(target.shape)}."
            )
        classes = logits.shape[1]
        labelled = target if ignore_index is None else target[target != ignore_index]
        if labelled.numel() and (int(labelled.min()) < 0 or int(labelled.max()) >= classes):
            ignored = "" if ignore_index is None else f" (besides the ignore value {ignore_index})"
            raise ArgumentError(
                f"labels must lie in [0, {classes}) for {classes} classes{ignored}. Received: "
                f"labels from {int(labelled.min())} to {int(labelled.max())}. Check the data's "
                f"labels or the number of outputs of the last layer."
            )
    if not 0.0 <= label_smoothing < 1.0:
        raise ArgumentError(f"label_smoothing must be in [0, 1). Received: label_smoothing={label_smoothing!r}.")
    if weight is not None and (weight.dim() != 1 or weight.shape[0] != logits.shape[1]):
        raise ShapeError(f"weight must hold one weight per class, shape ({logits.shape[1]},). "
                         f"Received: weight.shape={tuple(weight.shape)}.", argument="weight")
    if ignore_index is None or target.dtype.is_floating_point:
        return F.cross_entropy(logits, target, weight=weight, reduction=reduction,
                               label_smoothing=label_smoothing)
    if reduction == "mean" and not bool((target != ignore_index).any()):
        return logits.sum() * 0.0  # nothing labelled: no loss, and a gradient of zeros
    return F.cross_entropy(logits, target, weight=weight, reduction=reduction,
                           label_smoothing=label_smoothing, ignore_index=ignore_index)


def sigmoid_cross_entropy(logits: torch.Tensor, target: torch.Tensor, *,
                          reduction: str = "mean", pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Sigmoid cross-entropy for K independent probabilities in [0, 1].

    ``loss = -(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))``, computed stably from
    the logits, averaged over all elements.

    Shape:
        ``logits`` and ``target`` of the same shape -> scalar.

    Example:
        >>> sigmoid_cross_entropy(torch.zeros(1, 2), torch.tensor([[0., 1.]]))
        tensor(0.6931)
    """
    one_of(reduction, _REDUCTIONS, "reduction")
    if target.shape != logits.shape:
        raise ShapeError(
            f"target must have the logits' shape {tuple(logits.shape)}. "
            f"Received: target.shape={tuple(target.shape)}."
        )
    return F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype), reduction=reduction,
                                              pos_weight=pos_weight)


def euclidean_loss(prediction: torch.Tensor, target: torch.Tensor, *,
                   reduction: str = "mean") -> torch.Tensor:
    """Euclidean loss for real-valued targets: ``1 / (2N) * sum_n ||yhat_n - y_n||^2``.

    ``reduction="mean"`` divides by the batch size N (not by every element), as the
    Euclidean loss layer defines it; ``"sum"`` drops the 1/N; ``"none"`` gives one value
    per sample.

    Shape:
        ``(N, *)`` and ``(N, *)`` -> scalar (``"none"``: ``(N,)``).

    Example:
        >>> euclidean_loss(torch.tensor([[1., 2.]]), torch.tensor([[0., 0.]]))
        tensor(2.5000)
    """
    one_of(reduction, _REDUCTIONS, "reduction")
    if target.shape != prediction.shape:
        raise ShapeError(
            f"target must have the prediction's shape {tuple(prediction.shape)}. "
            f"Received: target.shape={tuple(target.shape)}."
        )
    per_sample = 0.5 * (prediction - target).pow(2).reshape(prediction.shape[0], -1).sum(dim=1)
    if reduction == "none":
        return per_sample
    return per_sample.sum() if reduction == "sum" else per_sample.mean()


def _same_shape(prediction, target, what="prediction"):
    if target.shape != prediction.shape:
        raise ShapeError(
            f"target must have the {what}'s shape {tuple(prediction.shape)}. "
            f"Received: target.shape={tuple(target.shape)}."
        )


def mse_loss(prediction: torch.Tensor, target: torch.Tensor, *,
             reduction: str = "mean") -> torch.Tensor:
    """Mean squared error: ``mean((yhat - y)^2)`` over every element.

    Unlike :func:`euclidean_loss` (half the squared norm per sample), this divides by
    the number of elements, so it does not grow with the number of outputs.

    Shape:
        ``(N, *)`` and ``(N, *)`` -> scalar (``"none"``: ``(N, *)``).

    Example:
        >>> mse_loss(torch.tensor([[1., 2.]]), torch.tensor([[0., 0.]]))
        tensor(2.5000)
    """
    one_of(reduction, _REDUCTIONS, "reduction")
    _same_shape(prediction, target)
    return F.mse_loss(prediction, target.to(prediction.dtype), reduction=reduction)


def smooth_l1_loss(prediction: torch.Tensor, target: torch.Tensor, *, beta: float = 1.0,
                   reduction: str = "mean") -> torch.Tensor:
    """Smooth L1 (Girshick 2015, eq. 3): ``0.5 x^2 / beta`` where ``|x| < beta``, else
    ``|x| - 0.5 beta``, for ``x = yhat - y``; averaged over every element.

    "A robust L1 loss that is less sensitive to outliers than the L2 loss used in R-CNN
    and SPPnet" (the paper's ``beta`` is 1).

    Shape:
        ``(N, *)`` and ``(N, *)`` -> scalar (``"none"``: ``(N, *)``).

    Example:
        >>> smooth_l1_loss(torch.tensor([0.5, 3.0]), torch.tensor([0.0, 0.0]), reduction="none")
        tensor([0.1250, 2.5000])
    """
    one_of(reduction, _REDUCTIONS, "reduction")
    _same_shape(prediction, target)
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta > 0:
        raise ArgumentError(f"beta must be a positive number. Received: beta={beta!r}.",
                            argument="beta")
    return F.smooth_l1_loss(prediction, target.to(prediction.dtype), beta=float(beta),
                            reduction=reduction)


def _reduce_per_sample(per_sample: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "none":
        return per_sample
    return per_sample.sum() if reduction == "sum" else per_sample.mean()


def _yolo_classes(outputs: torch.Tensor, boxes_per_cell: int, num_classes: int | None) -> int:
    if num_classes is not None:
        return num_classes
    depth = outputs.shape[1] if outputs.dim() == 4 else 0
    classes = depth - 5 * boxes_per_cell
    if outputs.dim() != 4 or classes < 1:
        raise ShapeError(
            f"a YOLO grid output must be (N, 5B + C, rows, cols) with C >= 1 classes; for "
            f"B={boxes_per_cell} that is at least {5 * boxes_per_cell + 1} channels. Received: "
            f"outputs of shape {tuple(outputs.shape)}.", argument="outputs")
    return classes


def yolo_v1_loss(outputs: torch.Tensor, targets: torch.Tensor, *, boxes_per_cell: int = 2,
                 num_classes: int | None = None, lambda_coord: float = 5.0,
                 lambda_noobj: float = 0.5, reduction: str = "mean", parts: bool = False):
    """The YOLO v1 detection loss (Redmon et al. 2016, eq. 3), a sum of squared errors.

    Per image, summed over grid cells ``i`` and box predictors ``j``::

        lambda_coord sum 1obj_ij [(x - x^)^2 + (y - y^)^2]
      + lambda_coord sum 1obj_ij [(sqrt w - sqrt w^)^2 + (sqrt h - sqrt h^)^2]
      +              sum 1obj_ij (C - C^)^2
      + lambda_noobj sum 1noobj_ij (C - C^)^2
      +              sum_i 1obj_i sum_c (p(c) - p^(c))^2

    ``1obj_i``: an object's centre falls in cell ``i`` (:func:`~cnnkit.functional.boxes.yolo_encode`);
    ``1obj_ij``: predictor ``j`` of that cell is "responsible" for it, the one whose
    predicted box has the highest IoU with it (the first on ties); ``1noobj_ij`` every
    other predictor. The confidence target ``C^`` of a responsible predictor is that IoU
    (held constant), else 0. ``x, y`` are the centre's offsets in the cell, ``w, h`` relative
    to the image; the network predicts ``sqrt w`` and ``sqrt h`` directly.
    ``lambda_coord = 5`` and ``lambda_noobj = 0.5`` are the paper's.

    Args:
        outputs: ``(N, 5B + C, rows, cols)`` (see :func:`~cnnkit.functional.boxes.yolo_decode`).
        targets: ``(N, M, 5)`` rows ``[class, cx, cy, w, h]`` in [0, 1], class -1 padding.
        boxes_per_cell: ``B``.
        num_classes: ``C``; by default ``outputs.shape[1] - 5B``.
        reduction: ``"mean"`` over images (the paper sums), ``"sum"``, or ``"none"`` (per
            image).
        parts: also return the five terms (each reduced the same way) in a dict.

    Returns:
        The loss, or ``(loss, {"coord", "size", "object", "no_object", "class"})``.

    Shape:
        ``(N, 5B + C, rows, cols)``, ``(N, M, 5)`` -> scalar (``"none"``: ``(N,)``).

    Example:
        >>> outputs = torch.zeros(1, 5 * 2 + 3, 7, 7)
        >>> targets = torch.tensor([[[1, 0.5, 0.5, 0.2, 0.4], [-1, 0, 0, 0, 0]]])
        >>> yolo_v1_loss(outputs, targets)    # 5 * (0.25 + 0.25 + 0.2 + 0.4) + 1 (class)
        tensor(6.5000)
    """
    one_of(reduction, _REDUCTIONS, "reduction")
    num_classes = _yolo_classes(outputs, boxes_per_cell, num_classes)
    per_box, class_scores = _boxes._yolo_split(outputs, boxes_per_cell, num_classes)
    n, rows, cols, count = per_box.shape[:4]
    if targets.dim() != 3 or targets.shape[0] != n or targets.shape[-1] != 5:
        raise ShapeError(
            f"detection targets must be ({n}, M, 5) rows [class, cx, cy, w, h] for {n} outputs. "
            f"Received: targets of shape {tuple(targets.shape)}.", argument="targets")
    obj, target_box, target_class = _boxes.yolo_encode(targets.to(outputs.dtype), (rows, cols))
    r, c = _boxes._cell_offsets(rows, cols, per_box)
    # Which predictor is responsible: the highest IoU with the cell's object (no gradient).
    with torch.no_grad():
        cx = (c[..., None] + per_box[..., 0]) / cols
        cy = (r[..., None] + per_box[..., 1]) / rows
        predicted = _boxes.cxcywh_to_xyxy(torch.stack(
            (cx, cy, per_box[..., 2].square(), per_box[..., 3].square()), -1))
        truth = _boxes.cxcywh_to_xyxy(target_box)[..., None, :]
        iou = _boxes.box_iou(predicted, truth)[..., 0]  # (N, rows, cols, B)
        best = iou >= iou.max(-1, keepdim=True).values
        first = best & (best.long().cumsum(-1) == 1)
        responsible = (first & obj[..., None]).to(outputs.dtype)
    tx = target_box[..., 0] * cols - c
    ty = target_box[..., 1] * rows - r
    tw, th = target_box[..., 2].clamp_min(0).sqrt(), target_box[..., 3].clamp_min(0).sqrt()
    centre = (per_box[..., 0] - tx[..., None]).square() + (per_box[..., 1] - ty[..., None]).square()
    size = (per_box[..., 2] - tw[..., None]).square() + (per_box[..., 3] - th[..., None]).square()
    confidence = per_box[..., 4]
    one_hot = F.one_hot(target_class.clamp_min(0), num_classes).to(outputs.dtype)
    terms = {
        "coord": lambda_coord * (responsible * centre).flatten(1).sum(1),
        "size": lambda_coord * (responsible * size).flatten(1).sum(1),
        "object": (responsible * (confidence - iou).square()).flatten(1).sum(1),
        "no_object": lambda_noobj * ((1 - responsible) * confidence.square()).flatten(1).sum(1),
        "class": (obj[..., None] * (class_scores - one_hot).square()).flatten(1).sum(1),
    }
    loss = _reduce_per_sample(sum(terms.values()), reduction)
    if parts:
        return loss, {key: _reduce_per_sample(value, reduction) for key, value in terms.items()}
    return loss


def fast_rcnn_loss(class_logits: torch.Tensor, box_deltas: torch.Tensor, labels: torch.Tensor,
                   box_targets: torch.Tensor, *, lambda_loc: float = 1.0,
                   reduction: str = "mean") -> torch.Tensor:
    """The Fast R-CNN multi-task loss (Girshick 2015, eq. 1), per RoI:

    ``L(p, u, t^u, v) = -log p_u + lambda [u >= 1] sum_{i in x,y,w,h} smooth_L1(t^u_i - v_i)``

    with ``p`` the softmax over ``K + 1`` classes (0 is background), ``u`` the RoI's true
    class, ``t^u`` the box offsets predicted for class ``u`` and ``v`` the target offsets
    (:func:`~cnnkit.functional.boxes.box_deltas`). Background RoIs have no box loss. RoIs
    labelled -1 are ignored.

    Args:
        class_logits: ``(R, K + 1)`` scores (background first).
        box_deltas: ``(R, 4K)``: four offsets per object class (class ``k`` at columns
            ``4(k-1) .. 4k-1``).
        labels: int64 ``(R,)`` in ``-1 .. K``.
        box_targets: ``(R, 4)`` target offsets (read only where ``labels >= 1``).
        lambda_loc: weight of the box term (the paper's lambda = 1).
        reduction: ``"mean"`` over the RoIs that are not ignored, ``"sum"``, or ``"none"``
            (per RoI, 0 where ignored).

    Shape:
        ``(R, K + 1)``, ``(R, 4K)``, ``(R,)``, ``(R, 4)`` -> scalar.

    Example:
        >>> logits = torch.zeros(2, 3)   # two RoIs, K = 2 classes + background
        >>> deltas = torch.zeros(2, 8)
        >>> targets = torch.tensor([[0.5, 0., 2., 0.], [0., 0., 0., 0.]])
        >>> fast_rcnn_loss(logits, deltas, torch.tensor([2, 0]), targets)  # log 3 + (0.125 + 1.5) / 2
        tensor(1.9111)
    """
    one_of(reduction, _REDUCTIONS, "reduction")
    if class_logits.dim() != 2 or class_logits.shape[1] < 2:
        raise ShapeError(f"class_logits must be (R, K + 1) with K >= 1. Received: "
                         f"class_logits.shape={tuple(class_logits.shape)}.", argument="class_logits")
    rois, classes = class_logits.shape[0], class_logits.shape[1] - 1
    if tuple(box_deltas.shape) != (rois, 4 * classes):
        raise ShapeError(f"box_deltas must be (R, 4K) = ({rois}, {4 * classes}) for {classes} "
                         f"object classes. Received: box_deltas.shape={tuple(box_deltas.shape)}.",
                         argument="box_deltas")
    if tuple(labels.shape) != (rois,) or tuple(box_targets.shape) != (rois, 4):
        raise ShapeError(f"labels must be ({rois},) and box_targets ({rois}, 4). Received: "
                         f"labels.shape={tuple(labels.shape)}, "
                         f"box_targets.shape={tuple(box_targets.shape)}.", argument="labels")
    if labels.numel() and (int(labels.min()) < -1 or int(labels.max()) > classes):
        raise ArgumentError(f"labels must lie in -1 .. {classes} (-1 ignored, 0 background). "
                            f"Received: labels from {int(labels.min())} to {int(labels.max())}.",
                            argument="labels")
    kept = labels >= 0
    foreground = (labels >= 1).to(box_deltas.dtype)
    classification = F.cross_entropy(class_logits, labels.clamp_min(0), reduction="none")
    chosen = box_deltas.view(rois, max(classes, 1), 4).gather(
        1, (labels - 1).clamp(0, classes - 1).view(rois, 1, 1).expand(rois, 1, 4))[:, 0]
    localisation = F.smooth_l1_loss(chosen, box_targets.to(chosen.dtype), beta=1.0,
                                    reduction="none").sum(1)
    per_roi = (classification + lambda_loc * foreground * localisation) * kept
    if reduction == "none":
        return per_roi
    if reduction == "sum":
        return per_roi.sum()
    return per_roi.sum() / kept.sum().clamp_min(1)


def match_rois(rois: torch.Tensor, targets: torch.Tensor, *, fg_iou: float = 0.5,
               bg_iou: tuple[float, float] = (0.0, 0.5),
               std: tuple[float, ...] = (0.1, 0.1, 0.2, 0.2)) -> tuple[torch.Tensor, torch.Tensor]:
    """Label RoIs by their best-overlapping ground truth box, Fast R-CNN style.

    A RoI whose IoU with some ground truth box is at least ``fg_iou`` takes the class of
    the box it overlaps most (label ``class + 1``) and regresses onto it; a RoI whose best
    IoU lies in ``[bg_iou[0], bg_iou[1])`` is background (label 0); others are ignored
    (-1); in an image without objects the best IoU is 0. The paper uses ``fg_iou = 0.5`` and ``bg_iou = (0.1, 0.5)`` for selective-search
    proposals (Girshick 2015, section 2.3); with a fixed set of proposals that covers
    the whole image, the default ``bg_iou[0] = 0`` also teaches the far ones to be
    background.

    Args:
        rois: ``(N, R, 4)`` ``xyxy`` in [0, 1].
        targets: ``(N, M, 5)`` rows ``[class, cx, cy, w, h]``, class -1 padding.

    Returns:
        ``(labels, box_targets)``: int64 ``(N, R)`` and ``(N, R, 4)`` (zeros unless
        foreground).

    Example:
        >>> rois = torch.tensor([[[0., 0., 0.5, 0.5], [0.5, 0.5, 1., 1.]]])
        >>> labels, _ = match_rois(rois, torch.tensor([[[2., 0.25, 0.25, 0.5, 0.5]]]))
        >>> labels.tolist()
        [[3, 0]]
    """
    if rois.dim() != 3 or targets.dim() != 3 or targets.shape[-1] != 5 \
            or rois.shape[0] != targets.shape[0]:
        raise ShapeError(f"match_rois takes rois (N, R, 4) and targets (N, M, 5). Received: "
                         f"rois.shape={tuple(rois.shape)}, targets.shape={tuple(targets.shape)}.")
    n, r = rois.shape[:2]
    rois = rois.detach()
    if targets.shape[1] == 0:
        targets = targets.new_full((n, 1, 5), -1.0)
    truth = _boxes.cxcywh_to_xyxy(targets[..., 1:].to(rois.dtype))
    real = targets[..., 0] >= 0
    # Padding rows overlap nothing; an image without objects has best IoU 0 everywhere.
    iou = _boxes.box_iou(rois, truth).masked_fill(~real[:, None, :], 0.0)
    best, which = iou.max(-1)
    classes = targets[..., 0].long().gather(1, which)
    labels = torch.full((n, r), -1, dtype=torch.long, device=rois.device)
    labels = torch.where((best >= bg_iou[0]) & (best < bg_iou[1]), torch.zeros_like(labels), labels)
    foreground = best >= fg_iou
    labels = torch.where(foreground, classes + 1, labels)
    matched = truth.gather(1, which[..., None].expand(n, r, 4))
    safe = torch.where(foreground[..., None], matched, rois)
    valid = (rois[..., 2:] > rois[..., :2]).all(-1) & foreground
    safe = torch.where(valid[..., None], safe, rois.new_tensor([0.0, 0.0, 1.0, 1.0]))
    proposals = torch.where(valid[..., None], rois, rois.new_tensor([0.0, 0.0, 1.0, 1.0]))
    box_targets = _boxes.box_deltas(proposals, safe, std) * valid[..., None]
    return labels, box_targets


def roi_detection_loss(outputs: torch.Tensor, targets: torch.Tensor, *, lambda_loc: float = 1.0,
                       fg_iou: float = 0.5, bg_iou: tuple[float, float] = (0.0, 0.5),
                       std: tuple[float, ...] = (0.1, 0.1, 0.2, 0.2),
                       reduction: str = "mean") -> torch.Tensor:
    """Fast R-CNN's loss for the packed output of a RoI detection head.

    ``outputs[n, r]`` is one RoI's row: ``K + 1`` class scores, ``4K`` box offsets and the
    RoI itself (``xyxy`` in [0, 1]), ``5 (K + 1)`` numbers in all, as
    :class:`cnnkit.tasks.RoIDetector` gives them. The RoIs are labelled by
    :func:`match_rois` and the loss is :func:`fast_rcnn_loss` over every RoI of the batch.

    Shape:
        ``(N, R, 5 (K + 1))``, ``(N, M, 5)`` -> scalar.

    Example:
        >>> out = torch.zeros(1, 1, 10)   # K = 1: 2 scores, 4 offsets, the RoI
        >>> out[0, 0, 6:] = torch.tensor([0., 0., 0.5, 0.5])
        >>> roi_detection_loss(out, torch.tensor([[[0., 0.25, 0.25, 0.5, 0.5]]]))  # log 2
        tensor(0.6931)
    """
    if outputs.dim() != 3 or outputs.shape[-1] % 5 or outputs.shape[-1] < 10:
        raise ShapeError(f"a RoI head's output must be (N, R, 5 (K + 1)): K + 1 scores, 4K "
                         f"offsets and the RoI per row. Received: outputs of shape "
                         f"{tuple(outputs.shape)}.", argument="outputs")
    classes = outputs.shape[-1] // 5 - 1
    logits, deltas = outputs[..., :classes + 1], outputs[..., classes + 1:5 * classes + 1]
    rois = outputs[..., 5 * classes + 1:]
    labels, box_targets = match_rois(rois, targets, fg_iou=fg_iou, bg_iou=bg_iou, std=std)
    return fast_rcnn_loss(logits.reshape(-1, classes + 1), deltas.reshape(-1, 4 * classes),
                          labels.reshape(-1), box_targets.reshape(-1, 4), lambda_loc=lambda_loc,
                          reduction=reduction)


LOSSES = {
    "softmax_cross_entropy": softmax_cross_entropy,
    "sigmoid_cross_entropy": sigmoid_cross_entropy,
    "euclidean": euclidean_loss,
    "mse": mse_loss,
    "smooth_l1": smooth_l1_loss,
    "yolo": yolo_v1_loss,
    "fast_rcnn": roi_detection_loss,
}


def loss_function(name: str):
    """Look up a loss by its spec name (``softmax_cross_entropy``, ``sigmoid_cross_entropy``,
    ``euclidean``, ``mse``, ``smooth_l1``, ``yolo``, ``fast_rcnn``): a function
    ``loss(outputs, targets)``.

    Example:
        >>> loss_function("smooth_l1")(torch.tensor([2.0]), torch.tensor([0.0]))
        tensor(1.5000)
    """
    return LOSSES[one_of(name, tuple(LOSSES), "loss")]
