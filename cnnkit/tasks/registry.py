"""The tasks by name, and how a run's task is decided: the spec's ``task:`` key, else the
loss, else the targets."""

from __future__ import annotations

from typing import Any

import torch

from .._validation import ArgumentError, ArgumentTypeError, did_you_mean
from ..functional.losses import LOSSES
from .base import Task, format_shape
from .classify import Classify
from .detect import Detect
from .multilabel import Multilabel
from .reconstruct import Reconstruct
from .regress import Regress
from .segment import Segment

__all__ = ["TARGET_TASKS", "TASKS", "infer_target", "make_task", "resolve_task",
           "task_from_dict", "task_names", "tasks_for_loss"]

TASKS: dict[str, type[Task]] = {cls.name: cls for cls in
                                (Classify, Multilabel, Regress, Segment, Reconstruct, Detect)}
# The data's kind of target (``Dataset.target``) -> the task that takes it.
TARGET_TASKS = {cls.target: name for name, cls in TASKS.items() if cls.target is not None}


def task_names() -> tuple[str, ...]:
    """The task names, in the order of the docs.

    Example:
        >>> task_names()
        ('classify', 'multilabel', 'regress', 'segment', 'reconstruct', 'detect')
    """
    return tuple(TASKS)


def tasks_for_loss(loss: str) -> tuple[str, ...]:
    """The tasks that a loss fits.

    Example:
        >>> tasks_for_loss("softmax_cross_entropy"), tasks_for_loss("euclidean")
        (('classify', 'segment'), ('regress', 'reconstruct'))
    """
    return tuple(name for name, cls in TASKS.items() if loss in cls.losses)


def _check_name(name: Any, argument: str = "task") -> str:
    if isinstance(name, str) and name in TASKS:
        return name
    hint = did_you_mean(name, TASKS) if isinstance(name, str) else ""
    raise ArgumentError(f"unknown {argument} {name!r}.{hint} Valid tasks: "
                        f"{', '.join(TASKS)}.", argument="task")


def make_task(name: str, **settings) -> Task:
    """The task called ``name`` with its settings (``loss``, ``num_classes`` and the
    task's own).

    Raises:
        ArgumentError: an unknown task (with a did-you-mean), a loss that does not fit.
        ArgumentTypeError: a setting the task does not have.

    Example:
        >>> make_task("segment", num_classes=3)
        Segment(loss='softmax_cross_entropy', num_classes=3, ignore_index=255, class_weights=None)
    """
    cls = TASKS[_check_name(name)]
    try:
        return cls(**settings)
    except TypeError as error:
        if "unexpected keyword" not in str(error):
            raise
        import inspect
        known = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        unknown = next(k for k in settings if k not in known)
        raise ArgumentTypeError(f"task {name!r} has no setting {unknown!r}."
                                f"{did_you_mean(unknown, known)} Settings: {', '.join(known)}.",
                                argument=unknown) from None


def task_from_dict(data: dict) -> Task:
    """Rebuild a task from :meth:`Task.to_dict` (what a run records).

    Example:
        >>> task = make_task("detect", num_classes=3, nms_iou=0.4)
        >>> task_from_dict(task.to_dict()) == task
        True
    """
    if not isinstance(data, dict) or "name" not in data:
        raise ArgumentTypeError(f"a task record is a mapping with a name. Received: {data!r}.",
                                argument="task")
    settings = {k: v for k, v in data.items() if k not in ("name", "head")}
    return make_task(data["name"], **settings)


def infer_target(y: torch.Tensor) -> str:
    """The data's kind of target from a targets tensor's dtype and shape, as the data sets
    decide it: integer ``(N,)`` is ``class``; float ``(N,)`` ``regression``; float
    ``(N, M, 5)`` ``detection``; a 2-D tensor of only 0 and 1 ``multilabel``; other integer
    ``segmentation``; other float ``regression``.

    Example:
        >>> infer_target(torch.tensor([0, 2])), infer_target(torch.zeros(2, 8, 8, dtype=torch.long))
        ('class', 'segmentation')
    """
    is_float = y.is_floating_point()
    if y.dim() <= 1:
        return "regression" if is_float else "class"
    if is_float and y.dim() == 3 and y.shape[-1] == 5:
        return "detection"
    if y.dim() == 2 and y.numel() and bool(((y == 0) | (y == 1)).all()):
        return "multilabel"
    return "regression" if is_float else "segmentation"


