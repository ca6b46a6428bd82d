"""Classification: one label per sample, softmax cross-entropy, accuracy."""

from __future__ import annotations

import torch

from .._validation import ArgumentError, ShapeError
from ..functional.losses import softmax_cross_entropy
from ..metrics import ClassificationMeter
from .base import Task, TaskMeter, _is_integer, format_shape

__all__ = ["Classify"]


def _label_range_error(task: str, low: int, high: int, classes: int):
    return ArgumentError(
        f"task {task!r}: labels run from {low} to {high}, outside the {classes} classes "
        f"0..{classes - 1} that the network scores. Map the labels to 0..{classes - 1}, or make "
        f"the last layer give {high + 1} outputs.", argument="targets")


class Classify(Task):
    """One of K mutually exclusive classes per sample.

    Targets: int64 ``(N,)`` class indices. Output: ``(K,)`` scores (logits) per sample.
    Loss: softmax cross-entropy, with label smoothing (Szegedy et al. 2016) and class
    weights. Metrics: accuracy, top-k accuracy for each ``k < K``, per-class accuracy.
    Predictions: class probabilities (softmax) and the most probable class.

    Args:
        loss: ``softmax_cross_entropy``.
        num_classes: K (None: the network's outputs).
        label_smoothing: in [0, 1).
        class_weights: K weights of the classes in the loss, or None.
        topk: the k of top-k accuracies (reported only where k < K).

    Example:
        >>> task = Classify()
        >>> task.check((3,), torch.tensor([0, 2, 1]))
        >>> outputs = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 3.0], [0.0, 1.0, 0.0]])
        >>> meter = task.meter(); meter.update(outputs, torch.tensor([0, 2, 0]))
        >>> meter.compute()["accuracy"], task.predict(outputs)["classes"].tolist()
        (0.6666666666666666, [0, 2, 1])
    """

    name = "classify"
    target = "class"
    losses = ("softmax_cross_entropy",)
    monitor = "accuracy"
    metrics = ("accuracy", "top5_accuracy")

    def __init__(self, loss: str | None = None, num_classes: int | None = None, *,
                 label_smoothing: float = 0.0, class_weights=None, topk=(5,)):
        super().__init__(loss, num_classes)
        if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)) \
                or not 0.0 <= label_smoothing < 1.0:
            raise ArgumentError(f"label_smoothing must be in [0, 1). Received: "
                                f"label_smoothing={label_smoothing!r}.", argument="label_smoothing")
        self.label_smoothing = float(label_smoothing)
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]
        if self.class_weights is not None and (
                not self.class_weights or min(self.class_weights) < 0
                or not sum(self.class_weights) > 0):
            raise ArgumentError(f"class_weights must be non-negative numbers, not all 0, one per "
                                f"class. Received: class_weights={class_weights!r}.",
                                argument="class_weights")
        self.topk = tuple(int(k) for k in topk)

    def options(self) -> dict:
        return {"label_smoothing": self.label_smoothing, "class_weights": self.class_weights,
                "topk": list(self.topk)}

    def check(self, output_shape, targets, num_classes=None) -> None:
        """See :meth:`Task.check`.

        Example:
            >>> Classify().check((10,), torch.zeros(4, 28, 28, dtype=torch.long))
            Traceback (most recent call last):
            ...
            cnnkit._validation.ShapeError: task 'classify': targets of shape (4, 28, 28) do not fit the network's output (10,) per sample; this task needs targets (N,) of class indices. For a label per position use task: segment (the output must then keep the 28x28 positions); for one label per sample give labels of shape (N,).
        """
        targets = self._check_tensor(targets)
        output_shape = tuple(output_shape)
        if len(output_shape) != 1:
            raise ShapeError(
                f"task {self.name!r}: the network's output is {format_shape(output_shape)} per "
                f"sample, but classification needs one score per class, (K,). Add `- flatten` "
                f"and a dense layer with one unit per class, or a global pooling layer, or use "
                f"task: segment for a label per position.", argument="output")
        if targets.dim() != 1:
            size = "x".join(str(v) for v in targets.shape[1:])
            fix = (f"For a label per position use task: segment (the output must then keep the "
                   f"{size} positions); for one label per sample give labels of shape (N,)."
                   if _is_integer(targets) else
                   "For several 0/1 labels per sample use task: multilabel; for real values "
                   "task: regress; for classes give labels of shape (N,).")
            raise self._shape_error(output_shape, targets, "(N,) of class indices", fix)
        if not _is_integer(targets):
            raise ArgumentError(
                f"task {self.name!r}: targets must be int64 class indices. Received: targets of "
                f"dtype {str(targets.dtype).removeprefix('torch.')}. Convert them with "
                f"y.long(), or use task: regress for real values.", argument="targets")
        count = self._classes_from(output_shape[0], num_classes)
        if count < 2:
            raise ShapeError(
                f"task {self.name!r}: the network gives 1 output per sample; classification needs "
                f"one score per class (at least 2). Give the last layer one unit per class, or "
                f"use task: multilabel (one sigmoid output) or task: regress.", argument="output")
        if targets.numel():
            low, high = int(targets.min()), int(targets.max())
            if low < 0 or high >= count:
                raise _label_range_error(self.name, low, high, count)
        if self.class_weights is not None and len(self.class_weights) != count:
            raise ArgumentError(
                f"class_weights has {len(self.class_weights)} values but there are {count} "
                f"classes. Received: class_weights={self.class_weights!r}. Give one per class.",
                argument="class_weights")

    def _weight(self, like: torch.Tensor):
        return None if self.class_weights is None else like.new_tensor(self.class_weights)

    def loss(self, outputs, targets):
        return softmax_cross_entropy(outputs, targets, label_smoothing=self.label_smoothing,
                                     weight=self._weight(outputs))

    def meter(self) -> TaskMeter:
        if self.num_classes is None:
            raise ArgumentError(f"task {self.name!r} needs num_classes for its metrics. Call "
                                f"check() first or pass num_classes.", argument="num_classes")
        return TaskMeter(self, ClassificationMeter(self.num_classes, self.topk))

    def predict(self, outputs):
        probabilities = torch.softmax(outputs, 1)
        return {"probabilities": probabilities, "classes": probabilities.argmax(1)}
