"""The one place for output-size, padding and receptive-field arithmetic.

Layers, the spec's shape inference and the summary table all call these functions, so
that a shape is computed one way everywhere.

Conventions (per spatial dimension):
    W   input size           K   kernel size        S   stride
    D   dilation             P   padding (lo, hi)   E   effective kernel, D * (K - 1) + 1

Output size of a convolution or pooling (Wikipedia, "Convolutional neural network":
(W - K + 2P) / S + 1)::

    out = floor((W + P_lo + P_hi - E) / S) + 1

Padding names (Goodfellow et al. 2016, section 9.5):
    ``valid``  no padding; out = floor((W - E) / S) + 1
    ``same``   out = ceil(W / S); total padding max((out - 1) * S + E - W, 0) split as
               lo = total // 2, hi = total - lo, so an odd total puts the extra pixel on
               the high side (bottom / right), as TensorFlow and Keras do.
    ``full``   E - 1 zeros on both sides: every input pixel is visited E times;
               out = floor((W + E - 2) / S) + 1.
    ``causal`` E - 1 zeros before, none after: output t sees inputs t - E + 1 .. t and
               never a later one (van den Oord et al. 2016, WaveNet); out = ceil(W / S).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Union

from .._validation import (ArgumentError, ArgumentTypeError, ShapeError, one_of, positive_int,
                          to_tuple)

__all__ = [
    "Geometry",
    "InputSource",
    "PADDING_NAMES",
    "PaddingSpec",
    "channel_pool_output_channels",
    "check_groups",
    "check_padding_mode",
    "check_pool_ratio",
    "check_tiles",
    "compose_geometry",
    "conv_flops",
    "conv_output_shape",
    "conv_output_size",
    "check_transpose_size",
    "conv_params",
    "conv_transpose_output_shape",
    "unseen_positions",
    "whole_input_geometry",
    "effective_kernel",
    "fft_length",
    "fractional_pool_output_shape",
    "fractional_pool_output_size",
    "format_spatial",
    "fractional_span",
    "locally_connected_flops",
    "locally_connected_params",
    "locally_connected_transpose_sizes",
    "locally_connected_weight_shape",
    "normalize_levels",
    "normalize_padding",
    "padding_pairs",
    "pyramid_pool_features",
    "roi_pool_output_shape",
    "same_padding",
    "separable_kernel_flops",
    "separable_kernel_params",
    "tiled_params",
    "tiled_weight_shape",
    "transpose_padding",
]

PADDING_NAMES = ("valid", "same", "full", "causal")

# A normalised padding: a name, or one (lo, hi) pair per spatial dimension.
PaddingSpec = Union[str, tuple[tuple[int, int], ...]]


@dataclass(frozen=True)
class InputSource:
    """What produced a layer's input, for the wording of shape errors.

    Attributes:
        text: ``the input``, or in a spec ``layers[2] (maxpool 2 of 8x8)``.
        grow: how to give the layer a larger input: ``or a larger input``, ``or remove
            the pooling``, ``or less downsampling in layers[0]``.
    """

    text: str = "the input"
    grow: str = "or a larger input"


def format_spatial(sizes) -> str:
    """``(8, 8)`` -> ``'8x8'``."""
    return "x".join(str(s) for s in sizes)


def _collapse(values) -> int | list:
    values = list(values)
    return values[0] if values and all(v == values[0] for v in values) else values


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """Span of a dilated kernel: ``D * (K - 1) + 1``."""
    return dilation * (kernel - 1) + 1


def normalize_padding(padding, n: int, name: str = "padding") -> PaddingSpec:
    """Check a padding argument and bring it to one canonical form.

    Args:
        padding: ``"valid"``, ``"same"``, ``"full"``, ``"causal"``, an int (all sides), one int per
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
                f"{name} must be 'valid', 'same', 'full', 'causal', an int, or {n} values (one per "
                f"spatial dimension). Received: {name}={padding!r} with {len(padding)} values.",
                argument=name)
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
        f"{name} must be 'valid', 'same', 'full', 'causal', an int or a sequence. "
        f"Received: {name}={padding!r} ({type(padding).__name__}).", argument=name)


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
    result is ``None`` (the caller resolves it per call). ``causal`` pads ``D * (K - 1)``
    before and nothing after, so that no output sees a later input.

    Example:
        >>> padding_pairs("causal", (2, 3), (1, 1), (4, 1))
        ((4, 0), (2, 0))
        >>> padding_pairs("full", (3,), (1,), (1,))
        ((2, 2),)
    """
    if not isinstance(padding, str):
        return padding
    if padding == "valid":
        return ((0, 0),) * len(kernel)
    if padding == "full":
        return tuple(
            (effective_kernel(k, d) - 1,) * 2 for k, d in zip(kernel, dilation)
        )
    if padding == "causal":
        return tuple((effective_kernel(k, d) - 1, 0) for k, d in zip(kernel, dilation))
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
    source: InputSource = InputSource(),
) -> tuple[int, ...]:
    """Spatial output shape of a convolution or pooling window; raises if it does not fit.

    ``O = floor((W + P_lo + P_hi - D * (K - 1) - 1) / S) + 1`` per dimension (``ceil``
    with ``ceil_mode``).

    Args:
        what: the name of the window setting in messages (``kernel``, ``size``).
        source: what produced the input, for the message.

    Raises:
        ShapeError: the window is larger than the padded input in some dimension.

    Example:
        >>> conv_output_shape((28, 28), (5, 5), (1, 1), "valid", (1, 1))
        (24, 24)
        >>> conv_output_shape((4, 4), (5, 5), (1, 1), "valid", (1, 1))
        Traceback (most recent call last):
        ...
        cnnkit._validation.ShapeError: kernel 5 does not fit the 4x4 input volume coming from the input. Received: kernel=5. Use padding: same, a kernel of at most 4, or a larger input.
    """
    pairs = padding_pairs(padding, kernel, stride, dilation, size)
    out = tuple(conv_output_size(w, k, s, p, d, ceil_mode=ceil_mode)
                for w, k, s, p, d in zip(size, kernel, stride, pairs, dilation))
    if min(out, default=1) < 1:
        raise _window_error(size, kernel, pairs, dilation, what, source)
    return out


def unseen_positions(size: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
                     pairs: Sequence[tuple[int, int]], dilation: Sequence[int], *,
                     ceil_mode: bool = False) -> tuple[tuple[int, int] | None, ...]:
    """Input positions at the high end that no window reaches, per spatial dimension.

    When ``(W + P_lo + P_hi - E) / S`` is not a whole number the output size floors, and the
    last ``(W + P_lo + P_hi - E) mod S`` padded positions are never read: the formula
    ``(W - K + 2P) / S + 1`` of the Wikipedia article "Convolutional neural network" then
    "does not fit". Returns ``(first, last)`` input indices never seen, or None.

    Example:
        >>> unseen_positions((28,), (3,), (2,), ((0, 0),), (1,))
        ((27, 27),)
        >>> unseen_positions((28,), (2,), (2,), ((0, 0),), (1,))
        (None,)
    """
    out = []
    for w, k, s, (lo, hi), d in zip(size, kernel, stride, pairs, dilation):
        o = conv_output_size(w, k, s, (lo, hi), d, ceil_mode=ceil_mode)
        last_read = (o - 1) * s + effective_kernel(k, d) - 1 - lo   # in input coordinates
        out.append((last_read + 1, w - 1) if o >= 1 and last_read < w - 1 else None)
    return tuple(out)


def _window_error(size, kernel, pairs, dilation, what, source) -> ShapeError:
    padded = [w + lo + hi for w, (lo, hi) in zip(size, pairs)]
    k_text = format_spatial(kernel) if len(set(kernel)) > 1 else str(kernel[0])
    span = [effective_kernel(k, d) for k, d in zip(kernel, dilation)]
    spans = (f" (dilation {_collapse(dilation)} spreads it over {format_spatial(span)})"
             if any(d > 1 for d in dilation) else "")
    pad = "" if all(lo == hi == 0 for lo, hi in pairs) else f" padded to {format_spatial(padded)}"
    volume = (f"the input sequence of length {size[0]}" if len(size) == 1
              else f"the {format_spatial(size)} input volume")
    fit = _collapse((p - 1) // d + 1 for p, d in zip(padded, dilation))
    return ShapeError(
        f"{what} {k_text}{spans} does not fit {volume}{pad} coming from {source.text}. "
        f"Received: {what}={_collapse(kernel)}. Use padding: same, a {what} of at most {fit}, "
        f"{source.grow}.", argument=what)


def check_groups(in_channels: int | None, out_channels: int | None, groups: int,
                 source: InputSource | None = None) -> None:
    """Both channel counts divisible by ``groups`` (Goodfellow et al. 2016, fig. 9.15).

    ``source``: the input channels were inferred from an input (a spec), so the message
    speaks of them. A count of None is not known yet and is skipped.

    Raises:
        ArgumentError: a count that ``groups`` does not divide (``error.argument`` is
            ``groups``); ShapeError when the input channels came from ``source``.

    Example:
        >>> check_groups(6, 8, 4)
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: in_channels must be divisible by groups. Received: in_channels=6, groups=4. Use a multiple of 4, or groups that divides 6.
    """
    for name, count in (("in_channels", in_channels), ("out_channels", out_channels)):
        if count is None or count % groups == 0:
            continue
        if name == "in_channels" and source is not None:
            raise ShapeError(
                f"the {count} input channels (from {source.text}) are not divisible by "
                f"groups. Received: groups={groups}. Use groups that divides {count}, or make "
                f"the layer before give a multiple of {groups} channels.", argument="groups")
        raise ArgumentError(
            f"{name} must be divisible by groups. Received: {name}={count}, groups={groups}. "
            f"Use a multiple of {groups}, or groups that divides {count}.", argument="groups")


def check_padding_mode(size: Sequence[int], pairs: Sequence[tuple[int, int]], mode: str,
                       padding="", source: InputSource = InputSource()) -> None:
    """``reflect`` needs padding smaller than the input, ``circular`` at most the input
    (PyTorch's rules), along every spatial dimension.

    Raises:
        ShapeError: naming the dimension, the padding and what produced the input.
    """
    if mode not in ("reflect", "circular"):
        return
    for axis, (w, (lo, hi)) in enumerate(zip(size, pairs)):
        if (max(lo, hi) >= w) if mode == "reflect" else (max(lo, hi) > w):
            bound = "smaller than" if mode == "reflect" else "at most"
            written = f" {padding!r}" if padding != "" else ""
            raise ShapeError(
                f"padding_mode {mode} needs padding {bound} the input size, but padding"
                f"{written} pads {lo}+{hi} along spatial dimension {axis} of the "
                f"{format_spatial(size)} input coming from {source.text}. Received: "
                f"padding_mode={mode!r}. Use padding_mode: replicate or zeros, a smaller "
                f"kernel, or a larger input.", argument="padding_mode")


def transpose_padding(padding: PaddingSpec, size_in: Sequence[int], kernel: Sequence[int],
                      stride: Sequence[int], dilation: Sequence[int],
                      output_size: Sequence[int] | None = None) -> tuple[tuple[int, int], ...]:
    """The (lo, hi) padding of the forward convolution that a transposed one undoes.

    ``same`` needs the forward input size: ``output_size`` when given, else ``W * S`` (the
    usual upsampling by the stride).

    Example:
        >>> transpose_padding("same", (4,), (3,), (2,), (1,))
        ((0, 1),)
    """
    if isinstance(padding, str) and padding == "same":
        target = output_size or tuple(w * s for w, s in zip(size_in, stride))
        return tuple(same_padding(t, k, s, d)
                     for t, k, s, d in zip(target, kernel, stride, dilation))
    return padding_pairs(padding, kernel, stride, dilation, None)


def conv_transpose_output_shape(
    size: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    pairs: Sequence[tuple[int, int]],
    dilation: Sequence[int],
    output_padding: Sequence[int] | None = None,
    *,
    padding=None,
    source: InputSource = InputSource(),
) -> tuple[int, ...]:
    """Output size of a transposed convolution (the map h of Goodfellow et al. 2016,
    eq. 9.12-9.13): ``O = (W - 1) * S - P_lo - P_hi + D * (K - 1) + 1 + output_padding``.

    The inverse of :func:`conv_output_size`: the forward map floors, so ``S`` sizes map
    onto the same ``W``, and ``output_padding`` (in ``[0, S)``) says which one is meant.

    Args:
        pairs: the forward convolution's (lo, hi) padding (:func:`transpose_padding`).
        padding: the padding as the user wrote it, for the message.

    Raises:
        ShapeError: the padding removes the whole output along some dimension.

    Example:
        >>> conv_transpose_output_shape((4,), (3,), (2,), ((1, 1),), (1,))
        (7,)
        >>> conv_transpose_output_shape((4,), (3,), (2,), ((1, 1),), (1,), (1,))
        (8,)
    """
    extra = output_padding or (0,) * len(size)
    out = []
    for axis, (w, k, s, (lo, hi), d, op) in enumerate(zip(size, kernel, stride, pairs, dilation,
                                                          extra)):
        o = (w - 1) * s - lo - hi + effective_kernel(k, d) + op
        if o < 1:
            written = _collapse(lo for lo, _ in pairs) if padding is None else padding
            raise ShapeError(
                f"padding {written!r} removes {lo}+{hi} from an output of only {o + lo + hi} "
                f"along spatial dimension {axis} (input {format_spatial(size)} from "
                f"{source.text}). Received: padding={written!r}. Use less padding or a larger "
                f"kernel.", argument="padding")
        out.append(o)
    return tuple(out)


def check_transpose_size(output_size: Sequence[int], size: Sequence[int],
                         smallest: Sequence[int], stride: Sequence[int],
                         what: str = "a convolution") -> None:
    """``output_size`` must be one of the ``S`` sizes ``smallest .. smallest + S - 1`` that
    the forward map sends onto ``size``.

    Raises:
        ShapeError: naming the sizes that work.
    """
    fits = all(m <= o < m + s for o, m, s in zip(output_size, smallest, stride))
    if fits and min(output_size) >= 1:
        return
    ranges = ", ".join(f"{m}..{m + s - 1}" for m, s in zip(smallest, stride))
    raise ShapeError(
        f"output_size {tuple(output_size)} cannot be produced: {what} with this kernel, "
        f"stride and padding maps only inputs of sizes {ranges} (per dimension) onto size "
        f"{tuple(size)}. Received: output_size={tuple(output_size)}. Pass an output_size in "
        f"that range.", argument="output_size")


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


def whole_input_geometry(geometry: Geometry, spatial: Sequence[int]) -> Geometry:
    """Geometry of a unit that sees every position of a ``spatial`` volume (flatten,
    global pooling): a window as large as the volume."""
    ones = (1,) * len(spatial)
    return compose_geometry(geometry, tuple(spatial), ones, ones, (0,) * len(spatial))


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


# ======================================================================================
# Unshared, tiled, FFT and separable-kernel convolutions
#
# Shape rules of the unshared, tiled, FFT and separable-kernel convolutions.
#
# Built on the primitives of :mod:`cnnkit.functional.shapes` (output sizes and padding are
# computed there, one way for every layer); this module adds what these blocks need on top:
# weight and bias shapes, parameter and multiply-add counts, tile checks, the FFT length
# and the output size of the locally connected transpose.
#
# Weight layouts (``O`` the spatial output size, ``K`` the kernel size, ``t`` the tiles):
#
#     locally connected   ``(*O, C_out, C_in / groups, *K)``: ``weight[j, k]`` is the
#                         ordinary convolution kernel used at output location ``(j, k)``.
#                         The 6-D ``W[i, j, k, l, m, n]`` of Goodfellow et al. 2016 (eq. 9.9)
#                         is ``weight[j, k, i, l, m, n]``.
#     tiled               ``(*t, C_out, C_in / groups, *K)``: output ``(j, k)`` uses
#                         ``weight[j % t_0, k % t_1]`` (eq 9.10).
#     separable kernel    ``d`` factors, factor ``i`` of shape ``(r, C_out, C_in / groups, K_i)``;
#                         the kernel is ``sum_r factor_0[r] (x) factor_1[r] (x) ...``.
# ======================================================================================


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
    return conv_flops(in_channels, (out_channels, *out_spatial), kernel, groups)


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
            f"Use {name}=1 or more kernel stacks.", argument=name)
    tiles = to_tuple(tiles, n, name)
    for axis, (t, o) in enumerate(zip(tiles, out_spatial)):
        if t > o:
            raise ShapeError(
                f"{name} {t} along spatial dimension {axis} exceeds the output size {o}: "
                f"there are only {o} output positions to give kernels to. Received: "
                f"{name}={tiles}, output size={tuple(out_spatial)}. Use {name} of at most "
                f"{tuple(out_spatial)} ({name}=output size is a locally connected layer).",
                argument=name)
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
    padding: PaddingSpec,
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
    pairs = transpose_padding(padding, in_spatial, kernel, stride, dilation, output_size)
    smallest = conv_transpose_output_shape(in_spatial, kernel, stride, pairs, dilation)
    size = smallest if output_size is None else output_size
    check_transpose_size(size, in_spatial, smallest, stride, "the locally connected map")
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
    multiply-adds per output location instead of ``prod(K)`` (Goodfellow et al. 2016, section 9.8).

    Example:
        >>> separable_kernel_flops(1, 1, (7, 7), 1, (10, 10))  # 10*10 * 14, not 10*10 * 49
        1400
    """
    return rank * out_channels * (in_channels // groups) * sum(kernel) * math.prod(out_spatial)


# ======================================================================================
# DropConnect and the special poolings
#
# Shape rules of stochastic, fractional, channel (maxout), pyramid and RoI pooling.
#
# Built on the primitives of :mod:`cnnkit.functional.shapes` (window output sizes and padding
# are computed there, one way for every layer); this module adds what these blocks need on
# top, so that the spec and the summary table can infer shapes without running a network:
#
#     stochastic pooling     the window rule of :func:`shapes.conv_output_shape`
#     fractional max pool    ``O = ceil(L / alpha)``, ``L = W`` (disjoint) or ``W - 1``
#                            (overlapping), ``alpha`` in (1, 2)
#     channel pool / maxout  ``C -> C / k``
#     pyramid pooling        ``(N, C, *W) -> (N, C * sum_l prod(l))``, whatever ``W``
#     RoI pooling            ``K`` boxes -> ``(K, C, *output_size)``
#     DropConnect            the shapes of dense and convolution layers: unchanged
# ======================================================================================


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
                f"Received: {name}={ratio!r} with {len(ratio)} values.", argument=name)
        if any(isinstance(r, bool) or not isinstance(r, (int, float)) for r in ratio):
            raise ArgumentTypeError(f"{name} must contain numbers. Received: {name}={ratio!r}.",
                                    argument=name)
        items = tuple(float(r) for r in ratio)
    else:
        raise ArgumentTypeError(
            f"{name} must be a number in (1, 2) or one per dimension. "
            f"Received: {name}={ratio!r} ({type(ratio).__name__}).", argument=name)
    for r in items:
        if not 1 < r < 2:
            raise ArgumentError(
                f"{name} must lie strictly between 1 and 2 (the input shrinks by a factor "
                f"alpha with 1 < alpha < 2; every region spans 1 or 2 inputs per step). "
                f"Received: {name}={ratio!r}. For a factor of 2 use max_pool(kernel=2); for "
                f"larger factors stack fractional pools (e.g. two of sqrt(2)).", argument=name)
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
            f"output size {out}. {fix}", argument="output_size")
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
            "output_size=(H, W).", argument="ratio")
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
            f"{below + k}), or use a k that divides {channels}.", argument="k")
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
            f"Received: {name}={levels!r}.", argument=name)
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
