"""The one place for output-size, padding and receptive-field arithmetic.

Layers, the spec's shape inference and the summary table all call these functions, so
that a shape is computed one way everywhere.

Conventions (per spatial dimension):
    W   input size           K   kernel size        S   stride
    D   dilation             P   padding (lo, hi)   E   effective kernel, D * (K - 1) + 1

Output size of a convolution or pooling (seed 000: (W - K + 2P) / S + 1)::

    out = floor((W + P_lo + P_hi - E) / S) + 1

Padding names (seed 003, section 9.5):
    ``valid``  no padding; out = floor((W - E) / S) + 1
    ``same``   out = ceil(W / S); total padding max((out - 1) * S + E - W, 0) split as
               lo = total // 2, hi = total - lo, so an odd total puts the extra pixel on
               the high side (bottom / right), as TensorFlow and Keras do.
    ``full``   E - 1 zeros on both sides: every input pixel is visited E times;
               out = floor((W + E - 2) / S) + 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Union

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, one_of, to_tuple

__all__ = [
    "PADDING_NAMES",
    "Geometry",
    "PaddingSpec",
    "compose_geometry",
    "conv_flops",
    "conv_output_shape",
    "conv_output_size",
    "conv_params",
    "conv_transpose_output_size",
    "effective_kernel",
    "normalize_padding",
    "padding_pairs",
    "pool_output_size",
    "same_padding",
]

PADDING_NAMES = ("valid", "same", "full")

# A normalised padding: a name, or one (lo, hi) pair per spatial dimension.
PaddingSpec = Union[str, tuple[tuple[int, int], ...]]


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """Span of a dilated kernel: ``D * (K - 1) + 1``."""
    return dilation * (kernel - 1) + 1


def normalize_padding(padding, n: int, name: str = "padding") -> PaddingSpec:
    """Check a padding argument and bring it to one canonical form.

    Args:
        padding: ``"valid"``, ``"same"``, ``"full"``, an int (all sides), one int per
            dimension (both sides), or one ``(lo, hi)`` pair per dimension.
        n: number of spatial dimensions.
        name: the argument's name for errors.

    Returns:
        The name, or a tuple of ``n`` ``(lo, hi)`` pairs.

    Example:
        >>> normalize_padding(1, 2)
        ((1, 1), (1, 1))
        >>> normalize_padding([(0, 1), 2], 2)
        ((0, 1), (2, 2))
    """
    if isinstance(padding, str):
        return one_of(padding, PADDING_NAMES, name)
    if isinstance(padding, int) and not isinstance(padding, bool):
        (p,) = to_tuple(padding, 1, name, allow_zero=True)
        return ((p, p),) * n
    if isinstance(padding, Sequence):
        if len(padding) != n:
            raise ArgumentError(
                f"{name} must be 'valid', 'same', 'full', an int, or {n} values (one per "
                f"spatial dimension). Received: {name}={padding!r} with {len(padding)} values."
            )
        pairs = []
        for item in padding:
            if isinstance(item, Sequence) and not isinstance(item, str):
                lo, hi = to_tuple(item, 2, name, allow_zero=True)
            else:
                (lo,) = to_tuple(item, 1, name, allow_zero=True)
                hi = lo
            pairs.append((lo, hi))
        return tuple(pairs)
    raise ArgumentTypeError(
        f"{name} must be 'valid', 'same', 'full', an int or a sequence. "
        f"Received: {name}={padding!r} ({type(padding).__name__})."
    )


def same_padding(size: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """(lo, hi) padding that makes ``out = ceil(size / stride)``; extra pixel on ``hi``.

    Example:
        >>> same_padding(28, 5)
        (2, 2)
        >>> same_padding(7, 2, stride=2)  # out 4: total 1, the extra pixel goes after
        (0, 1)
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + effective_kernel(kernel, dilation) - size, 0)
    return total // 2, total - total // 2


def padding_pairs(
    padding: PaddingSpec,
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    size: Sequence[int] | None = None,
) -> tuple[tuple[int, int], ...] | None:
    """Resolve a normalised padding into explicit (lo, hi) pairs.

    ``same`` with a stride above 1 depends on the input size; without ``size`` the
    result is ``None`` (the caller resolves it per call).
    """
    if not isinstance(padding, str):
        return padding
    if padding == "valid":
        return ((0, 0),) * len(kernel)
    if padding == "full":
        return tuple(
            (effective_kernel(k, d) - 1,) * 2 for k, d in zip(kernel, dilation)
        )
    if size is None and any(s > 1 for s in stride):
        return None
    size = size if size is not None else [0] * len(kernel)
    return tuple(
        same_padding(w, k, s, d) for w, k, s, d in zip(size, kernel, stride, dilation)
    )


