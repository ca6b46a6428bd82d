"""The scaled hyperbolic tangent of LeCun et al. 1998: ``f(a) = A tanh(S a)``.

``A = 1.7159`` and ``S = 2/3`` (LeCun, Bottou, Bengio and Haffner 1998, section II-B and
appendix A): then ``f(1) = 1`` and ``f(-1) = -1``, the second derivative is largest at
``a = 1``, and the gain near the origin is close to 1, so targets of +-1 lie where the
function is still steep and never drive the weights to saturation.
"""

from __future__ import annotations

import torch

__all__ = ["AMPLITUDE", "SLOPE", "scaled_tanh"]

AMPLITUDE = 1.7159
SLOPE = 2.0 / 3.0


def scaled_tanh(x: torch.Tensor) -> torch.Tensor:
    """``1.7159 * tanh(2 x / 3)``, element-wise (LeCun et al. 1998, eq. 6).

    Shape:
        any shape -> the same shape.

    Example:
        >>> scaled_tanh(torch.tensor([-1.0, 0.0, 1.0])).round(decimals=4)
        tensor([-1.,  0.,  1.])
    """
    return AMPLITUDE * torch.tanh(SLOPE * x)
