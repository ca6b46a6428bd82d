"""Classification metrics: accuracy, top-k accuracy, per-class accuracy, the confusion
matrix; and their accumulator."""

from __future__ import annotations

import torch

from .._validation import ArgumentError, ShapeError
from ._meter import Meter, plain

__all__ = ["ClassificationMeter", "accuracy", "confusion_matrix", "per_class_accuracy",
           "top_k_accuracy"]


def _check(scores: torch.Tensor, target: torch.Tensor) -> None:
    if scores.dim() != 2 or target.shape != scores.shape[:1]:
        raise ShapeError(f"classification metrics take scores (N, K) and labels (N,). Received: "
                         f"scores of shape {tuple(scores.shape)}, labels of shape "
                         f"{tuple(target.shape)}.")


def confusion_matrix(predicted: torch.Tensor, target: torch.Tensor, num_classes: int,
                     ignore_index: int | None = None) -> torch.Tensor:
    """``C[t, p]``: how many samples (or positions) of true class ``t`` were predicted ``p``.

    Args:
        predicted: int labels, any shape.
        target: int labels, the same shape; positions equal to ``ignore_index`` are
            left out.
        num_classes: ``K``.

    Returns:
        int64 ``(K, K)``, rows the truth, columns the prediction.

    Raises:
        ArgumentError: a label outside ``0 .. K-1`` (that is not ignored).

    Example:
        >>> confusion_matrix(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), 3)
        tensor([[1, 0, 0],
                [0, 1, 0],
                [0, 1, 1]])
    """
    if predicted.shape != target.shape:
        raise ShapeError(f"predicted and target labels must have one shape. Received: "
                         f"{tuple(predicted.shape)} and {tuple(target.shape)}.")
    predicted, target = predicted.reshape(-1), target.reshape(-1)
    if ignore_index is not None:
        keep = target != ignore_index
        predicted, target = predicted[keep], target[keep]
    if target.numel():
        low = min(int(target.min()), int(predicted.min()))
        high = max(int(target.max()), int(predicted.max()))
        if low < 0 or high >= num_classes:
            raise ArgumentError(f"labels must lie in 0 .. {num_classes - 1} for {num_classes} "
                                f"classes. Received: labels from {low} to {high}.")
    flat = target.long() * num_classes + predicted.long()
    return torch.bincount(flat, minlength=num_classes * num_classes).view(num_classes, num_classes)


def accuracy(scores: torch.Tensor, target: torch.Tensor) -> float:
    """The fraction of samples whose highest score is the true class.

    Example:
        >>> accuracy(torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), torch.tensor([0, 1, 1]))
        0.6666666666666666
    """
    _check(scores, target)
    return float((scores.argmax(1) == target).double().mean()) if target.numel() else float("nan")


def _top_k_hits(scores: torch.Tensor, target: torch.Tensor, k: int) -> torch.Tensor:
    # The true class is in the top k when fewer than k classes score strictly higher
    # (ties counted in the sample's favour, so the answer does not depend on sort order).
    true = scores.gather(1, target.view(-1, 1))
    return (scores > true).sum(1) < k


def top_k_accuracy(scores: torch.Tensor, target: torch.Tensor, k: int) -> float:
    """The fraction of samples whose true class is among the ``k`` highest scores
    (Krizhevsky et al. 2012 report top-1 and top-5 error); ties count as hits.

    Example:
        >>> top_k_accuracy(torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.3, 0.6]]), torch.tensor([1, 0]), 2)
        0.5
    """
    _check(scores, target)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ArgumentError(f"k must be a positive int. Received: k={k!r}.", argument="k")
    return float(_top_k_hits(scores, target, k).double().mean()) if target.numel() else float("nan")


def per_class_accuracy(confusion: torch.Tensor) -> torch.Tensor:
    """Per class, the fraction of its samples predicted right (its recall): ``C[k, k] /
    sum_p C[k, p]``; NaN for a class without samples.

    Example:
        >>> per_class_accuracy(torch.tensor([[3, 1], [0, 0]]))
        tensor([0.7500,    nan], dtype=torch.float64)
    """
    confusion = confusion.double()
    total = confusion.sum(1)
    return torch.where(total > 0, confusion.diagonal() / total.clamp_min(1),
                       torch.full_like(total, float("nan")))


class ClassificationMeter(Meter):
    """Accuracy, top-k accuracy and per-class accuracy over a whole data set.

    Args:
        num_classes: ``K``.
        topk: the ``k`` of top-k accuracies; those with ``k >= K`` are left out (always 1).

    ``compute()`` gives ``accuracy``, ``top{k}_accuracy`` for each kept ``k``,
    ``per_class_accuracy`` (a list, None for classes without samples) and ``count``; the
    confusion matrix is ``meter.confusion``.

    Example:
        >>> meter = ClassificationMeter(3, topk=(2, 5))
        >>> meter.update(torch.tensor([[2., 1, 0], [0, 1, 2]]), torch.tensor([0, 1]))
        >>> meter.update(torch.tensor([[0., 1, 2]]), torch.tensor([2]))
        >>> meter.compute()
        {'accuracy': 0.6666666666666666, 'top2_accuracy': 1.0, 'per_class_accuracy': [1.0, 0.0, 1.0], 'count': 3}
    """

    def __init__(self, num_classes: int, topk=(5,)):
        self.num_classes = num_classes
        self.topk = tuple(k for k in topk if k < num_classes)
        self.reset()

    def reset(self) -> None:
        self.confusion = torch.zeros(self.num_classes, self.num_classes, dtype=torch.long)
        self.hits = {k: torch.zeros((), dtype=torch.long) for k in self.topk}

    def update(self, scores: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch: ``scores`` ``(N, K)`` (logits or probabilities), labels ``(N,)``."""
        _check(scores, target)
        scores = scores.detach()
        if self.confusion.device != scores.device:  # stay on the batches' device: no sync
            self.confusion = self.confusion.to(scores.device)
            self.hits = {k: v.to(scores.device) for k, v in self.hits.items()}
        self.confusion += confusion_matrix(scores.argmax(1), target, self.num_classes)
        for k in self.topk:
            self.hits[k] += _top_k_hits(scores, target, k).sum()

    def compute(self) -> dict:
        count = int(self.confusion.sum())
        out = {"accuracy": float(self.confusion.diagonal().sum()) / count if count else None}
        for k in self.topk:
            out[f"top{k}_accuracy"] = int(self.hits[k]) / count if count else None
        out["per_class_accuracy"] = plain(per_class_accuracy(self.confusion))
        out["count"] = count
        return out
