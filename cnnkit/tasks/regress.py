"""Regression: real values per sample (or per position)."""

from __future__ import annotations

import torch

from .._validation import ArgumentError
from ..functional.losses import LOSSES
from ..metrics import RegressionMeter
from .base import Task, TaskMeter, format_shape

__all__ = ["Regress"]


class Regress(Task):
    """Real-valued targets: ``(N, K)`` (K values per sample) or ``(N, *dense)`` (a map).

    Output: the target's shape per sample (``(K,)``, a dense layer with K units).
    Losses: ``euclidean`` (``1/(2N) sum ||yhat - y||^2``, the default), ``mse`` (mean over
    elements), ``smooth_l1`` (Girshick 2015, robust to outliers). Metrics: MAE, RMSE and
    R^2 per output (per channel of a map) and their means. Predictions: the values.

    Example:
        >>> task = Regress(loss="mse")
        >>> task.check((2,), torch.tensor([[0.5, 1.0], [1.5, -1.0]]))
        >>> round(float(task.loss(torch.zeros(1, 2), torch.tensor([[1.0, 1.0]]))), 4)
        1.0
    """

    name = "regress"
    target = "regression"
    losses = ("euclidean", "mse", "smooth_l1")
    monitor = "r2"
    metrics = ("r2", "rmse", "mae")

    def check(self, output_shape, targets, num_classes=None) -> None:
        """See :meth:`Task.check`.

        Example:
            >>> Regress().check((1,), torch.zeros(8, 3))
            Traceback (most recent call last):
            ...
            cnnkit._validation.ShapeError: task 'regress': targets of shape (8, 3) do not fit the network's output (1,) per sample; this task needs targets (N, 1), one value per output. Give the last layer 3 outputs (a dense layer with 3 units).
        """
        targets = self._check_tensor(targets)
        output_shape = tuple(output_shape)
        if tuple(targets.shape[1:]) != output_shape:
            if targets.dim() == 1 and output_shape == (1,):
                fix = "Give the targets as (N, 1): y.unsqueeze(1)."
            elif len(output_shape) == 1 and targets.dim() == 2:
                fix = (f"Give the last layer {targets.shape[1]} outputs (a dense layer with "
                       f"{targets.shape[1]} units).")
            else:
                fix = (f"Make the network's output {format_shape(targets.shape[1:])} per sample, "
                       f"or give targets of that shape.")
            expected = f"(N, {', '.join(map(str, output_shape))}), one value per output"
            raise self._shape_error(output_shape, targets, expected, fix)
        if not targets.is_floating_point():
            raise ArgumentError(
                f"task {self.name!r}: targets must be real numbers (float). Received: targets "
                f"of dtype {str(targets.dtype).removeprefix('torch.')}. Convert them with "
                f"y.float(), or use task: classify for class labels.", argument="targets")
        self._check_finite(targets)

    def loss(self, outputs, targets):
        return LOSSES[self.loss_name](outputs, targets)

    def meter(self) -> TaskMeter:
        return TaskMeter(self, RegressionMeter())

    def predict(self, outputs):
        return {"values": outputs}
