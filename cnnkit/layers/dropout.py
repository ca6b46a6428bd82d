"""Dropout: regularisation by dropping units during training (Srivastava et al. 2014)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._base import Layer
from .kinds import Flag, Number

__all__ = ["Dropout"]


class Dropout(Layer):
    """Zero each unit with probability ``rate`` in training and scale the rest by
    ``1 / (1 - rate)`` (inverted dropout), so inference needs no change.

    Args:
        rate: drop probability in [0, 1).
        channelwise: drop whole channels (feature maps) instead of single units.

    Shape:
        any -> same shape.

    Example:
        >>> layer = Dropout(0.5).eval()
        >>> bool((layer(torch.ones(4)) == 1).all())
        True
    """

    kinds = {"rate": Number(0, 1, open_high=True, what="the probability of dropping a unit"),
             "channelwise": Flag()}

    def __init__(self, rate: float = 0.5, channelwise: bool = False):
        Layer.__init__(self, locals())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        if self.channelwise and x.dim() > 2:
            mask = torch.empty(x.shape[:2] + (1,) * (x.dim() - 2), device=x.device, dtype=x.dtype)
            return x * mask.bernoulli_(1 - self.rate).div_(1 - self.rate)
        return F.dropout(x, self.rate, True)
