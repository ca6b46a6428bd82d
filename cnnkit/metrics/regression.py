"""Regression metrics: mean absolute error, root mean squared error and the coefficient of
determination R^2, per output and averaged over outputs; and their accumulator."""

from __future__ import annotations

import torch

from .._validation import ShapeError
from ._meter import Meter, plain

__all__ = ["RegressionMeter", "r2_score"]


def _columns(prediction: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, K, *dense)`` -> ``(N * prod(dense), K)``: one column per output (per channel
    of a dense target)."""
    if prediction.shape != target.shape or prediction.dim() < 1:
        raise ShapeError(f"regression metrics take predictions and targets of one shape. "
                         f"Received: {tuple(prediction.shape)} and {tuple(target.shape)}.")
    if prediction.dim() == 1:
        return prediction[:, None], target[:, None]
    k = prediction.shape[1]
    return (prediction.movedim(1, -1).reshape(-1, k), target.movedim(1, -1).reshape(-1, k))


def _r2(ss_res: torch.Tensor, ss_tot: torch.Tensor) -> torch.Tensor:
    # A constant target: R^2 is 1 for a perfect fit and 0 otherwise (scikit-learn's
    # force_finite rule), rather than a division by zero.
    return torch.where(ss_tot > 0, 1 - ss_res / ss_tot.clamp_min(1e-300),
                       (ss_res == 0).to(ss_res.dtype))


def r2_score(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Coefficient of determination per output: ``R^2 = 1 - sum (y - yhat)^2 / sum (y -
    mean y)^2``; 1 is a perfect fit, 0 predicting the mean, negative worse than that.

    Shape:
        ``(N, K, *dense)`` -> float64 ``(K,)`` (``(N,)`` -> ``(1,)``).

    Example:
        >>> r2_score(torch.tensor([2.5, 0.0, 2.0, 8.0]), torch.tensor([3.0, -0.5, 2.0, 7.0]))
        tensor([0.9486], dtype=torch.float64)
    """
    p, t = _columns(prediction.detach().double(), target.detach().double())
    return _r2((t - p).square().sum(0), (t - t.mean(0)).square().sum(0))


class RegressionMeter(Meter):
    """MAE, RMSE and R^2 per output and their means over outputs, over a whole data set.

    Sums are kept in float64; the target's variance is merged batch by batch with the
    pairwise update of Chan, Golub and LeVeque (1983), so R^2 is exact and stable without
    keeping the data.

    ``compute()`` gives ``mae``, ``rmse``, ``r2`` (means over outputs), ``mae_per_output``,
    ``rmse_per_output``, ``r2_per_output`` (lists) and ``count``.

    Example:
        >>> meter = RegressionMeter()
        >>> meter.update(torch.tensor([[2.5], [0.0]]), torch.tensor([[3.0], [-0.5]]))
        >>> meter.update(torch.tensor([[2.0], [8.0]]), torch.tensor([[2.0], [7.0]]))
        >>> {k: round(v, 4) for k, v in meter.compute().items() if k in ("mae", "rmse", "r2")}
        {'mae': 0.5, 'rmse': 0.6124, 'r2': 0.9486}
    """

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.abs_error = self.sq_error = self.mean = self.m2 = None

    def update(self, prediction: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch: predictions and targets ``(N, K)`` (or ``(N, K, *dense)``)."""
        p, t = _columns(prediction.detach().double(), target.detach().double())
        n = p.shape[0]
        if n == 0:
            return
        mean = t.mean(0)
        m2 = (t - mean).square().sum(0)
        if self.count == 0:
            self.abs_error = (p - t).abs().sum(0)
            self.sq_error = (p - t).square().sum(0)
            self.mean, self.m2 = mean, m2
        else:
            self.abs_error = self.abs_error + (p - t).abs().sum(0)
            self.sq_error = self.sq_error + (p - t).square().sum(0)
            total = self.count + n
            delta = mean - self.mean
            self.m2 = self.m2 + m2 + delta.square() * self.count * n / total
            self.mean = self.mean + delta * n / total
        self.count += n

    def compute(self) -> dict:
        if self.count == 0:
            return {"mae": None, "rmse": None, "r2": None, "count": 0}
        mae = self.abs_error / self.count
        rmse = (self.sq_error / self.count).sqrt()
        r2 = _r2(self.sq_error, self.m2)
        return {"mae": float(mae.mean()), "rmse": float(rmse.mean()), "r2": float(r2.mean()),
                "mae_per_output": plain(mae), "rmse_per_output": plain(rmse),
                "r2_per_output": plain(r2), "count": self.count}
