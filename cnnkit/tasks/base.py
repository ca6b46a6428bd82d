"""The task interface: what a trainer, evaluator, predictor, report and viewer ask of a
kind of problem (classify, multilabel, regress, segment, reconstruct, detect).

A :class:`Task` knows the targets it takes, checks them against the network's output
before any training (one-line errors that say the fix), computes the loss, accumulates
metrics over a whole data set, and turns outputs into predictions. Tasks hold no
parameters; a task is recorded in a run as :meth:`Task.to_dict` and rebuilt with
:func:`cnnkit.tasks.task_from_dict`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, did_you_mean
from ..functional.losses import LOSSES
from ..metrics import Meter

__all__ = ["Task", "TaskMeter", "format_shape"]


def format_shape(shape) -> str:
    """``(3, 32, 32)`` -> ``'(3, 32, 32)'``, ``(10,)`` -> ``'(10,)'``."""
    return str(tuple(int(v) for v in shape))


class TaskMeter(Meter):
    """A task's metrics over a whole data set: ``update(outputs, targets)`` takes the
    network's raw outputs and the targets of a batch, as the loss does; ``compute()``
    gives the metrics (plain Python: floats, lists per class, None where undefined).

    Args:
        task: the task; its :meth:`Task.metric_inputs` turns a batch into what ``meter``
            takes.
        meter: a metric accumulator from :mod:`cnnkit.metrics`.
    """

    def __init__(self, task: "Task", meter: Meter):
        self.task, self.meter = task, meter

    def reset(self) -> None:
        self.meter.reset()

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        with torch.no_grad():
            self.meter.update(*self.task.metric_inputs(outputs, targets))

    def compute(self) -> dict:
        return self.meter.compute()


class Task:
    """A kind of problem: its targets, loss, metrics and predictions.

    Class attributes:
        name: the task's name in a spec (``task: segment``) and in a run.
        target: the data's kind of target that it takes (``Dataset.target``: ``class``,
            ``multilabel``, ``regression``, ``segmentation``, ``detection``); None for
            reconstruction, whose target is the input itself.
        losses: the loss names (:data:`cnnkit.functional.losses.LOSSES`) that fit it;
            the first is the default.
        monitor: the metric that says which epoch is best (higher is better).
        metrics: the scalar metrics ``compute()`` gives, in the order to show them.

    Args:
        loss: a loss name from ``losses``; None for the default.
        num_classes: the number of classes (labels, or outputs); None to take it from the
            network's output in :meth:`check`.

    Raises:
        ArgumentError: a loss that does not fit the task.
    """

    name: ClassVar[str] = ""
    target: ClassVar[str | None] = None
    losses: ClassVar[tuple[str, ...]] = ()
    monitor: ClassVar[str] = ""
    higher_is_better: ClassVar[bool] = True
    metrics: ClassVar[tuple[str, ...]] = ()

    def __init__(self, loss: str | None = None, num_classes: int | None = None):
        self.loss_name = self.losses[0] if loss is None else self._check_loss(loss)
        if num_classes is not None and (isinstance(num_classes, bool)
                                        or not isinstance(num_classes, int) or num_classes < 1):
            raise ArgumentError(f"num_classes must be a positive int. Received: "
                                f"num_classes={num_classes!r}.", argument="num_classes")
        self.num_classes = num_classes

    @classmethod
    def _check_loss(cls, loss) -> str:
        if not isinstance(loss, str) or loss not in LOSSES:
            hint = did_you_mean(loss, LOSSES) if isinstance(loss, str) else ""
            raise ArgumentError(f"unknown loss {loss!r}.{hint} Valid losses: "
                                f"{', '.join(LOSSES)}.", argument="loss")
        if loss not in cls.losses:
            raise ArgumentError(cls.loss_mismatch(loss), argument="loss")
        return loss

    @classmethod
    def loss_mismatch(cls, loss: str) -> str:
        """The one-line error for a loss that does not fit this task."""
        from .registry import tasks_for_loss
        others = [t for t in tasks_for_loss(loss) if t != cls.name]
        alternative = f", or task: {others[0]}" if others else ""
        return (f"task {cls.name!r} does not fit loss {loss!r}. Received: task={cls.name!r}, "
                f"loss={loss!r}. Use loss: {' or '.join(cls.losses)}{alternative}.")

    # ---- the interface ------------------------------------------------------------------
    def prepare(self, x: torch.Tensor, y: torch.Tensor, *,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(inputs, targets)`` for a batch of samples ``x`` and data targets ``y``: what
        the network is given and what the loss and metrics compare its output with. The
        identity, except for reconstruction (target: the clean input; input: noised for a
        denoising autoencoder)."""
        return x, y

    def check(self, output_shape, targets: torch.Tensor, num_classes: int | None = None) -> None:
        """Check that the targets fit the network's output and this task, before training.

        Args:
            output_shape: the network's output for one sample (no batch dimension).
            targets: the targets of the data set (or a batch), as the loss takes them
                (:meth:`prepare`'s second value): shape, dtype and values are checked.
            num_classes: the data's number of classes, where it has classes.

        Raises:
            ShapeError: a target shape that does not fit the output (both shapes, the task
                and the fix).
            ArgumentError: target values this task cannot take (NaN, labels outside the
                classes, boxes outside the image).
        """
        raise NotImplementedError

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The training loss of a batch (a scalar, averaged as the loss defines)."""
        raise NotImplementedError

    def meter(self) -> TaskMeter:
        """A fresh metric accumulator: ``update(outputs, targets)``, ``compute()``."""
        raise NotImplementedError

    def metric_inputs(self, outputs: torch.Tensor, targets: torch.Tensor) -> tuple:
        """The arguments of this task's metric meter for a batch."""
        return outputs, targets

    def predict(self, outputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Post-processing of a batch of raw outputs into predictions (a dict of tensors,
        batch first)."""
        raise NotImplementedError

    # ---- records ------------------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        """The task's settings beyond its loss and classes (for :meth:`to_dict`)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :func:`cnnkit.tasks.task_from_dict` turns back into this task.

        Example:
            >>> from cnnkit.tasks import Classify
            >>> Classify(num_classes=10).to_dict()
            {'name': 'classify', 'loss': 'softmax_cross_entropy', 'num_classes': 10, 'label_smoothing': 0.0, 'class_weights': None, 'topk': [5]}
        """
        return {"name": self.name, "loss": self.loss_name, "num_classes": self.num_classes,
                **self.options()}

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k != "name")
        return f"{type(self).__name__}({settings})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    # ---- helpers for the checks ---------------------------------------------------------
    def _shape_error(self, output_shape, targets: torch.Tensor, expected: str, fix: str):
        return ShapeError(
            f"task {self.name!r}: targets of shape {format_shape(targets.shape)} do not fit the "
            f"network's output {format_shape(output_shape)} per sample; this task needs "
            f"targets {expected}. {fix}", argument="targets")

    def _check_tensor(self, targets) -> torch.Tensor:
        if not isinstance(targets, torch.Tensor):
            raise ArgumentTypeError(f"task {self.name!r}: targets must be a tensor. Received: "
                                    f"targets of type {type(targets).__name__}.",
                                    argument="targets")
        return targets

    def _check_finite(self, targets: torch.Tensor) -> None:
        if targets.is_floating_point() and targets.numel():
            bad = ~torch.isfinite(targets)
            if bool(bad.any()):
                first = int(bad.reshape(bad.shape[0], -1).any(1).nonzero()[0])
                raise ArgumentError(
                    f"task {self.name!r}: the targets hold {int(bad.sum())} NaN or infinite "
                    f"values (first in sample {first}). Remove those samples or fill in the "
                    f"missing targets.", argument="targets")

    def _classes_from(self, count: int, num_classes: int | None) -> int:
        """The class count: the output's, checked against the data's."""
        if num_classes is not None and num_classes > count:
            raise ShapeError(
                f"task {self.name!r}: the data has {num_classes} classes but the network gives "
                f"{count} class scores. Make the last layer give {num_classes} outputs.",
                argument="num_classes")
        self.num_classes = count
        return count


def _is_integer(targets: torch.Tensor) -> bool:
    return not targets.is_floating_point() and not targets.is_complex() \
        and targets.dtype != torch.bool
