"""The accumulator protocol every metric meter follows."""

from __future__ import annotations

import math

import torch

__all__ = ["Meter", "plain"]


def plain(value):
    """A tensor, number or list as JSON-ready Python: floats, ints and lists, with NaN as
    None (JSON has no NaN).

    Example:
        >>> plain(torch.tensor([0.5, float("nan")]))
        [0.5, None]
    """
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Meter:
    """Accumulates what a metric needs over a whole data set, batch by batch.

    ``update(...)`` adds a batch (sums, counts, a confusion matrix: no per-sample Python);
    ``compute()`` returns the metrics over everything seen so far as a dict of plain
    Python values (floats; lists for per-class values, with None where a value is
    undefined); ``reset()`` starts again. The result equals the metric computed on the
    whole data set at once, not an average of batch values.
    """

    def reset(self) -> None:
        """Forget everything seen."""
        raise NotImplementedError

    def update(self, *args, **kwargs) -> None:
        """Add one batch."""
        raise NotImplementedError

    def compute(self) -> dict:
        """The metrics over everything seen."""
        raise NotImplementedError
