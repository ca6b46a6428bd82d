"""Evaluation metrics and the run's metrics log (``metrics.jsonl``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from .._files import atomic_write_text, writing
from ..runs.metrics import read_metrics

__all__ = ["MetricsLog", "evaluate", "evaluate_task", "describe_metrics", "scalar_metrics",
           "topk_correct"]


def topk_correct(logits: torch.Tensor, target: torch.Tensor, k: int) -> torch.Tensor:
    """Number of samples whose label is among the ``k`` highest scores (a 0-d tensor).

    Example:
        >>> topk_correct(torch.tensor([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05]]), torch.tensor([2, 0]), 1)
        tensor(1)
    """
    k = min(k, logits.shape[1])
    return (logits.topk(k, dim=1).indices == target.unsqueeze(1)).any(dim=1).sum()


@torch.no_grad()
def evaluate(model, x: torch.Tensor, y: torch.Tensor, loss_fn, batch_size: int = 500,
             topk: int = 5, device=None, transform=None) -> dict[str, float]:
    """Loss, accuracy and top-k accuracy of ``model`` on ``(x, y)``, in eval mode.

    Returns:
        ``{"loss", "accuracy", "top{k}_accuracy", "count"}``; accuracy keys only for
        integer (class) targets, top-k only when ``k`` is below the number of classes. ``count`` is the number of samples; accuracy is over
        labels, so with per-pixel targets (structured outputs, ``(N, H, W)``) it is the
        share of pixels labelled right.
    """
    if len(x) == 0:
        from .._validation import ArgumentError

        raise ArgumentError("evaluate needs at least one sample: accuracy over 0 samples means "
                            "nothing. Received: x with 0 samples.", argument="x")
    was_training = model.training
    model.eval()
    device = device or next(model.parameters()).device
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    correct_k = torch.zeros((), dtype=torch.long, device=device)
    classes = not y.dtype.is_floating_point
    labels = 0
    outputs = 0
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size].to(device, non_blocking=True)
        yb = y[start:start + batch_size].to(device, non_blocking=True)
        if transform is not None:
            xb = transform(xb)
        out = model(xb)
        total_loss += loss_fn(out, yb).double() * len(xb)
        if classes and out.dim() >= 2:
            correct += (out.argmax(dim=1) == yb).sum()
            correct_k += topk_correct(out, yb, topk) if out.dim() == 2 else 0
            outputs = out.shape[1]
            labels += yb.numel()
    model.train(was_training)
    count = max(len(x), 1)
    result = {"loss": float(total_loss) / count, "count": len(x)}
    if classes:
        result["accuracy"] = float(correct) / max(labels, 1)
        # Top-k is defined for one label per sample, and says something only when k is
        # below the number of classes (top-5 of 3 classes is always 1).
        if y.dim() == 1 and topk < outputs:
            result[f"top{topk}_accuracy"] = float(correct_k) / count
    return result


# Seed of the noise a denoising task draws in evaluation: every evaluation of a run (each
# epoch's validation, the test split, `cnnkit eval`) sees the same noised inputs.
EVAL_NOISE_SEED = 12345


@torch.no_grad()
def evaluate_task(model, x: torch.Tensor, y: torch.Tensor, task, batch_size: int = 500,
                  device=None, transform=None) -> dict:
    """The loss and every metric of ``task`` for ``model`` on ``(x, y)``, in eval mode.

    The metrics come from the task's accumulator over the whole set (never an average of
    batch values); the loss is the batch losses weighted by batch size.

    Args:
        model: the network.
        x, y: samples and the data's targets (``task.prepare`` makes the network's inputs
            and the loss's targets of them: the clean input for reconstruction).
        task: a :class:`cnnkit.tasks.Task`.
        batch_size: samples per forward pass.
        device: where to run (default: the model's).
        transform: applied to each batch of inputs (a memory format).

    Returns:
        ``{"loss", "count", **task.meter().compute()}``: ``count`` the number of samples,
        and what the task's meter gives (floats, lists per class, counts).

    Raises:
        ArgumentError: no samples.

    Example:
        >>> from cnnkit.tasks import make_task
        >>> model = torch.nn.Conv1d(1, 1, 1); _ = torch.nn.init.ones_(model.weight)
        >>> _ = torch.nn.init.zeros_(model.bias)
        >>> result = evaluate_task(model, torch.rand(4, 1, 8), torch.zeros(4), make_task("reconstruct"))
        >>> result["loss"], result["psnr"], result["count"]
        (0.0, 100.0, 4)
    """
    if len(x) == 0:
        from .._validation import ArgumentError

        raise ArgumentError("evaluate needs at least one sample: metrics over 0 samples mean "
                            "nothing. Received: x with 0 samples.", argument="x")
    was_training = model.training
    model.eval()
    device = device or next(model.parameters()).device
    meter = task.meter()
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    generator = torch.Generator(device=device).manual_seed(EVAL_NOISE_SEED)
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size].to(device, non_blocking=True)
        yb = y[start:start + batch_size].to(device, non_blocking=True)
        xb, yb = task.prepare(xb, yb, generator=generator)
        if transform is not None:
            xb = transform(xb)
        out = model(xb)
        total_loss += task.loss(out, yb).double() * len(xb)
        meter.update(out, yb)
    model.train(was_training)
    metrics = meter.compute()
    metrics.pop("count", None)
    return {"loss": float(total_loss) / len(x), "count": len(x), **metrics}


def scalar_metrics(metrics: dict) -> dict:
    """The numbers of an evaluation that fit one line of a log: floats and ints, not the
    per-class lists.

    Example:
        >>> scalar_metrics({"loss": 0.5, "iou": [0.1, None], "count": 3, "mean_iou": None})
        {'loss': 0.5, 'count': 3}
    """
    return {k: v for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


# The headline metrics of each task, in the order a line shows them; percentages for shares.
_HEADLINE = (("accuracy", "accuracy", True), ("mean_iou", "mean IoU", False),
             ("pixel_accuracy", "pixel accuracy", True), ("mAP", "mAP@0.5", False),
             ("mean_f1", "mean F1", False), ("r2", "R²", False), ("rmse", "RMSE", False),
             ("psnr", "PSNR", False))


def describe_metrics(metrics: dict) -> str:
    """One phrase for an evaluation's result, the task's headline metrics first.

    Example:
        >>> describe_metrics({"loss": 0.25, "count": 10, "accuracy": 0.9})
        'accuracy 90.00% on 10 samples (loss 0.2500)'
        >>> describe_metrics({"loss": 0.01, "count": 4, "psnr": 21.5, "mse": 0.01})
        'PSNR 21.50 dB on 4 samples (loss 0.0100)'
    """
    parts = []
    for key, label, percent in _HEADLINE:
        value = metrics.get(key)
        if key == "mAP" and "mean_f1" in metrics:
            label = "mAP"  # multi-label: the mean of per-label average precision
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            unit = " dB" if key == "psnr" else ""
            parts.append(f"{label} {100 * value:.2f}%" if percent else f"{label} {value:.4g}{unit}"
                         if key != "psnr" else f"{label} {value:.2f}{unit}")
    head = ", ".join(parts) or "loss only"
    return f"{head} on {metrics.get('count', 0)} samples (loss {metrics['loss']:.4f})"


class MetricsLog:
    """Append-only ``metrics.jsonl``: one JSON object per logged step or epoch.

    On resume, lines logged after the checkpoint's step are dropped (they will be logged
    again), so that the file reads as one uninterrupted run.
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def append(self, record: dict) -> None:
        with writing(self.path):
            with open(self.path, "a") as handle:
                handle.write(json.dumps(record, sort_keys=True) + "\n")
                handle.flush()
                os.fsync(handle.fileno())

    def records(self) -> list[dict]:
        """Every record so far (a line cut short by a kill ends the list)."""
        return read_metrics(self.path)

    def truncate_after(self, step: int) -> None:
        """Drop the records logged after ``step`` (and any line cut short by a kill)."""
        kept = [r for r in self.records() if r.get("step", 0) <= step]
        atomic_write_text(self.path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))
