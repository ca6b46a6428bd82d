"""Normalisation layers: batch normalisation (any rank) and local response normalisation."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .._validation import ArgumentError, positive_int
from ..functional.conv import check_input
from ..functional.norm import local_response_norm
from ._base import Layer

__all__ = ["BatchNorm", "LocalResponseNorm"]


class BatchNorm(Layer):
    """Batch normalisation over ``(N, C, *spatial)`` for any number of spatial dims.

    ``y = (x - mean) / sqrt(var + eps) * gamma + beta``, statistics per channel over
    the batch and every location; running averages for inference.

    Shape:
        ``(N, C, *S)`` or ``(N, C)`` -> same shape.

    Example:
        >>> BatchNorm(6)(torch.randn(4, 6, 3, 3, 3)).shape
        torch.Size([4, 6, 3, 3, 3])
    """

    _always_shown = ("num_features",)
    _defaults = {"eps": 1e-5, "momentum": 0.1, "affine": True}

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True):
        super().__init__()
        self.num_features = positive_int(num_features, "num_features")
        if not eps > 0:
            raise ArgumentError(f"eps must be positive. Received: eps={eps!r}.")
        if not 0 <= momentum <= 1:
            raise ArgumentError(f"momentum must be in [0, 1]. Received: momentum={momentum!r}.")
        self.eps, self.momentum, self.affine = float(eps), float(momentum), bool(affine)
        self.weight = nn.Parameter(torch.ones(num_features)) if affine else None
        self.bias = nn.Parameter(torch.zeros(num_features)) if affine else None
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.num_features:
            check_input(x, max(x.dim() - 2, 0), self.num_features, "BatchNorm")
        if self.training:
            self.num_batches_tracked.add_(1)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)


class LocalResponseNorm(Layer):
    """Local response normalisation across channels (AlexNet). See
    :func:`cnnkit.functional.local_response_norm`.

    Shape:
        ``(N, C, *S)`` -> same shape.

    Example:
        >>> LocalResponseNorm()(torch.randn(1, 8, 5, 5)).shape
        torch.Size([1, 8, 5, 5])
    """

    _defaults = {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0):
        super().__init__()
        self.size = positive_int(size, "size")
        self.alpha, self.beta, self.k = float(alpha), float(beta), float(k)

    def forward(self, x):
        return local_response_norm(x, self.size, self.alpha, self.beta, self.k)
