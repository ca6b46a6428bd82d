"""Tasks: what a network is trained to do, and everything that follows from it.

Six tasks (:data:`TASKS`): ``classify``, ``multilabel``, ``regress``, ``segment``,
``reconstruct`` and ``detect``. Each is a :class:`Task` with ``prepare`` (inputs and
targets of a batch), ``check`` (targets against the network's output, before training),
``loss``, ``meter`` (exact metrics over a data set) and ``predict`` (post-processing).
:func:`resolve_task` decides a run's task from the spec's ``task:`` key, its loss and the
targets; docs/tasks.md has the table.

Example:
    >>> import torch
    >>> task = resolve_task(None, None, torch.tensor([0, 1, 2, 1]))
    >>> task.check((3,), torch.tensor([0, 1, 2, 1]))
    >>> task.name, task.num_classes, task.monitor
    ('classify', 3, 'accuracy')
"""

from .base import Task, TaskMeter
from .classify import Classify
from .detect import Detect
from .multilabel import Multilabel
from .reconstruct import Reconstruct
from .registry import (TARGET_TASKS, TASKS, infer_target, make_task, resolve_task, task_from_dict,
                       task_names, tasks_for_loss)
from .regress import Regress
from .roi_detector import RoIDetector, grid_proposals
from .segment import IGNORE_INDEX, Segment

__all__ = [
    "Classify", "Detect", "IGNORE_INDEX", "Multilabel", "Reconstruct", "Regress", "RoIDetector",
    "Segment",
    "TARGET_TASKS", "TASKS", "Task", "TaskMeter", "infer_target", "make_task", "resolve_task",
    "grid_proposals", "task_from_dict", "task_names", "tasks_for_loss",
]
