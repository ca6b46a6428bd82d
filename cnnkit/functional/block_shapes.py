"""Shape rules of the unshared, tiled, FFT and separable-kernel convolutions.

Built on the primitives of :mod:`cnnkit.functional.shapes` (output sizes and padding are
computed there, one way for every layer); this module adds what these blocks need on top:
weight and bias shapes, parameter and multiply-add counts, tile checks, the FFT length
and the output size of the locally connected transpose.

Weight layouts (``O`` the spatial output size, ``K`` the kernel size, ``t`` the tiles):

    locally connected   ``(*O, C_out, C_in / groups, *K)``: ``weight[j, k]`` is the
                        ordinary convolution kernel used at output location ``(j, k)``.
                        Seed 003's 6-D ``W[i, j, k, l, m, n]`` (eq 9.9) is
                        ``weight[j, k, i, l, m, n]``.
    tiled               ``(*t, C_out, C_in / groups, *K)``: output ``(j, k)`` uses
                        ``weight[j % t_0, k % t_1]`` (eq 9.10).
    separable kernel    ``d`` factors, factor ``i`` of shape ``(r, C_out, C_in / groups, K_i)``;
                        the kernel is ``sum_r factor_0[r] (x) factor_1[r] (x) ...``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .._validation import ArgumentError, ShapeError, to_tuple
from . import shapes

__all__ = [
    "check_tiles",
    "fft_length",
    "locally_connected_flops",
    "locally_connected_params",
    "locally_connected_transpose_sizes",
    "locally_connected_weight_shape",
    "separable_kernel_flops",
    "separable_kernel_params",
    "tiled_params",
    "tiled_weight_shape",
]


def locally_connected_weight_shape(in_channels: int, out_channels: int, kernel: Sequence[int],
                                   out_spatial: Sequence[int], groups: int = 1) -> tuple[int, ...]:
    """Weight shape of a locally connected layer: ``(*O, C_out, C_in / groups, *K)``.

    Example:
        >>> locally_connected_weight_shape(3, 8, (3, 3), (6, 6))
        (6, 6, 8, 3, 3, 3)
    """
    return (*out_spatial, out_channels, in_channels // groups, *kernel)


def locally_connected_params(in_channels: int, out_channels: int, kernel: Sequence[int],
                             out_spatial: Sequence[int], groups: int = 1,
                             bias: bool = True) -> int:
    """Parameters of a locally connected layer: one kernel and one bias per output location.

    ``prod(O) * (C_out * C_in / groups * prod(K) + C_out)`` (bias included when ``bias``).

    Example:
        >>> locally_connected_params(1, 2, (3,), (4,))  # 4 * (2 * 1 * 3 + 2)
        32
    """
    per_location = out_channels * (in_channels // groups) * math.prod(kernel)
    return math.prod(out_spatial) * (per_location + (out_channels if bias else 0))


def locally_connected_flops(in_channels: int, out_channels: int, kernel: Sequence[int],
                            out_spatial: Sequence[int], groups: int = 1) -> int:
    """Multiply-adds: the same as a convolution of that shape, ``C_out * prod(O) * C_in/g * prod(K)``."""
    return shapes.conv_flops(in_channels, (out_channels, *out_spatial), kernel, groups)


def check_tiles(tiles, out_spatial: Sequence[int], name: str = "tiles") -> tuple[int, ...]:
    """Check the tiling ``t`` of a tiled convolution against its output size.

    ``t`` kernel stacks are cycled through along each dimension, so ``1 <= t <= O``:
    ``t = 1`` is an ordinary convolution, ``t = O`` a locally connected layer.

    Raises:
        ArgumentError: ``t`` below 1.
        ShapeError: ``t`` larger than the output along some dimension.

    Example:
        >>> check_tiles(2, (5, 5))
        (2, 2)
    """
    n = len(out_spatial)
    if isinstance(tiles, int) and not isinstance(tiles, bool) and tiles < 1:
        raise ArgumentError(
            f"{name} must be at least 1 (1 is an ordinary convolution). Received: {name}={tiles!r}. "
            f"Use {name}=1 or more kernel stacks."
        )
    tiles = to_tuple(tiles, n, name)
    for axis, (t, o) in enumerate(zip(tiles, out_spatial)):
        if t > o:
            raise ShapeError(
                f"{name} {t} along spatial dimension {axis} exceeds the output size {o}: "
                f"there are only {o} output positions to give kernels to. Received: "
                f"{name}={tiles}, output size={tuple(out_spatial)}. Use {name} of at most "
                f"{tuple(out_spatial)} ({name}=output size is a locally connected layer)."
            )
    return tiles


def tiled_weight_shape(in_channels: int, out_channels: int, kernel: Sequence[int],
                       tiles: Sequence[int], groups: int = 1) -> tuple[int, ...]:
    """Weight shape of a tiled convolution: ``(*t, C_out, C_in / groups, *K)``.

    Example:
        >>> tiled_weight_shape(3, 8, (5, 5), (2, 2))
        (2, 2, 8, 3, 5, 5)
    """
    return (*tiles, out_channels, in_channels // groups, *kernel)


def tiled_params(in_channels: int, out_channels: int, kernel: Sequence[int],
                 tiles: Sequence[int], groups: int = 1, bias: bool = True) -> int:
    """Parameters of a tiled convolution: ``prod(t)`` kernel stacks and tiled biases.

    Example:
        >>> tiled_params(1, 1, (3, 3), (2, 2))  # 4 * (9 + 1)
        40
    """
    return locally_connected_params(in_channels, out_channels, kernel, tiles, groups, bias)


def locally_connected_transpose_sizes(
    in_spatial: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: shapes.PaddingSpec,
    dilation: Sequence[int],
    output_size: Sequence[int] | None = None,
) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
    """Output size and forward padding of the transpose of a locally connected map.

    The transpose maps the forward map's output (size ``in_spatial`` here) back onto the
    forward input. A stride ``S`` maps ``S`` input sizes onto one output size, so the
    smallest is the default and ``output_size`` picks another one:
    ``O_min = (W - 1) * S - P_lo - P_hi + D * (K - 1) + 1``. ``same`` padding is resolved
    for ``output_size`` (default ``W * S``).

    Returns:
        ``(output_size, pairs)``: the spatial output size and the forward ``(lo, hi)`` pairs.

    Raises:
        ShapeError: an ``output_size`` that the forward map does not send onto ``in_spatial``.

    Example:
        >>> locally_connected_transpose_sizes((4,), (3,), (2,), ((1, 1),), (1,))
        ((7,), ((1, 1),))
    """
    n = len(in_spatial)
    if output_size is not None:
        output_size = to_tuple(output_size, n, "output_size")
    if isinstance(padding, str) and padding == "same":
        target = output_size or tuple(w * s for w, s in zip(in_spatial, stride))
        pairs = shapes.padding_pairs(padding, kernel, stride, dilation, target)
    else:
        pairs = shapes.padding_pairs(padding, kernel, stride, dilation, None)
    smallest = tuple(
        (w - 1) * s - lo - hi + shapes.effective_kernel(k, d)
        for w, s, (lo, hi), k, d in zip(in_spatial, stride, pairs, kernel, dilation)
    )
    size = smallest if output_size is None else output_size
    ok = min(size) >= 1 and all(
        shapes.conv_output_size(o, k, s, p, d) == w
        for o, k, s, p, d, w in zip(size, kernel, stride, pairs, dilation, in_spatial)
    )
    if not ok:
        ranges = ", ".join(f"{m}..{m + s - 1}" for m, s in zip(smallest, stride))
        raise ShapeError(
            f"output_size {tuple(size)} cannot be produced: the locally connected map with this "
            f"kernel, stride and padding sends only inputs of sizes {ranges} (per dimension) "
            f"onto size {tuple(in_spatial)}. Received: output_size={tuple(size)}. Pass an "
            f"output_size in that range."
        )
    return tuple(size), pairs


def _fast_length(n: int) -> int:
    """Smallest integer >= n whose only prime factors are 2, 3, 5 and 7 (fast FFT sizes)."""
    best = 1 << max(n - 1, 0).bit_length()
    p7 = 1
    while p7 < best:
        p5 = p7
        while p5 < best:
            p3 = p5
            while p3 < best:
                p2 = p3
                while p2 < n:
                    p2 *= 2
                best = min(best, p2)
                p3 *= 3
            p5 *= 5
        p7 *= 7
    return best


def fft_length(padded_size: Sequence[int]) -> tuple[int, ...]:
    """FFT length per dimension for a valid cross-correlation of a padded input.

    A circular cross-correlation of length ``F >= W_padded`` equals the linear one on every
    valid output (``p + m <= W_padded - 1 < F``: nothing wraps around), so ``F`` is the
    padded size rounded up to the next ``2^a 3^b 5^c 7^d`` for a fast transform.

    Example:
        >>> fft_length((64, 67, 97))
        (64, 70, 98)
    """
    return tuple(_fast_length(int(w)) for w in padded_size)


def separable_kernel_params(in_channels: int, out_channels: int, kernel: Sequence[int],
                            rank: int, groups: int = 1, bias: bool = True) -> int:
    """Parameters of a rank-``r`` separable-kernel convolution: ``r * C_out * C_in/g * sum(K)``.

    Example:
        >>> separable_kernel_params(1, 1, (7, 7), 1, bias=False)  # 14 instead of 49
        14
    """
    return rank * out_channels * (in_channels // groups) * sum(kernel) + (out_channels if bias else 0)


def separable_kernel_flops(in_channels: int, out_channels: int, kernel: Sequence[int],
                           rank: int, out_spatial: Sequence[int], groups: int = 1) -> int:
    """Approximate multiply-adds of the ``d`` one-dimensional passes: ``O(w * d)`` per tap.

    Each of the ``r * C_out * C_in/g`` (rank, filter, channel) triples costs ``sum(K)``
    multiply-adds per output location instead of ``prod(K)`` (seed 003, section 9.8).

    Example:
        >>> separable_kernel_flops(1, 1, (7, 7), 1, (10, 10))  # 10*10 * 14, not 10*10 * 49
        1400
    """
    return rank * out_channels * (in_channels // groups) * sum(kernel) * math.prod(out_spatial)
