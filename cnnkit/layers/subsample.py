"""LeNet-5's subsampling layer (S2, S4): window sums with a learned coefficient and bias."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from .._validation import ShapeError
from ..functional import shapes
from ..functional.conv import check_input
from ..functional.subsample import subsample
from ._base import FROM_INPUT, Layer
from .kinds import Count, Flag, PerDim, collapse
from .pool import WindowPool

__all__ = ["Subsample"]


class Subsample(WindowPool):
    """Sum each window, multiply by a learned per-channel coefficient, add a learned
    per-channel bias (LeCun et al. 1998, layers S2 and S4: 2 parameters per feature map).
    A window pooling (its stride defaults to its window) without padding or dilation.

    The coefficient starts at ``1 / window size`` and the bias at 0, so a new layer is
    average pooling; LeNet-5 follows it with its squashing function.

    Args:
        channels: feature maps of the input (one coefficient and one bias each).
        kernel: window size, int or one per dimension.
        stride: int or one per dimension (default: the window).
        bias: learn a bias per channel.
        dims: number of spatial dimensions (1, 2 or 3).

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *O)``, ``O = floor((W - K) / S) + 1``.

    Example:
        >>> layer = Subsample(6, 2)
        >>> layer(torch.randn(1, 6, 28, 28)).shape, sum(p.numel() for p in layer.parameters())
        (torch.Size([1, 6, 14, 14]), 12)
    """

    kinds = {"channels": Count(), "kernel": PerDim(), "stride": PerDim(optional=True),
             "bias": Flag()}
    inferred = {"channels": "channels"}
    takes = "volume"

    def __init__(self, channels, kernel, stride=None, bias=True, *, dims=2):
        Layer.__init__(self, locals())

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        spatial, kernel = tuple(shape[1:]), settings["kernel"]
        if any(k > w for k, w in zip(kernel, spatial)):
            # No padding setting to suggest: the window must fit the input as it is.
            raise ShapeError(
                f"kernel {collapse(kernel)} does not fit the {shapes.format_spatial(spatial)} "
                f"input coming from {source.text}. Received: kernel={collapse(kernel)}. Use a "
                f"kernel of at most {collapse(spatial)}, {source.grow}.", argument="kernel")
        out = shapes.conv_output_shape(spatial, kernel, settings["stride"], "valid",
                                       (1,) * len(spatial), source=source)
        return (shape[0], *out)

    @classmethod
    def param_count(cls, settings, shape, out):
        return shape[0] * (2 if settings["bias"] else 1)

    @classmethod
    def flop_count(cls, settings, shape, out):
        # One multiply-add per output for the coefficient; the window sums count as the
        # summary counts pooling (not at all).
        return math.prod(out)

    def create(self) -> None:
        self.weight = nn.Parameter(torch.full((self.channels,), 1.0 / math.prod(self.kernel)))
        self.bias = nn.Parameter(torch.zeros(self.channels)) if self._settings["bias"] else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != self.dims + 2 or x.shape[1] != self.channels:
            check_input(x, self.dims, self.channels, type(self).__name__)
        return subsample(x, self.weight, self.bias, self.kernel, self.stride)
