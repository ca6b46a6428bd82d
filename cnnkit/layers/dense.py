"""Fully connected layer and flatten: the classifier at the end of a CNN, as in
the Wikipedia article "Convolutional neural network".
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .._validation import ShapeError, positive_int
from ._base import Layer

__all__ = ["Dense", "Flatten"]


class Dense(Layer):
    """Fully connected layer ``y = x W^T + b``.

    Args:
        in_features: size of each input vector.
        units: size of each output vector.
        bias: add a learned bias.

    Shape:
        ``(N, in_features)`` -> ``(N, units)``.

    Raises:
        ShapeError: at call time, an input whose last dimension is not ``in_features``
            (the usual cause: a flatten whose size the network changed).

    Example:
        >>> Dense(400, 120)(torch.randn(2, 400)).shape
        torch.Size([2, 120])
    """

    _always_shown = ("in_features", "units")
    _defaults = {"bias": True}

    def __init__(self, in_features: int, units: int, bias: bool = True):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.units = positive_int(units, "units")
        self.weight = nn.Parameter(torch.empty(units, in_features))
        self.bias = nn.Parameter(torch.empty(units)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # as torch.nn.Linear
        if self.bias is not None:
            bound = 1 / math.sqrt(in_features)
            nn.init.uniform_(self.bias, -bound, bound)

    def settings(self) -> dict:
        return {"in_features": self.in_features, "units": self.units, "bias": self.bias is not None}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 1 or x.shape[-1] != self.in_features:
            raise ShapeError(
                f"Dense expects inputs with {self.in_features} features in the last dimension. "
                f"Received: input of shape {tuple(x.shape)}. If a flatten comes before, its "
                f"size is channels x spatial size of the volume before it; set in_features="
                f"{x.shape[-1] if x.dim() else '?'} or fix the layers before."
            )
        return F.linear(x, self.weight, self.bias)


class Flatten(Layer):
    """Flatten every dimension after the batch dimension.

    Shape:
        ``(N, C, *S)`` -> ``(N, C * prod(S))``.

    Example:
        >>> Flatten()(torch.randn(2, 16, 5, 5)).shape
        torch.Size([2, 400])
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)
