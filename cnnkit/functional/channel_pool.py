"""Pooling across channels and maxout (Goodfellow et al. 2013; Goodfellow et al. 2016, fig. 9.9).

Pooling over the outputs of separately parametrised filters lets the network learn which
transformations to become invariant to (Goodfellow et al. 2016, fig. 9.9): the ``k``
consecutive channels of each group are reduced to one by max (maxout), mean, or an Lp norm.
"""

from __future__ import annotations

import torch  # noqa: F401  (the docstring examples use it)

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, one_of, positive_int
from . import shapes

__all__ = ["CHANNEL_POOL_MODES", "channel_pool", "maxout"]

CHANNEL_POOL_MODES = ("max", "avg", "lp")


def check_lp(p) -> float:
    """Check an Lp exponent: a positive number."""
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise ArgumentTypeError(f"p must be a number. Received: p={p!r}.")
    if not p > 0:
        raise ArgumentError(f"p must be positive (p=2 is the L2 norm). Received: p={p!r}.")
    return float(p)


def channel_pool(x, k: int, mode: str = "max", p: float = 2.0):
    """Reduce each group of ``k`` consecutive channels to one: max, mean or Lp norm.

    Args:
        x: input ``(N, C, *S)`` with any number of trailing dimensions (``(N, C)`` after a
            dense layer too).
        k: channels per group; must divide ``C``.
        mode: ``"max"`` (maxout), ``"avg"`` or ``"lp"``.
        p: exponent for ``mode="lp"``: ``(sum |x|^p)^(1/p)``; an all-zero group has a zero
            gradient.

    Shape:
        ``(N, C, *S)`` -> ``(N, C / k, *S)``; output channel ``j`` pools input channels
        ``j k .. j k + k - 1``.

    Raises:
        ShapeError: ``k`` does not divide the channels, or an input without channels.
        ArgumentError: unknown mode, a non-positive ``k`` or ``p``.

    Example:
        >>> x = torch.tensor([[1., 5., 2., 0., 3., 4.]])
        >>> channel_pool(x, 2)
        tensor([[5., 2., 4.]])
        >>> channel_pool(x, 3, mode="avg")
        tensor([[2.6667, 2.3333]])
    """
    one_of(mode, CHANNEL_POOL_MODES, "mode")
    positive_int(k, "k")
    if x.dim() < 2:
        raise ShapeError(
            f"channel_pool expects an input (N, C, *S). Received: input of shape {tuple(x.shape)}."
        )
    groups = shapes.channel_pool_output_channels(x.shape[1], k)
    grouped = x.reshape(x.shape[0], groups, k, *x.shape[2:])
    if mode == "max":
        # max(dim) sends the gradient to one element, as max pooling does.
        return grouped.max(dim=2).values
    if mode == "avg":
        return grouped.mean(dim=2)
    p = check_lp(p)
    total = grouped.abs().pow(p).sum(dim=2)
    # An all-zero group: take the root of 1 instead of 0 and multiply by 0, so that the
    # infinite derivative of s^(1/p) at s = 0 never enters the gradient.
    zero = (total == 0).to(total.dtype)
    return (total + zero).pow(1.0 / p) * (1 - zero)


def maxout(x, k: int):
    """Maxout units: the maximum over each group of ``k`` consecutive channels.

    Shape:
        ``(N, C, *S)`` -> ``(N, C / k, *S)``.

    Example:
        >>> maxout(torch.arange(8.).view(1, 8, 1), 4).flatten().tolist()
        [3.0, 7.0]
    """
    return channel_pool(x, k, "max")
