"""Per-channel statistics of a training set, for the normalisation at the front of a network.

Inputs keep their values in a ``Dataset``; a network standardises them itself with the
mean and standard deviation fitted here on the training split (LeCun, Bottou, Orr and
Müller 1998, "Efficient BackProp", section 4.3: inputs with zero mean and unit variance
per variable speed up learning). Fitting on the training split only keeps the test split
unseen.
"""

from __future__ import annotations

import torch

from .._validation import ArgumentError, ArgumentTypeError, positive_int
from .dataset import Dataset

__all__ = ["fit_channel_stats"]


def fit_channel_stats(data, *, chunk_size: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of every input channel, over samples and positions.

    Two passes in float64 over chunks of samples (the mean first, then the squared
    deviations from it), so that neither a large set nor values far from zero lose
    precision. The standard deviation is the population one (divided by the count). A
    channel that never varies gets a standard deviation of 1, so that dividing by it
    leaves it unscaled instead of dividing by zero.

    Args:
        data: a ``Dataset`` (its ``x``) or a float tensor ``(N, C, *spatial)``.
        chunk_size: samples converted to float64 at a time.

    Shape:
        ``(N, C, *spatial)`` -> ``mean (C,)``, ``std (C,)``, float32, on the data's device.

    Raises:
        ArgumentTypeError: token ids or a non-float ``x``.
        ArgumentError: no samples, or samples without a channel axis.

    Example:
        >>> import torch
        >>> x = torch.tensor([[[1.0, 3.0], [10.0, 10.0]], [[5.0, 7.0], [10.0, 10.0]]])
        >>> mean, std = fit_channel_stats(x)      # 2 samples, 2 channels, length 2
        >>> mean.tolist(), std.tolist()
        ([4.0, 10.0], [2.2360680103302, 1.0])
    """
    x = data.x if isinstance(data, Dataset) else data
    if not isinstance(x, torch.Tensor):
        raise ArgumentTypeError(
            f"data must be a Dataset or a tensor (N, C, *spatial). Received: "
            f"{type(data).__name__}."
        )
    if not x.is_floating_point():
        raise ArgumentTypeError(
            f"channel statistics need float samples (N, C, *spatial). Received: x of dtype "
            f"{x.dtype} (token ids have no channels to standardise; an embedding layer "
            f"learns their scale)."
        )
    if x.dim() < 3 or x.shape[0] == 0:
        raise ArgumentError(
            f"channel statistics need at least one sample of shape (C, *spatial). Received: "
            f"x of shape {tuple(x.shape)}."
        )
    positive_int(chunk_size, "chunk_size")
    channels = x.shape[1]
    count = x.numel() // channels
    total = torch.zeros(channels, dtype=torch.float64, device=x.device)
    for lo in range(0, x.shape[0], chunk_size):
        chunk = x[lo:lo + chunk_size].to(torch.float64)
        total += chunk.transpose(0, 1).reshape(channels, -1).sum(1)
    mean = total / count
    shape = (1, channels) + (1,) * (x.dim() - 2)
    squares = torch.zeros(channels, dtype=torch.float64, device=x.device)
    for lo in range(0, x.shape[0], chunk_size):
        centred = x[lo:lo + chunk_size].to(torch.float64) - mean.reshape(shape)
        squares += centred.square().transpose(0, 1).reshape(channels, -1).sum(1)
    std = (squares / count).sqrt()
    std = torch.where(std > 0, std, torch.ones_like(std))
    return mean.to(torch.float32), std.to(torch.float32)
