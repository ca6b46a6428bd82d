"""Multi-label classification: K independent yes/no labels per sample."""

from __future__ import annotations

import torch

from .._validation import ArgumentError, ShapeError
from ..functional.losses import sigmoid_cross_entropy
from ..metrics import MultilabelMeter
from .base import Task, TaskMeter, format_shape

__all__ = ["Multilabel"]


class Multilabel(Task):
    """K labels per sample, each present or not (an image may show a cat and a dog).

    Targets: float ``(N, K)`` of 0 and 1. Output: ``(K,)`` logits per sample.
    Loss: sigmoid cross-entropy. Metrics: per-label precision, recall and F1 at the
    threshold, their means, and average precision per label with its mean (mAP).
    Predictions: sigmoid probabilities and the labels at or above the threshold.

    Args:
        loss: ``sigmoid_cross_entropy``.
        num_classes: K.
        threshold: probability at which a label counts as present (0.5).

    Example:
        >>> task = Multilabel()
        >>> task.check((2,), torch.tensor([[1., 0.], [1., 1.]]))
        >>> task.predict(torch.tensor([[2.0, -1.0]]))["labels"].tolist()
        [[1, 0]]
    """

    name = "multilabel"
    target = "multilabel"
    losses = ("sigmoid_cross_entropy",)
    monitor = "mAP"
    metrics = ("mAP", "mean_f1", "mean_precision", "mean_recall")

    def __init__(self, loss: str | None = None, num_classes: int | None = None, *,
                 threshold: float = 0.5):
        super().__init__(loss, num_classes)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
                or not 0.0 < threshold < 1.0:
            raise ArgumentError(f"threshold must be in (0, 1). Received: threshold={threshold!r}.",
                                argument="threshold")
        self.threshold = float(threshold)

    def options(self) -> dict:
        return {"threshold": self.threshold}

    def check(self, output_shape, targets, num_classes=None) -> None:
        """See :meth:`Task.check`.

        Example:
            >>> Multilabel().check((5,), torch.tensor([[0., 1., 2.]]))
            Traceback (most recent call last):
            ...
            cnnkit._validation.ShapeError: task 'multilabel': targets of shape (1, 3) do not fit the network's output (5,) per sample; this task needs targets (N, 5) of 0/1, one column per output. Give the last layer 3 outputs, or give 5 label columns.
        """
        targets = self._check_tensor(targets)
        output_shape = tuple(output_shape)
        if len(output_shape) != 1:
            raise ShapeError(
                f"task {self.name!r}: the network's output is {format_shape(output_shape)} per "
                f"sample, but multi-label classification needs one score per label, (K,). Add "
                f"`- flatten` and a dense layer with one unit per label.", argument="output")
        k = output_shape[0]
        if targets.dim() != 2 or targets.shape[1] != k:
            have = f"Give the last layer {targets.shape[1]} outputs, or give {k} label columns." \
                if targets.dim() == 2 else \
                "For one label per sample use task: classify; give (N, K) rows of 0/1."
            raise self._shape_error(output_shape, targets,
                                    f"(N, {k}) of 0/1, one column per output", have)
        self._check_finite(targets)
        if targets.numel() and not bool(((targets == 0) | (targets == 1)).all()):
            bad = targets[(targets != 0) & (targets != 1)][0]
            raise ArgumentError(
                f"task {self.name!r}: targets must be 0 or 1. Received: a target of "
                f"{float(bad):g}. Use task: regress for other values.", argument="targets")
        if num_classes is not None and num_classes != k:
            raise ShapeError(f"task {self.name!r}: the data has {num_classes} labels but the "
                             f"network gives {k} outputs. Make the last layer give "
                             f"{num_classes} outputs.", argument="num_classes")
        self.num_classes = k

    def loss(self, outputs, targets):
        return sigmoid_cross_entropy(outputs, targets)

    def meter(self) -> TaskMeter:
        if self.num_classes is None:
            raise ArgumentError(f"task {self.name!r} needs num_classes for its metrics. Call "
                                f"check() first or pass num_classes.", argument="num_classes")
        return TaskMeter(self, MultilabelMeter(self.num_classes, self.threshold))

    def predict(self, outputs):
        probabilities = torch.sigmoid(outputs)
        return {"probabilities": probabilities,
                "labels": (probabilities >= self.threshold).long()}
