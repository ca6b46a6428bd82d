"""The standardisation layer: fixed per-channel statistics at the front of a network. The
maths is in :mod:`cnnkit.functional.standardize`."""

from __future__ import annotations

import math

import torch

from .._validation import ArgumentError, ArgumentTypeError, ShapeError
from ..functional.standardize import channel_statistics, standardize
from ._base import FROM_INPUT, Layer
from .kinds import Kind

__all__ = ["Standardize", "Values"]


class Values(Kind):
    """A number, or a list of numbers (one per channel); ``positive`` ones for a std.

    Example:
        >>> Values().check([0.5, 1], "mean", 2), Values().plain((0.5,)), Values().plain((1.0, 2.0))
        ((0.5, 1.0), 0.5, [1.0, 2.0])
    """

    def __init__(self, positive: bool = False):
        self.positive = positive

    def read(self, value):
        if isinstance(value, str):  # YAML 1.1 reads 1e-5 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                return value
        if isinstance(value, list):
            return [self.read(v) if isinstance(v, str) else v for v in value]
        return value

    def check(self, value, name, rank):
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        what = "positive numbers" if self.positive else "numbers"
        if not items or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in items):
            raise ArgumentTypeError(
                f"{name} must be a number or a list of {what}, one per input channel. "
                f"Received: {name}={value!r}.", argument=name)
        bad = [v for v in items if not math.isfinite(v) or (self.positive and v <= 0)]
        if bad:
            raise ArgumentError(
                f"{name} must hold finite {what}. Received: {name}={value!r} (with {bad[0]!r}).",
                argument=name)
        return tuple(float(v) for v in items)

    def plain(self, value):
        return value[0] if len(value) == 1 else list(value)

    def show(self, value) -> str:
        return repr(self.plain(value))


class Standardize(Layer):
    """``(x - mean[c]) / std[c]`` per input channel, with fixed statistics held as buffers.

    The statistics are fitted on the training split (:meth:`from_data`) and travel with
    the network: its spec (``standardize: {mean: [...], std: [...]}``), its checkpoints
    (buffers ``channel_mean``, ``channel_std``) and its ONNX export, so that evaluation,
    prediction, the viewer and exported models all apply the same numbers to raw inputs.

    Args:
        mean: one value per input channel, or one value for all.
        std: likewise, positive.

    Shape:
        ``(N, C, *S)`` or ``(N, C)`` -> the same shape.

    Raises:
        ShapeError: (at shape inference) ``mean`` or ``std`` with neither 1 nor C values.

    Example:
        >>> layer = Standardize([0.5, 0.4, 0.3], [0.25, 0.2, 0.2])
        >>> layer(torch.full((1, 3, 2, 2), 0.5))[0, :, 0, 0]
        tensor([0.0000, 0.5000, 1.0000])
        >>> Standardize.from_data(torch.tensor([[[0.0, 2.0]], [[4.0, 6.0]]]))
        Standardize(mean=3.0, std=2.23606797749979)
    """

    kinds = {"mean": Values(), "std": Values(positive=True)}

    def __init__(self, mean, std):
        Layer.__init__(self, locals())

    @classmethod
    def check_together(cls, settings, source=None) -> None:
        mean, std = settings.get("mean"), settings.get("std")
        if mean is not None and std is not None and len(mean) != len(std) \
                and 1 not in (len(mean), len(std)):
            raise ArgumentError(f"mean and std must have the same number of values (one per "
                                f"channel). Received: {len(mean)} means and {len(std)} stds.",
                                argument="std")

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        channels = shape[0]
        for name in ("mean", "std"):
            count = len(settings[name])
            if count not in (1, channels):
                raise ShapeError(
                    f"{name} has {count} values but {source.text} gives {channels} channels. "
                    f"Received: {name}={list(settings[name])!r}. Give one value per channel "
                    f"(fit them on the training split), or one value for all.", argument=name)
        return tuple(shape)

    @classmethod
    def from_data(cls, x: torch.Tensor) -> "Standardize":
        """A layer holding the per-channel mean and std of data ``(N, C, *S)`` (fit it on
        the training split only)."""
        mean, std = channel_statistics(x)
        return cls(mean.tolist(), std.tolist())

    def create(self) -> None:
        self.register_buffer("channel_mean", torch.tensor(self.mean, dtype=torch.float32))
        self.register_buffer("channel_std", torch.tensor(self.std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return standardize(x, self.channel_mean.to(x.dtype), self.channel_std.to(x.dtype))
