"""Multi-label metrics: per-label precision, recall and F1 at a threshold, their means,
and average precision per label with its mean (mAP); and their accumulator."""

from __future__ import annotations

import torch

from .._validation import ShapeError
from ._meter import Meter, plain

__all__ = ["MultilabelMeter", "average_precision", "precision_recall_f1"]


def _check(scores: torch.Tensor, target: torch.Tensor) -> None:
    if scores.dim() != 2 or target.shape != scores.shape:
        raise ShapeError(f"multi-label metrics take scores (N, K) and 0/1 targets (N, K). "
                         f"Received: scores of shape {tuple(scores.shape)}, targets of shape "
                         f"{tuple(target.shape)}.")


def _ratio(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a / b, 0 where b is 0 (precision with no predicted positives)."""
    return torch.where(b > 0, a / b.clamp_min(1e-300), torch.zeros_like(a))


def precision_recall_f1(tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor):
    """Per label: precision ``TP / (TP + FP)``, recall ``TP / (TP + FN)`` and F1
    ``2 TP / (2 TP + FP + FN)`` (the harmonic mean of the two), each 0 where its
    denominator is 0.

    Example:
        >>> precision_recall_f1(torch.tensor([2.]), torch.tensor([1.]), torch.tensor([2.]))
        (tensor([0.6667]), tensor([0.5000]), tensor([0.5714]))
    """
    return _ratio(tp, tp + fp), _ratio(tp, tp + fn), _ratio(2 * tp, 2 * tp + fp + fn)


def average_precision(scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Average precision of each column: ``AP = sum_n (R_n - R_{n-1}) P_n`` over the
    distinct score thresholds from the highest down (precision ``P_n`` and recall ``R_n``
    of "score >= threshold n"; tied scores form one threshold), the area under the
    step-wise precision-recall curve without interpolation (Manning, Raghavan and
    Schutze 2008, section 8.4; scikit-learn's ``average_precision_score``).

    Args:
        scores: ``(N, K)`` (or ``(N,)``); higher means more likely positive.
        target: 0/1, the same shape.

    Returns:
        float64 ``(K,)`` (or a 0-d tensor); NaN for a column without positives.

    Example:
        >>> average_precision(torch.tensor([0.9, 0.8, 0.7, 0.6]), torch.tensor([1, 0, 1, 0]))
        tensor(0.8333, dtype=torch.float64)
    """
    single = scores.dim() == 1
    if single:
        scores, target = scores[:, None], target[:, None]
    _check(scores, target)
    order = torch.sort(scores.detach().double(), dim=0, descending=True, stable=True)
    s = order.values
    t = target.double().gather(0, order.indices)
    positives = t.sum(0)
    tp = t.cumsum(0)
    rank = torch.arange(1, len(s) + 1, dtype=torch.float64, device=s.device)[:, None]
    precision = tp / rank
    recall = tp / positives.clamp_min(1)
    # A threshold ends where the next score is lower (or at the last sample).
    end = torch.ones_like(s, dtype=torch.bool)
    if len(s) > 1:
        end[:-1] = s[1:] != s[:-1]
    recall_at_end = torch.where(end, recall, torch.zeros_like(recall))
    before = torch.cat((torch.zeros_like(recall[:1]), recall_at_end.cummax(0).values[:-1]), 0)
    ap = (end * (recall - before) * precision).sum(0)
    ap = torch.where(positives > 0, ap, torch.full_like(ap, float("nan")))
    return ap[0] if single else ap


class MultilabelMeter(Meter):
    """Per-label precision, recall and F1 at ``threshold`` on the sigmoid probabilities,
    their means over labels (macro), and average precision per label with its mean (mAP),
    over a whole data set.

    AP needs every score (it ranks the whole set), so the meter keeps the ``(N, K)``
    probabilities and targets; the counts for precision and recall are sums.

    Args:
        num_labels: ``K``.
        threshold: a label is predicted present when its probability is at least this.
        logits: the scores given to ``update`` are logits (``sigmoid`` is applied);
            False: they are probabilities already.

    ``compute()`` gives ``mean_f1``, ``mean_precision``, ``mean_recall``, ``mAP`` (the mean
    over labels that have positives), ``precision``, ``recall``, ``f1``,
    ``average_precision`` (lists per label, None where undefined) and ``count``.

    Example:
        >>> meter = MultilabelMeter(2)
        >>> meter.update(torch.tensor([[3., -1.], [2., 1.]]), torch.tensor([[1., 0.], [0., 1.]]))
        >>> result = meter.compute()
        >>> result["f1"], result["average_precision"]
        ([0.6666666666666666, 1.0], [1.0, 1.0])
    """

    def __init__(self, num_labels: int, threshold: float = 0.5, logits: bool = True):
        self.num_labels, self.threshold, self.logits = num_labels, threshold, logits
        self.reset()

    def reset(self) -> None:
        self.scores: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []

    def update(self, scores: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch: ``scores`` ``(N, K)`` and 0/1 ``target`` ``(N, K)``."""
        _check(scores, target)
        p = torch.sigmoid(scores.detach().float()) if self.logits else scores.detach().float()
        self.scores.append(p)
        self.targets.append(target.detach().to(torch.uint8))

    def compute(self) -> dict:
        if not self.scores:
            return {"mean_f1": None, "mAP": None, "count": 0}
        p = torch.cat(self.scores).cpu().double()
        t = torch.cat(self.targets).cpu().double()
        predicted = (p >= self.threshold).double()
        tp = (predicted * t).sum(0)
        fp = (predicted * (1 - t)).sum(0)
        fn = ((1 - predicted) * t).sum(0)
        precision, recall, f1 = precision_recall_f1(tp, fp, fn)
        ap = average_precision(p, t)
        defined = ~torch.isnan(ap)
        return {
            "mean_f1": float(f1.mean()), "mean_precision": float(precision.mean()),
            "mean_recall": float(recall.mean()),
            "mAP": float(ap[defined].mean()) if bool(defined.any()) else None,
            "precision": plain(precision), "recall": plain(recall), "f1": plain(f1),
            "average_precision": plain(ap), "count": int(p.shape[0]),
        }
