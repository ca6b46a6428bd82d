"""The scaled tanh activation of LeCun et al. 1998 (LeNet-5's squashing function)."""

from __future__ import annotations

import torch

from ..functional.scaled_tanh import scaled_tanh
from .activation import Fixed

__all__ = ["ScaledTanh"]


class ScaledTanh(Fixed):
    """``1.7159 * tanh(2 x / 3)``: +-1 map to +-1 (LeCun et al. 1998, appendix A).

    Shape:
        any shape -> the same shape.

    Example:
        >>> ScaledTanh()(torch.tensor([1.0])).round(decimals=4)
        tensor([1.])
    """

    name = "scaled_tanh"

    def create(self) -> None:
        pass

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return scaled_tanh(x)
