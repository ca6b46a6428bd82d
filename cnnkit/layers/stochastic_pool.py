"""Stochastic pooling (Zeiler and Fergus 2013). The maths is in
:mod:`cnnkit.functional.stochastic_pool`."""

from __future__ import annotations

import torch  # noqa: F401  (the docstring examples use it)

from ..functional.stochastic_pool import stochastic_pool
from .pool import WindowPool

__all__ = ["StochasticPool"]


class StochasticPool(WindowPool):
    """Stochastic pooling: in training one activation per window, drawn with probability
    ``a_i / sum a``; in evaluation the probability-weighted average ``sum a_i^2 / sum a``.
    See :func:`cnnkit.functional.stochastic_pool.stochastic_pool`.

    Inputs must be non-negative (put it after a ReLU).

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *O)``, O as for max pooling with the same window.

    Raises:
        ArgumentError: at call time, a negative input.

    Example:
        >>> pool = StochasticPool(2)
        >>> pool(torch.rand(1, 6, 28, 28)).shape
        torch.Size([1, 6, 14, 14])
        >>> pool.eval()(torch.tensor([[[[1., 3.], [0., 0.]]]]))
        tensor([[[[2.5000]]]])
    """

    onnx = ("its check for negative inputs depends on the data, which torch.export cannot "
            "trace")

    def forward(self, x):
        self._check(x)
        return stochastic_pool(x, self.kernel, self.stride, self.padding, self.dilation,
                               self.ceil_mode, training=self.training)
