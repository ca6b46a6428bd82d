"""Fully connected layer and flatten (the classifier at the end of a CNN, as the Wikipedia
article "Convolutional neural network" describes it)."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .._validation import ShapeError
from ..functional import shapes
from ._base import FROM_INPUT, Layer
from .kinds import Count, Flag

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

    kinds = {"in_features": Count(), "units": Count(), "bias": Flag()}
    inferred = {"in_features": "features"}
    takes = "flat"
    sized = True

    def __init__(self, in_features: int, units: int, bias: bool = True):
        Layer.__init__(self, locals())

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        return (settings["units"],)

    @classmethod
    def param_count(cls, settings, shape, out):
        return shape[0] * settings["units"] + (settings["units"] if settings["bias"] else 0)

    @classmethod
    def flop_count(cls, settings, shape, out):
        return shape[0] * settings["units"]

    def create(self) -> None:
        s = self._settings
        self.weight = nn.Parameter(torch.empty(s["units"], s["in_features"]))
        self.bias = nn.Parameter(torch.empty(s["units"])) if s["bias"] else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # as torch.nn.Linear
        if self.bias is not None:
            bound = 1 / math.sqrt(s["in_features"])
            nn.init.uniform_(self.bias, -bound, bound)

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

    def __init__(self):
        Layer.__init__(self, locals())

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        return (math.prod(shape),)

    @classmethod
    def receptive_field(cls, settings, shape, geometry):
        # The vector as a whole sees every position of the volume.
        return shapes.whole_input_geometry(geometry, tuple(shape[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)
