"""Segmentation metrics from the confusion matrix of labelled positions: pixel accuracy,
mean class accuracy, per-class intersection over union and its mean, frequency-weighted
IoU (Long et al. 2015, section 5); and their accumulator."""

from __future__ import annotations

import torch

from .._validation import ShapeError
from ._meter import Meter, plain
from .classification import confusion_matrix

__all__ = ["SegmentationMeter", "segmentation_scores"]


def segmentation_scores(confusion: torch.Tensor) -> dict:
    """The metrics of Long et al. 2015 (section 5) from a confusion matrix ``n[i, j]``
    (positions of class ``i`` predicted ``j``), ``t_i = sum_j n[i, j]``:

    * pixel accuracy ``sum_i n_ii / sum_i t_i``;
    * mean accuracy ``(1 / K) sum_i n_ii / t_i``;
    * IoU of class ``i`` ``n_ii / (t_i + sum_j n_ji - n_ii)``; mean IoU their mean;
    * frequency-weighted IoU ``sum_i t_i IoU_i / sum_i t_i``.

    A class absent from both the truth and the predictions has no IoU (None) and is left
    out of the means; so is a class without true positions from the mean accuracy.

    Example:
        >>> scores = segmentation_scores(torch.tensor([[3, 1], [0, 2]]))
        >>> scores["pixel_accuracy"], scores["iou"], round(scores["mean_iou"], 4)
        (0.8333333333333334, [0.75, 0.6666666666666666], 0.7083)
    """
    n = confusion.double()
    true = n.sum(1)
    predicted = n.sum(0)
    hit = n.diagonal()
    union = true + predicted - hit
    nan = torch.full_like(hit, float("nan"))
    iou = torch.where(union > 0, hit / union.clamp_min(1), nan)
    class_accuracy = torch.where(true > 0, hit / true.clamp_min(1), nan)
    total = float(true.sum())
    present = ~torch.isnan(iou)
    weighted = (true * torch.nan_to_num(iou)).sum() / total if total else float("nan")
    return {
        "pixel_accuracy": float(hit.sum()) / total if total else None,
        "mean_accuracy": float(class_accuracy[~torch.isnan(class_accuracy)].mean())
        if bool((~torch.isnan(class_accuracy)).any()) else None,
        "mean_iou": float(iou[present].mean()) if bool(present.any()) else None,
        "frequency_weighted_iou": plain(float(weighted)),
        "iou": plain(iou), "class_accuracy": plain(class_accuracy),
    }


class SegmentationMeter(Meter):
    """Pixel accuracy, per-class IoU and mean IoU over a whole data set, from one
    confusion matrix of every labelled position (positions labelled ``ignore_index`` are
    left out).

    ``compute()`` gives the keys of :func:`segmentation_scores` and ``count`` (labelled
    positions); the matrix is ``meter.confusion``.

    Example:
        >>> meter = SegmentationMeter(2)
        >>> logits = torch.tensor([[[[2., 0.], [0., 0.]], [[0., 1.], [1., 1.]]]])  # (1, 2, 2, 2)
        >>> meter.update(logits, torch.tensor([[[0, 0], [1, 255]]]))
        >>> meter.compute()["iou"]
        [0.5, 0.5]
    """

    def __init__(self, num_classes: int, ignore_index: int | None = 255):
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.reset()

    def reset(self) -> None:
        self.confusion = torch.zeros(self.num_classes, self.num_classes, dtype=torch.long)

    def update(self, scores: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch: per-position class scores ``(N, K, *spatial)`` and labels
        ``(N, *spatial)``."""
        if scores.dim() < 3 or target.shape != (scores.shape[0], *scores.shape[2:]):
            raise ShapeError(f"segmentation metrics take scores (N, K, *spatial) and labels "
                             f"(N, *spatial). Received: scores of shape {tuple(scores.shape)}, "
                             f"labels of shape {tuple(target.shape)}.")
        if self.confusion.device != scores.device:
            self.confusion = self.confusion.to(scores.device)
        self.confusion += confusion_matrix(scores.detach().argmax(1), target, self.num_classes,
                                           self.ignore_index)

    def compute(self) -> dict:
        return {**segmentation_scores(self.confusion.cpu()), "count": int(self.confusion.sum())}
