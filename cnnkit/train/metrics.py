"""Evaluation metrics and the run's metrics log (``metrics.jsonl``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from .._files import atomic_write_text, writing
from ..runs.metrics import read_metrics

__all__ = ["MetricsLog", "evaluate", "topk_correct"]


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
