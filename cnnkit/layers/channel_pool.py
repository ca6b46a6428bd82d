"""Pooling across channels and maxout (Goodfellow et al. 2013; Goodfellow et al. 2016,
fig. 9.9). The maths is in :mod:`cnnkit.functional.channel_pool`."""

from __future__ import annotations

import torch  # noqa: F401  (the docstring examples use it)

from .._validation import ShapeError
from ..functional import shapes
from ..functional.channel_pool import CHANNEL_POOL_MODES, channel_pool
from ._base import FROM_INPUT, Layer
from .kinds import Choice, Count, Number

__all__ = ["ChannelPool", "Maxout"]


class ChannelPool(Layer):
    """Pool groups of ``k`` consecutive channels into one (Goodfellow et al. 2016, fig. 9.9):
    max (maxout), mean or Lp norm. See :func:`cnnkit.functional.channel_pool.channel_pool`.

    Shape:
        ``(N, C, *S)`` -> ``(N, C / k, *S)``.

    Raises:
        ShapeError: at call time, ``k`` does not divide the input channels.

    Example:
        >>> ChannelPool(4, mode="avg")(torch.randn(2, 16, 5, 5)).shape
        torch.Size([2, 4, 5, 5])
    """

    kinds = {"k": Count(), "mode": Choice(CHANNEL_POOL_MODES),
             "p": Number(0, open_low=True, what="p = 2 is the L2 norm")}

    def __init__(self, k: int, mode: str = "max", p: float = 2.0):
        Layer.__init__(self, locals())

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        try:
            channels = shapes.channel_pool_output_channels(shape[0], settings["k"])
        except ShapeError as error:
            raise ShapeError(f"{error} The channels come from {source.text}.",
                             argument="k") from None
        return (channels, *shape[1:])

    def output_channels(self, channels: int) -> int:
        """Channels after pooling (raises if ``k`` does not divide them)."""
        return shapes.channel_pool_output_channels(channels, self.k)

    def forward(self, x):
        return channel_pool(x, self.k, self.mode, self.p)


class Maxout(ChannelPool):
    """Maxout (Goodfellow et al. 2013): the maximum of each group of ``k`` channels.

    Shape:
        ``(N, C, *S)`` -> ``(N, C / k, *S)``.

    Example:
        >>> Maxout(2)(torch.randn(3, 10)).shape
        torch.Size([3, 5])
    """

    mode, p = "max", 2.0

    def __init__(self, k: int):
        Layer.__init__(self, locals())