def conv_output_size(
    size: int,
    kernel: int,
    stride: int = 1,
    padding: tuple[int, int] = (0, 0),
    dilation: int = 1,
    *,
    ceil_mode: bool = False,
) -> int:
    """Output length along one dimension: ``floor((W + P_lo + P_hi - E) / S) + 1``.

    Returns a value < 1 when the (padded) input is smaller than the kernel; callers
    turn that into an error that names the layer.

    Example:
        >>> conv_output_size(32, 5)            # (32 - 5 + 0) / 1 + 1
        28
        >>> conv_output_size(7, 3, 2, (1, 1))  # (7 - 3 + 2) / 2 + 1
        4
    """
    span = size + padding[0] + padding[1] - effective_kernel(kernel, dilation)
    if ceil_mode and span >= 0:
        out = -(-span // stride) + 1
        # The last window must start inside the input or the low padding (PyTorch rule).
        if (out - 1) * stride >= size + padding[0]:
            out -= 1
        return out
    return span // stride + 1


def conv_output_shape(
    size: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: PaddingSpec,
    dilation: Sequence[int],
    *,
    ceil_mode: bool = False,
    what: str = "kernel",
) -> tuple[int, ...]:
    """Spatial output shape of a convolution or pooling; raises if the kernel does not fit.

    Raises:
        ShapeError: the kernel is larger than the padded input in some dimension.
    """
    pairs = padding_pairs(padding, kernel, stride, dilation, size)
    out = []
    for axis, (w, k, s, p, d) in enumerate(zip(size, kernel, stride, pairs, dilation)):
        o = conv_output_size(w, k, s, p, d, ceil_mode=ceil_mode)
        if o < 1:
            span = effective_kernel(k, d)
            dil = f" (dilation {d} spreads it over {span})" if d > 1 else ""
            raise ShapeError(
                f"{what} {k}{dil} does not fit the input of size {w} padded by {p[0]}+{p[1]} "
                f"along spatial dimension {axis}. Received: {what}={tuple(kernel)}, "
                f"input size={tuple(size)}. Use padding='same', a {what} of at most "
                f"{w + p[0] + p[1]}, or a larger input."
            )
        out.append(o)
    return tuple(out)


def conv_transpose_output_size(
    size: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    output_padding: int = 0,
) -> int:
    """Output length of a transposed convolution (the map h of seed 003, eq 9.12-9.13).

    ``(W - 1) * S - 2P + D * (K - 1) + output_padding + 1``: the inverse of
    :func:`conv_output_size`. Since the forward map floors, ``S`` input sizes map onto the
    same output, and ``output_padding`` (in ``[0, S)``) says which one is meant.

    Example:
        >>> conv_transpose_output_size(4, 3, 2, 1)
        7
        >>> conv_transpose_output_size(4, 3, 2, 1, output_padding=1)
        8
    """
    return (size - 1) * stride - 2 * padding + effective_kernel(kernel, dilation) + output_padding


def pool_output_size(size, kernel, stride, padding=(0, 0), dilation=1, ceil_mode=False):
    """Output length of a pooling window; the same rule as convolution."""
    return conv_output_size(size, kernel, stride, padding, dilation, ceil_mode=ceil_mode)


def conv_params(in_channels: int, out_channels: int, kernel: Sequence[int], groups: int = 1,
                bias: bool = True) -> int:
    """Parameters of a convolution with shared bias: ``C_out * C_in / g * prod(K) + C_out``."""
    return out_channels * (in_channels // groups) * math.prod(kernel) + (out_channels if bias else 0)


def conv_flops(in_channels: int, out_shape: Sequence[int], kernel: Sequence[int],
               groups: int = 1) -> int:
    """Multiply-adds of a convolution: one per kernel tap per output value.

    ``out_shape`` is ``(C_out, *spatial)``.
    """
    return math.prod(out_shape) * (in_channels // groups) * math.prod(kernel)


@dataclass(frozen=True)
class Geometry:
    """Where a unit of a layer looks in the network's input, per spatial dimension.

    Unit ``i`` of the layer covers input positions
    ``[start + i * jump, start + i * jump + field - 1]`` (``start`` is negative where the
    field reaches into padding).

    Attributes:
        field: receptive field size in input pixels.
        jump: distance in input pixels between neighbouring units (effective stride).
        start: input position of the first pixel of unit 0's field.
    """

    field: tuple[Fraction | int, ...]
    jump: tuple[Fraction | int, ...]
    start: tuple[Fraction | int, ...]

    @classmethod
    def identity(cls, n: int) -> "Geometry":
        """The input itself: each unit sees one pixel, one pixel apart."""
        return cls((1,) * n, (1,) * n, (0,) * n)


def compose_geometry(
    geometry: Geometry,
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    pad_lo: Sequence[int],
) -> Geometry:
    """Geometry after a sliding-window layer (convolution or pooling).

    ``field' = field + (E - 1) * jump``, ``jump' = jump * S``,
    ``start' = start - P_lo * jump``.
    """
    field = tuple(
        f + (effective_kernel(k, d) - 1) * j
        for f, j, k, d in zip(geometry.field, geometry.jump, kernel, dilation)
    )
    jump = tuple(j * s for j, s in zip(geometry.jump, stride))
    start = tuple(st - p * j for st, j, p in zip(geometry.start, geometry.jump, pad_lo))
    return Geometry(field, jump, start)


def compose_transpose_geometry(
    geometry: Geometry,
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    padding: Sequence[int],
) -> Geometry:
    """Geometry after a transposed convolution (an upsampling by ``S``).

    Output unit ``o`` reads input units ``i`` with ``i * S + t * D - P = o`` for kernel tap
    ``t``: at most ``ceil(E / S)`` neighbouring input units, so the field grows by
    ``(ceil(E / S) - 1) * jump`` and the jump shrinks to ``jump / S`` (a Fraction).
    """
    field = tuple(
        f + (-(-effective_kernel(k, d) // s) - 1) * j
        for f, j, k, d, s in zip(geometry.field, geometry.jump, kernel, dilation, stride)
    )
    jump = tuple(Fraction(j) / s for j, s in zip(geometry.jump, stride))
    start = tuple(
        st - Fraction(effective_kernel(k, d) - 1 - p, s) * j
        for st, j, k, d, p, s in zip(geometry.start, geometry.jump, kernel, dilation, padding, stride)
    )
    return Geometry(field, jump, start)
