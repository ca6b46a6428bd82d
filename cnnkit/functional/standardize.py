"""Standardisation with fixed statistics: ``(x - mean[c]) / std[c]`` per channel."""

from __future__ import annotations

import torch

from .._validation import ArgumentError, ShapeError

__all__ = ["channel_statistics", "standardize"]


def standardize(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Subtract each channel's mean and divide by its standard deviation.

    ``y[n, c, *s] = (x[n, c, *s] - mean[c]) / std[c]``: the input normalisation of
    LeCun et al. (1998, "Efficient BackProp", section 4.3: inputs of zero mean and unit
    variance), with statistics fixed in advance (fitted on the training split), so that
    every use of a network applies the same numbers.

    Args:
        x: ``(N, C, *spatial)`` or ``(N, C)``.
        mean: ``(C,)`` or ``(1,)`` (one value for every channel).
        std: ``(C,)`` or ``(1,)``, positive.

    Shape:
        ``(N, C, *S)`` -> ``(N, C, *S)``.

    Raises:
        ShapeError: ``mean`` or ``std`` with neither 1 nor C values.

    Example:
        >>> standardize(torch.tensor([[1.0, 4.0]]), torch.tensor([0.0, 2.0]), torch.tensor([0.5, 2.0]))
        tensor([[2., 1.]])
    """
    if x.dim() < 2:
        raise ShapeError(f"standardize expects (N, C, ...). Received: input of shape "
                         f"{tuple(x.shape)}.")
    channels = x.shape[1]
    for name, value in (("mean", mean), ("std", std)):
        if value.dim() != 1 or value.shape[0] not in (1, channels):
            raise ShapeError(
                f"{name} must hold one value per input channel ({channels}) or one value. "
                f"Received: {name} with {value.numel()} values.", argument=name)
    view = (1, -1) + (1,) * (x.dim() - 2)
    return (x - mean.view(view)) / std.view(view)


def channel_statistics(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation (population, ``1/n``) of data ``(N, C, *S)``,
    over the samples and positions: the statistics a :class:`cnnkit.layers.Standardize`
    layer fitted on a training split holds. Computed in float64.

    Raises:
        ArgumentError: a channel that is constant (std 0) or not finite.

    Example:
        >>> channel_statistics(torch.tensor([[[0.0, 2.0]], [[4.0, 6.0]]]))
        (tensor([3.], dtype=torch.float64), tensor([2.2361], dtype=torch.float64))
    """
    if x.dim() < 2 or x.shape[0] == 0:
        raise ShapeError(f"channel_statistics expects samples (N, C, ...) with N >= 1. "
                         f"Received: data of shape {tuple(x.shape)}.")
    values = x.detach().double().transpose(0, 1).reshape(x.shape[1], -1)
    mean = values.mean(1)
    std = (values - mean[:, None]).square().mean(1).sqrt()
    bad = ~(torch.isfinite(mean) & torch.isfinite(std) & (std > 0))
    if bool(bad.any()):
        c = int(bad.nonzero()[0])
        raise ArgumentError(
            f"channel {c} of the data has standard deviation {float(std[c]):g} (mean "
            f"{float(mean[c]):g}): it cannot be standardised. Drop the constant channel, or "
            f"check the data for NaN or infinite values.")
    return mean, std
