"""LeNet-5's output layer: Euclidean radial basis function units (LeCun et al. 1998)."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from .._validation import ArgumentError
from ..functional.rbf import BITMAP_SIZE, DIGIT_BITMAPS, bitmap_codes, rbf
from ._base import FROM_INPUT, Layer
from .kinds import Choice, Count

__all__ = ["RBF"]

CODES = ("learned", "bitmap")


class RBF(Layer):
    """One Euclidean RBF unit per class: ``y_i = -sum_j (x_j - w_ij)^2``, the negative
    squared distance from the input to the unit's parameter vector (LeCun et al. 1998,
    eq. 7; negated so that the nearest vector gives the largest output, see
    :mod:`cnnkit.functional.rbf`).

    Train it with softmax cross-entropy on its outputs: that is the paper's maximum a
    posteriori criterion (eq. 9) without its "rubbish class" constant.

    Args:
        in_features: inputs (84 in LeNet-5: F6's units).
        units: output units, one per class.
        codes: ``"learned"``: parameter vectors trained with the rest, starting at random
            +-1 (the paper's alternative); ``"bitmap"``: the fixed 7x12 digit bitmaps of
            :data:`cnnkit.functional.rbf.DIGIT_BITMAPS` (+-1), a buffer and no parameter, as
            the paper's LeNet-5 (needs ``in_features=84`` and at most 10 units).

    Shape:
        ``(N, in_features)`` -> ``(N, units)``.

    Raises:
        ArgumentError: ``codes="bitmap"`` with other than 84 inputs or more than 10 units.

    Example:
        >>> layer = RBF(84, 10, codes="bitmap")
        >>> layer(torch.zeros(2, 84)).shape, sum(p.numel() for p in layer.parameters())
        (torch.Size([2, 10]), 0)
    """

    kinds = {"in_features": Count(), "units": Count(), "codes": Choice(CODES)}
    inferred = {"in_features": "features"}
    takes = "flat"

    def __init__(self, in_features, units, codes="learned"):
        Layer.__init__(self, locals())

    @classmethod
    def check_together(cls, settings, source=None):
        if settings.get("codes") != "bitmap":
            return
        pixels = math.prod(BITMAP_SIZE)
        if settings.get("in_features") not in (None, pixels):
            where = f" coming from {source.text}" if source is not None else ""
            raise ArgumentError(
                f"codes='bitmap' compares the input with {BITMAP_SIZE[1]}x{BITMAP_SIZE[0]} "
                f"bitmaps, so it needs {pixels} input features. Received: in_features="
                f"{settings['in_features']}{where}. Give the layer before {pixels} units, or use "
                f"codes='learned'.", argument="codes")
        if settings["units"] > len(DIGIT_BITMAPS):
            raise ArgumentError(
                f"codes='bitmap' holds the bitmaps of the ten digits, so it serves at most 10 "
                f"units. Received: units={settings['units']}. Use codes='learned' for more "
                f"classes.", argument="codes")

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        return (settings["units"],)

    @classmethod
    def param_count(cls, settings, shape, out):
        return settings["units"] * shape[0] if settings["codes"] == "learned" else 0

    @classmethod
    def flop_count(cls, settings, shape, out):
        return settings["units"] * shape[0]

    def create(self) -> None:
        if self.codes == "bitmap":
            self.register_buffer("weight", bitmap_codes(self.units))
        else:
            signs = torch.randint(0, 2, (self.units, self.in_features)).float() * 2 - 1
            self.weight = nn.Parameter(signs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rbf(x, self.weight.to(x.dtype) if self.codes == "bitmap" else self.weight)
