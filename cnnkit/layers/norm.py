"""Normalisation layers: batch normalisation (any rank) and local response normalisation."""

from __future__ import annotations


import torch
import torch.nn as nn
import torch.nn.functional as F

from ..functional.conv import check_input
from ..functional.norm import local_response_norm
from ._base import Layer
from .kinds import Count, Flag, Number

__all__ = ["BatchNorm", "LocalResponseNorm"]


class BatchNorm(Layer):
    """Batch normalisation over ``(N, C, *spatial)`` for any number of spatial dims.

    ``y = (x - mean) / sqrt(var + eps) * gamma + beta``, statistics per channel over
    the batch and every location; running averages for inference (Ioffe and Szegedy 2015).

    Shape:
        ``(N, C, *S)`` or ``(N, C)`` -> same shape.

    Example:
        >>> BatchNorm(6)(torch.randn(4, 6, 3, 3, 3)).shape
        torch.Size([4, 6, 3, 3, 3])
    """

    kinds = {"num_features": Count(), "eps": Number(0, open_low=True),
             "momentum": Number(0, 1), "affine": Flag()}
    inferred = {"num_features": "channels"}

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True):
        Layer.__init__(self, locals())

    @classmethod
    def param_count(cls, settings, shape, out):
        return 2 * shape[0] if settings["affine"] else 0

    def create(self) -> None:
        c, affine = self.num_features, self.affine
        self.weight = nn.Parameter(torch.ones(c)) if affine else None
        self.bias = nn.Parameter(torch.zeros(c)) if affine else None
        self.register_buffer("running_mean", torch.zeros(c))
        self.register_buffer("running_var", torch.ones(c))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.num_features:
            check_input(x, max(x.dim() - 2, 0), self.num_features, "BatchNorm")
        if self.training:
            self.num_batches_tracked.add_(1)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)


class LocalResponseNorm(Layer):
    """Local response normalisation across channels (Krizhevsky et al. 2012). See
    :func:`cnnkit.functional.local_response_norm`.

    Shape:
        ``(N, C, *S)`` -> same shape.

    Example:
        >>> LocalResponseNorm()(torch.randn(1, 8, 5, 5)).shape
        torch.Size([1, 8, 5, 5])
    """

    kinds = {"size": Count(), "alpha": Number(), "beta": Number(0), "k": Number()}
    takes = "volume"

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0):
        Layer.__init__(self, locals())

    def forward(self, x):
        return local_response_norm(x, self.size, self.alpha, self.beta, self.k)