def _data_target(targets) -> tuple[str | None, torch.Tensor | None]:
    """(kind of target, tensor) from a Dataset-like (``.target``, ``.y``) or a tensor."""
    if targets is None:
        return None, None
    kind = getattr(targets, "target", None)
    y = getattr(targets, "y", targets)
    if not isinstance(y, torch.Tensor):
        raise ArgumentTypeError(f"targets must be a tensor or a data set with .y. Received: "
                                f"{type(targets).__name__}.", argument="targets")
    return (kind if isinstance(kind, str) and kind else infer_target(y)), y


def resolve_task(spec_task: str | None = None, loss_name: str | None = None, targets=None,
                 **settings) -> Task:
    """The task of a run, from the spec's ``task:`` key, else the loss, else the targets.

    * ``spec_task`` given: that task; the loss must fit it (its default loss if None), and
      the data's kind of target must be the task's (any data for ``reconstruct``).
    * else ``loss_name`` given: the task it fits (``softmax_cross_entropy`` fits
      ``classify`` and ``segment``: the targets decide, one label per sample or per
      position; ``euclidean`` fits ``regress`` and ``reconstruct``: ``regress``, since
      reconstruction is declared with ``task: reconstruct``).
    * else the targets' kind: ``class`` -> ``classify``, ``multilabel`` -> ``multilabel``,
      ``regression`` -> ``regress``, ``segmentation`` -> ``segment``, ``detection`` ->
      ``detect``.
    * nothing: ``classify``.

    Args:
        spec_task: the spec's ``task`` (or the ``--task`` flag), or None.
        loss_name: the spec's ``loss`` (or ``--loss``), or None.
        targets: the training targets: a tensor, or a data set with ``.y`` and ``.target``
            (its kind of target); or None.
        settings: the task's settings (``num_classes``, ``label_smoothing``, ...).

    Raises:
        ArgumentError: an unknown task or loss; a loss that does not fit the task; targets
            of another kind than the task takes.

    Example:
        >>> resolve_task(None, "sigmoid_cross_entropy").name
        'multilabel'
        >>> resolve_task(None, "softmax_cross_entropy", torch.zeros(4, 8, 8, dtype=torch.long)).name
        'segment'
        >>> resolve_task("regress", "softmax_cross_entropy")
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: task 'regress' does not fit loss 'softmax_cross_entropy'. Received: task='regress', loss='softmax_cross_entropy'. Use loss: euclidean or mse or smooth_l1, or task: classify.
    """
    kind, y = _data_target(targets)
    if spec_task is not None:
        name = _check_name(spec_task)
    elif loss_name is not None:
        if not isinstance(loss_name, str) or loss_name not in LOSSES:
            hint = did_you_mean(loss_name, LOSSES) if isinstance(loss_name, str) else ""
            raise ArgumentError(f"unknown loss {loss_name!r}.{hint} Valid losses: "
                                f"{', '.join(LOSSES)}.", argument="loss")
        fitting = tasks_for_loss(loss_name)
        by_kind = TARGET_TASKS.get(kind) if kind else None
        name = by_kind if by_kind in fitting else fitting[0]
    elif kind is not None:
        name = TARGET_TASKS[kind]
    else:
        name = "classify"
    cls = TASKS[name]
    if kind is not None and cls.target is not None and kind != cls.target:
        shape = f" of shape {format_shape(y.shape)}" if y is not None else ""
        raise ArgumentError(
            f"task {name!r} takes {cls.target!r} targets, but the data's targets are {kind!r}"
            f"{shape}. Use task: {TARGET_TASKS[kind]}"
            f"{f' (loss: {TASKS[TARGET_TASKS[kind]].losses[0]})' if loss_name else ''}, or other "
            f"data.", argument="task")
    return cls(loss=loss_name, **settings)
