"""Shape rules of stochastic, fractional, channel (maxout), pyramid and RoI pooling.

Built on the primitives of :mod:`cnnkit.functional.shapes` (window output sizes and padding
are computed there, one way for every layer); this module adds what these blocks need on
top, so that the spec and the summary table can infer shapes without running a network:

    stochastic pooling     the window rule of :func:`shapes.conv_output_shape`
    fractional max pool    ``O = ceil(L / alpha)``, ``L = W`` (disjoint) or ``W - 1``
                           (overlapping), ``alpha`` in (1, 2)
    channel pool / maxout  ``C -> C / k``
    pyramid pooling        ``(N, C, *W) -> (N, C * sum_l prod(l))``, whatever ``W``
    RoI pooling            ``K`` boxes -> ``(K, C, *output_size)``
    DropConnect            the shapes of dense and convolution layers: unchanged
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, positive_int, to_tuple
from . import shapes

__all__ = [
    "channel_pool_output_channels",
    "check_pool_ratio",
    "fractional_pool_output_shape",
    "fractional_pool_output_size",
    "fractional_span",
    "normalize_levels",
    "pyramid_pool_features",
    "roi_pool_output_shape",
    "stochastic_pool_output_shape",
]


def stochastic_pool_output_shape(size: Sequence[int], kernel: Sequence[int],
                                 stride: Sequence[int], padding, dilation: Sequence[int],
                                 ceil_mode: bool = False) -> tuple[int, ...]:
    """Spatial output shape of stochastic pooling: the same window rule as max pooling.

    ``O = floor((W + P_lo + P_hi - D * (K - 1) - 1) / S) + 1``.

    Example:
        >>> stochastic_pool_output_shape((28, 28), (2, 2), (2, 2), 0, (1, 1))
        (14, 14)
    """
    n = len(size)
    padding = shapes.normalize_padding(padding, n)
    pairs = shapes.padding_pairs(padding, kernel, stride, dilation, size)
    return shapes.conv_output_shape(tuple(size), kernel, stride, pairs, dilation,
                                    ceil_mode=ceil_mode)


def check_pool_ratio(ratio, n: int, name: str = "ratio") -> tuple[float, ...]:
    """Check a fractional pooling ratio: one number in (1, 2) or one per dimension.

    Raises:
        ArgumentTypeError: not a number or a sequence of numbers.
        ArgumentError: a value outside the open interval (1, 2), or the wrong count.

    Example:
        >>> check_pool_ratio(1.5, 2)
        (1.5, 1.5)
    """
    if isinstance(ratio, (int, float)) and not isinstance(ratio, bool):
        items = (float(ratio),) * n
    elif isinstance(ratio, Sequence) and not isinstance(ratio, str):
        if len(ratio) != n:
            raise ArgumentError(
                f"{name} must be a number or {n} numbers (one per spatial dimension). "
                f"Received: {name}={ratio!r} with {len(ratio)} values."
            )
        if any(isinstance(r, bool) or not isinstance(r, (int, float)) for r in ratio):
            raise ArgumentTypeError(f"{name} must contain numbers. Received: {name}={ratio!r}.")
        items = tuple(float(r) for r in ratio)
    else:
        raise ArgumentTypeError(
            f"{name} must be a number in (1, 2) or one per dimension. "
            f"Received: {name}={ratio!r} ({type(ratio).__name__})."
        )
    for r in items:
        if not 1 < r < 2:
            raise ArgumentError(
                f"{name} must lie strictly between 1 and 2 (the input shrinks by a factor "
                f"alpha with 1 < alpha < 2; every region spans 1 or 2 inputs per step). "
                f"Received: {name}={ratio!r}. For a factor of 2 use max_pool(kernel=2); for "
                f"larger factors stack fractional pools (e.g. two of sqrt(2))."
            )
    return items


def fractional_span(size: int, overlapping: bool) -> int:
    """``L``: the last region boundary, ``W`` for disjoint and ``W - 1`` for overlapping regions.

    Overlapping region ``i`` is ``[a_{i-1}, a_i]`` (inclusive), so its last boundary must
    be the last input index.
    """
    return size - 1 if overlapping else size


def _check_fractional_out(size: int, out: int, overlapping: bool, axis: int) -> int:
    span = fractional_span(size, overlapping)
    low, high = -(-span // 2), span
    if span < 1 or not low <= out <= high:
        kind = "overlapping" if overlapping else "disjoint"
        if span < 1:
            fix = "Use an input of at least 2 elements along every dimension."
        else:
            fix = f"Use an output size between {low} and {high}."
        raise ShapeError(
            f"fractional max pooling with {kind} regions cannot map size {size} onto size {out} "
            f"along spatial dimension {axis}: the {out} regions step by 1 or 2 from 0 to {span}, "
            f"so the output must lie in [ceil({span} / 2), {span}]. Received: input size {size}, "
            f"output size {out}. {fix}"
        )
    return out


def fractional_pool_output_size(size: int, ratio: float, overlapping: bool = False,
                                axis: int = 0) -> int:
    """Output length of fractional max pooling (Graham 2014) for a ratio ``alpha`` in (1, 2).

    The boundaries ``0 = a_0 < a_1 < ... < a_O = L`` step by 1 or 2, with ``L = W`` for
    disjoint regions ``[a_{i-1}, a_i - 1]`` and ``L = W - 1`` for overlapping regions
    ``[a_{i-1}, a_i]``; so ``O`` must satisfy ``O <= L <= 2 O``, and
    ``O = ceil(L / alpha)`` always does.

    Raises:
        ArgumentError: ``ratio`` outside (1, 2).
        ShapeError: an input too small to pool (``L < 1``).

    Example:
        >>> fractional_pool_output_size(32, 1.5)
        22
        >>> fractional_pool_output_size(32, 2 ** 0.5, overlapping=True)
        22
    """
    (alpha,) = check_pool_ratio(ratio, 1)
    span = fractional_span(size, overlapping)
    out = max(math.ceil(span / alpha - 1e-12), 1)
    return _check_fractional_out(size, out, overlapping, axis)


def fractional_pool_output_shape(size: Sequence[int], ratio=None, output_size=None,
                                 overlapping: bool = False) -> tuple[int, ...]:
    """Spatial output shape of fractional max pooling from a ratio or an explicit size.

    Exactly one of ``ratio`` and ``output_size`` is given. An explicit ``output_size`` must
    satisfy ``ceil(L / 2) <= O <= L`` per dimension.

    Raises:
        ArgumentError: both or neither of ``ratio`` and ``output_size``; a bad ratio.
        ShapeError: an output size the 1-or-2 steps cannot reach.

    Example:
        >>> fractional_pool_output_shape((25, 25), ratio=1.4)
        (18, 18)
        >>> fractional_pool_output_shape((10,), output_size=6)
        (6,)
    """
    n = len(size)
    if (ratio is None) == (output_size is None):
        raise ArgumentError(
            "fractional max pooling needs exactly one of ratio and output_size. Received: "
            f"ratio={ratio!r}, output_size={output_size!r}. Pass ratio=1.5 (say) or "
            "output_size=(H, W)."
        )
    if ratio is not None:
        ratios = check_pool_ratio(ratio, n)
        return tuple(fractional_pool_output_size(w, r, overlapping, axis)
                     for axis, (w, r) in enumerate(zip(size, ratios)))
    outs = to_tuple(output_size, n, "output_size")
    return tuple(_check_fractional_out(w, o, overlapping, axis)
                 for axis, (w, o) in enumerate(zip(size, outs)))


def channel_pool_output_channels(channels: int, k: int) -> int:
    """Channels after pooling groups of ``k`` consecutive channels (maxout): ``C / k``.

    Raises:
        ShapeError: ``k`` does not divide ``channels``.

    Example:
        >>> channel_pool_output_channels(12, 3)
        4
    """
    positive_int(k, "k")
    if channels % k:
        below = channels - channels % k
        raise ShapeError(
            f"channel pooling takes groups of k={k} consecutive channels, and k does not divide "
            f"the {channels} input channels. Received: {channels} channels, k={k}. Make the "
            f"previous layer produce a multiple of {k} channels (e.g. {below or k} or "
            f"{below + k}), or use a k that divides {channels}."
        )
    return channels // k


def normalize_levels(levels, n: int, name: str = "levels") -> tuple[tuple[int, ...], ...]:
    """Check pyramid levels: a sequence of bin counts, each an int or one int per dimension.

    Example:
        >>> normalize_levels((1, 2, 4), 2)
        ((1, 1), (2, 2), (4, 4))
    """
    if isinstance(levels, int) and not isinstance(levels, bool):
        levels = (levels,)
    if not isinstance(levels, Sequence) or isinstance(levels, str) or len(levels) == 0:
        raise ArgumentTypeError(
            f"{name} must be a non-empty sequence of bin counts, e.g. (1, 2, 4). "
            f"Received: {name}={levels!r}."
        )
    return tuple(to_tuple(level, n, name) for level in levels)


def pyramid_pool_features(channels: int, levels, n: int) -> int:
    """Length of the spatial pyramid pooling vector: ``C * sum_l prod(l)`` (``C * sum l^d``).

    Independent of the input size: that is the point of the pyramid (He et al. 2014).

    Example:
        >>> pyramid_pool_features(256, (1, 2, 4), 2)   # 256 * (1 + 4 + 16)
        5376
    """
    return channels * sum(math.prod(level) for level in normalize_levels(levels, n))


def roi_pool_output_shape(num_boxes: int, channels: int, output_size, n: int = 2) -> tuple[int, ...]:
    """Output shape of RoI pooling: one ``(C, *output_size)`` volume per box.

    Example:
        >>> roi_pool_output_shape(128, 256, 7)
        (128, 256, 7, 7)
    """
    return (num_boxes, channels, *to_tuple(output_size, n, "output_size"))
