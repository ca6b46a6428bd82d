"""Segmentation: a class per position (pixel, sample of a signal, voxel), 1-D to 3-D."""

from __future__ import annotations

import torch

from .._validation import ArgumentError, ArgumentTypeError, ShapeError
from ..functional.losses import softmax_cross_entropy
from ..metrics import SegmentationMeter
from .base import Task, TaskMeter, _is_integer, format_shape

__all__ = ["IGNORE_INDEX", "Segment"]

IGNORE_INDEX = 255  # "unlabelled" in PNG label maps (PASCAL VOC marks object borders so)


def _size(shape) -> str:
    return "x".join(str(v) for v in shape)


class Segment(Task):
    """A class label per position, with an ignore value for unlabelled positions.

    Targets: int64 ``(N, *spatial)`` class indices or ``ignore_index``. Output:
    ``(K, *spatial)`` per sample, class scores at every position (a fully convolutional
    network, Long et al. 2015). Loss: per-position softmax cross-entropy averaged over the
    labelled positions, with class weights. Metrics: pixel accuracy, per-class IoU and
    mean IoU (and mean class accuracy, frequency-weighted IoU). Predictions: per-position
    class probabilities and the mask of most probable classes.

    Args:
        loss: ``softmax_cross_entropy``.
        num_classes: K.
        ignore_index: the label of unlabelled positions (255).
        class_weights: K weights, or None.

    Example:
        >>> task = Segment()
        >>> task.check((3, 4, 4), torch.randint(0, 3, (2, 4, 4)))
        >>> task.predict(torch.zeros(2, 3, 4, 4))["mask"].shape
        torch.Size([2, 4, 4])
    """

    name = "segment"
    target = "segmentation"
    losses = ("softmax_cross_entropy",)
    monitor = "mean_iou"
    metrics = ("mean_iou", "pixel_accuracy", "mean_accuracy")

    def __init__(self, loss: str | None = None, num_classes: int | None = None, *,
                 ignore_index: int = IGNORE_INDEX, class_weights=None):
        super().__init__(loss, num_classes)
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
            raise ArgumentTypeError(f"ignore_index must be an int. Received: "
                                    f"ignore_index={ignore_index!r}.", argument="ignore_index")
        self.ignore_index = ignore_index
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]

    def options(self) -> dict:
        return {"ignore_index": self.ignore_index, "class_weights": self.class_weights}

    def check(self, output_shape, targets, num_classes=None) -> None:
        """See :meth:`Task.check`.

        Example:
            >>> Segment().check((3, 8, 8), torch.zeros(2, 32, 32, dtype=torch.long))
            Traceback (most recent call last):
            ...
            cnnkit._validation.ShapeError: task 'segment': targets of shape (2, 32, 32) do not fit the network's output (3, 8, 8) per sample; this task needs targets (N, 8, 8), a label at each of the output's positions. Make the output 32x32 (less downsampling, padding: same, or an upsampling conv_transpose), or resize the label maps to 8x8.
        """
        targets = self._check_tensor(targets)
        output_shape = tuple(output_shape)
        if len(output_shape) < 2:
            raise ShapeError(
                f"task {self.name!r}: the network's output is {format_shape(output_shape)} per "
                f"sample, but segmentation needs class scores at every position, (K, *spatial). "
                f"Remove the flatten and dense layers (end with a conv that has one filter per "
                f"class), or use task: classify for one label per sample.", argument="output")
        spatial = output_shape[1:]
        if tuple(targets.shape[1:]) != spatial:
            if targets.dim() - 1 == len(spatial):
                fix = (f"Make the output {_size(targets.shape[1:])} (less downsampling, padding: "
                       f"same, or an upsampling conv_transpose), or resize the label maps to "
                       f"{_size(spatial)}.")
            else:
                fix = (f"Give one label map of {_size(spatial)} per sample (N, {_size(spatial)}), "
                       f"not one-hot or channel-first maps (use y.argmax(1)).")
            raise self._shape_error(output_shape, targets, f"(N, {', '.join(map(str, spatial))}), "
                                    f"a label at each of the output's positions", fix)
        if not _is_integer(targets):
            raise ArgumentError(
                f"task {self.name!r}: label maps must hold int64 class indices. Received: "
                f"targets of dtype {str(targets.dtype).removeprefix('torch.')}. Convert them "
                f"with y.long(), or use task: regress for real-valued maps.", argument="targets")
        count = self._classes_from(output_shape[0], num_classes)
        if 0 <= self.ignore_index < count:
            raise ArgumentError(
                f"ignore_index={self.ignore_index} is also one of the {count} classes "
                f"0..{count - 1}. Pass an ignore_index outside 0..{count - 1}, e.g. 255.",
                argument="ignore_index")
        labelled = targets[targets != self.ignore_index]
        if labelled.numel():
            low, high = int(labelled.min()), int(labelled.max())
            if low < 0 or high >= count:
                value = low if low < 0 else high
                raise ArgumentError(
                    f"task {self.name!r}: the label maps hold the value {value}, outside the "
                    f"{count} classes 0..{count - 1} and not the ignore value "
                    f"{self.ignore_index}. Fix the label maps, give the last layer {high + 1} "
                    f"filters, or pass ignore_index={value} if it marks unlabelled positions.",
                    argument="targets")
        if self.class_weights is not None and len(self.class_weights) != count:
            raise ArgumentError(
                f"class_weights has {len(self.class_weights)} values but there are {count} "
                f"classes. Received: class_weights={self.class_weights!r}. Give one per class.",
                argument="class_weights")

    def loss(self, outputs, targets):
        weight = None if self.class_weights is None else outputs.new_tensor(self.class_weights)
        return softmax_cross_entropy(outputs, targets, weight=weight, ignore_index=self.ignore_index)

    def meter(self) -> TaskMeter:
        if self.num_classes is None:
            raise ArgumentError(f"task {self.name!r} needs num_classes for its metrics. Call "
                                f"check() first or pass num_classes.", argument="num_classes")
        return TaskMeter(self, SegmentationMeter(self.num_classes, self.ignore_index))

    def predict(self, outputs):
        probabilities = torch.softmax(outputs, 1)
        return {"probabilities": probabilities, "mask": probabilities.argmax(1)}
