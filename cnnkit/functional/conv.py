"""Convolution in 1-D, 2-D and 3-D: one implementation, PyTorch's kernels underneath.

Goodfellow et al. 2016 (chapter 9) distinguish true convolution (eq 9.4-9.5: the kernel is
flipped) from the cross-correlation that most libraries call convolution (eq 9.6).
``flip=False`` (the default) computes the cross-correlation, ``flip=True`` the convolution.
Multichannel, strided convolution follows eq 9.7-9.8.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, one_of, positive_int, to_tuple
from . import shapes

__all__ = [
    "PADDING_MODES",
    "ConvArguments",
    "conv",
    "conv_arguments",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose",
    "depthwise_separable_conv",
    "pad",
]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
_TORCH_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
               "circular": "circular"}


def _rank(tensor: torch.Tensor, wrong: str) -> int:
    """The number of dimensions after the first two: 1, 2 or 3, else a ShapeError saying
    ``wrong``."""
    n = tensor.dim() - 2
    if n not in (1, 2, 3):
        raise ShapeError(wrong)
    return n


def _rank_of_weight(weight: torch.Tensor, name: str = "weight") -> int:
    return _rank(weight, f"{name} must have shape (out_channels, in_channels / groups, *kernel) "
                         f"with 1, 2 or 3 kernel dimensions. Received: {name}.shape="
                         f"{tuple(weight.shape)}.")


def spatial_rank(x: torch.Tensor, who: str) -> int:
    """The number of spatial dimensions of ``(N, C, *spatial)``: 1, 2 or 3, else a ShapeError
    naming ``who``."""
    return _rank(x, f"{who} expects an input (N, C, *spatial) with 1, 2 or 3 spatial "
                    f"dimensions. Received: input of shape {tuple(x.shape)}.")


def check_input(x: torch.Tensor, n: int, channels: int | None, who: str) -> None:
    """Raise a ShapeError naming ``who`` when ``x`` is not ``(N, channels, *n spatial)``."""
    if x.dim() != n + 2:
        spatial = ", ".join("DHW"[3 - n:]) if n > 1 else "L"
        hint = " Add a batch dimension with x.unsqueeze(0)." if x.dim() == n + 1 else ""
        raise ShapeError(
            f"{who} expects a {n + 2}-D input (N, C, {spatial}). "
            f"Received: input of shape {tuple(x.shape)}.{hint}"
        )
    if channels is not None and x.shape[1] != channels:
        raise ShapeError(
            f"{who} expects {channels} input channels. Received: input of shape "
            f"{tuple(x.shape)} with {x.shape[1]} channels. Make the previous layer produce "
            f"{channels} channels, or build this layer with in_channels={x.shape[1]}."
        )


def check_same_dtype_device(x: torch.Tensor, weight: torch.Tensor, who: str) -> None:
    """Raise an ArgumentTypeError naming ``who`` when input and weight differ in dtype or device."""
    if x.dtype != weight.dtype or x.device != weight.device:
        raise ArgumentTypeError(
            f"{who}: input and weight must share dtype and device. Received: input "
            f"{x.dtype} on {x.device}, weight {weight.dtype} on {weight.device}. Move one "
            f"with .to(other)."
        )


def pad(x: torch.Tensor, pairs, mode: str = "zeros", value: float = 0.0) -> torch.Tensor:
    """Pad the spatial dimensions of ``x`` by ``(lo, hi)`` pairs (first spatial dim first).

    Args:
        x: input ``(N, C, *spatial)``.
        pairs: one ``(lo, hi)`` pair per spatial dimension.
        mode: ``zeros``, ``reflect``, ``replicate`` or ``circular``.
        value: fill value for ``zeros`` mode (pooling pads with -inf).

    Shape:
        ``(N, C, *S)`` -> ``(N, C, *(S_i + lo_i + hi_i))``
    """
    flat = [p for pair in reversed(pairs) for p in pair]
    if not any(flat):
        return x
    if mode == "zeros":
        return F.pad(x, flat, mode="constant", value=value)
    shapes.check_padding_mode(tuple(x.shape[2:]), pairs, mode)
    return F.pad(x, flat, mode=_TORCH_MODE[mode])


def _check_bias(bias, out_channels, out_spatial, who="conv"):
    if bias is None:
        return None
    if bias.dim() == 1 and bias.shape[0] == out_channels:
        return "shared"
    if tuple(bias.shape) == (out_channels, *out_spatial):
        return "untied"
    raise ShapeError(
        f"{who}: bias must have shape ({out_channels},) (one per output channel) or "
        f"{(out_channels, *out_spatial)} (one per output location, untied). "
        f"Received: bias.shape={tuple(bias.shape)}."
    )


class ConvArguments(NamedTuple):
    """The checked, normalised arguments of a sliding-kernel map (see conv_arguments)."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pairs: tuple[tuple[int, int], ...]
    out_spatial: tuple[int, ...]


def conv_arguments(x, n, out_channels, in_per_group, kernel, stride, padding, dilation, groups,
                   padding_mode, who) -> ConvArguments:
    """Check the arguments every convolution-like map shares and bring them to one form.

    Checks groups against both channel counts and the input's rank and channels, normalises
    stride / dilation / padding, and resolves the padding into (lo, hi) pairs and the
    output size (raising if the kernel does not fit). Used by :func:`conv` and by the
    locally connected, tiled and FFT convolutions, so that they agree on every rule.
    """
    positive_int(groups, "groups")
    check_input(x, n, in_per_group * groups, who)
    shapes.check_groups(None, out_channels, groups)
    stride = to_tuple(stride, n, "stride")
    dilation = to_tuple(dilation, n, "dilation")
    padding = shapes.normalize_padding(padding, n)
    one_of(padding_mode, PADDING_MODES, "padding_mode")
    size = tuple(x.shape[2:])
    pairs = shapes.padding_pairs(padding, kernel, stride, dilation, size)
    out_spatial = shapes.conv_output_shape(size, kernel, stride, pairs, dilation)
    return ConvArguments(tuple(kernel), stride, dilation, pairs, out_spatial)


def conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride=1,
         padding=0, dilation=1, groups: int = 1, padding_mode: str = "zeros",
         flip: bool = False) -> torch.Tensor:
    """N-d convolution (cross-correlation unless ``flip=True``), Goodfellow et al. 2016,
    eq. 9.7-9.8.

    ``Z[i, j, k] = sum_{l, m, n} V[l, (j - 1) * s + m, (k - 1) * s + n] K[i, l, m, n]``
    (cross-correlation), with ``K`` flipped along every spatial axis when ``flip=True``
    (true convolution, eq 9.4). The rank (1, 2 or 3) comes from ``weight``.

    Args:
        x: input ``(N, C_in, *spatial)``.
        weight: kernel ``(C_out, C_in / groups, *kernel)``.
        bias: ``(C_out,)`` shared over locations, ``(C_out, *out_spatial)`` untied, or None.
        stride: int or one per dimension.
        padding: ``"valid"``, ``"same"``, ``"full"``, int, ints, or ``(lo, hi)`` pairs.
            ``same`` with stride S gives ``ceil(W / S)`` outputs; an odd total padding
            puts the extra pixel on the high side.
        dilation: int or one per dimension.
        groups: channel groups (Goodfellow et al. 2016, fig. 9.15): output group ``g`` sees
            only input group ``g``.
        padding_mode: ``zeros``, ``reflect``, ``replicate`` or ``circular``.
        flip: compute the true convolution (flipped kernel) instead of cross-correlation.

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)`` with
        ``O = floor((W + P_lo + P_hi - D * (K - 1) - 1) / S) + 1``.

    Raises:
        ShapeError: wrong input rank or channel count, kernel larger than padded input.
        ArgumentError: invalid stride, dilation, padding, groups or padding mode.

    Example:
        >>> x = torch.randn(2, 3, 8, 8)
        >>> conv(x, torch.randn(4, 3, 3, 3), padding="same").shape
        torch.Size([2, 4, 8, 8])
    """
    n = _rank_of_weight(weight)
    out_channels = weight.shape[0]
    _, stride, dilation, pairs, out_spatial = conv_arguments(
        x, n, out_channels, weight.shape[1], tuple(weight.shape[2:]), stride, padding, dilation,
        groups, padding_mode, "conv")
    bias_kind = _check_bias(bias, out_channels, out_spatial)
    if flip:
        weight = weight.flip(tuple(range(2, n + 2)))
    shared_bias = bias if bias_kind == "shared" else None
    symmetric = all(lo == hi for lo, hi in pairs)
    if padding_mode == "zeros" and symmetric:
        out = _CONV[n](x, weight, shared_bias, stride, tuple(lo for lo, _ in pairs), dilation, groups)
    else:
        out = _CONV[n](pad(x, pairs, padding_mode), weight, shared_bias, stride, 0, dilation, groups)
    if bias_kind == "untied":
        out = out + bias
    return out


def conv1d(x, weight, bias=None, **kwargs):
    """1-D :func:`conv` (time series, audio; Goodfellow et al. 2016, table 9.1)."""
    if weight.dim() != 3:
        raise ShapeError(f"conv1d expects a 3-D weight. Received: weight.shape={tuple(weight.shape)}.")
    return conv(x, weight, bias, **kwargs)


def conv2d(x, weight, bias=None, **kwargs):
    """2-D :func:`conv` (images)."""
    if weight.dim() != 4:
        raise ShapeError(f"conv2d expects a 4-D weight. Received: weight.shape={tuple(weight.shape)}.")
    return conv(x, weight, bias, **kwargs)


def conv3d(x, weight, bias=None, **kwargs):
    """3-D :func:`conv` (volumes, video)."""
    if weight.dim() != 5:
        raise ShapeError(f"conv3d expects a 5-D weight. Received: weight.shape={tuple(weight.shape)}.")
    return conv(x, weight, bias, **kwargs)


def conv_transpose(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                   stride=1, padding=0, dilation=1, groups: int = 1, output_size=None,
                   flip: bool = False) -> torch.Tensor:
    """Transposed convolution: the map h of Goodfellow et al. 2016, eq. 9.12-9.13.

    It multiplies by the transpose of the matrix that :func:`conv` with the same
    ``stride``, ``padding``, ``dilation`` and ``groups`` defines: the gradient of that
    convolution with respect to its input. A strided convolution maps ``S`` different
    input sizes onto one output size; Goodfellow et al. 2016 require the original size to
    be explicit, so pass ``output_size`` to choose (default: the smallest).

    Args:
        x: input ``(N, C_in, *W)``.
        weight: ``(C_in, C_out / groups, *kernel)`` (the forward convolution's kernel).
        bias: ``(C_out,)`` or None.
        padding: padding of the forward convolution: name, int, ints or (lo, hi) pairs.
        output_size: spatial size of the forward convolution's input (this output).
        flip: transpose of the true (flipped-kernel) convolution.

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)`` with
        ``O = (W - 1) * S - P_lo - P_hi + D * (K - 1) + 1 + r``, ``0 <= r < S``.

    Raises:
        ShapeError: an ``output_size`` that the forward convolution cannot map onto ``W``.

    Example:
        >>> w = torch.randn(4, 2, 3, 3)
        >>> conv_transpose(torch.randn(1, 4, 4, 4), w, stride=2, padding=1).shape
        torch.Size([1, 2, 7, 7])
        >>> conv_transpose(torch.randn(1, 4, 4, 4), w, stride=2, padding=1, output_size=(8, 8)).shape
        torch.Size([1, 2, 8, 8])
    """
    n = _rank_of_weight(weight)
    positive_int(groups, "groups")
    check_input(x, n, weight.shape[0], "conv_transpose")
    shapes.check_groups(weight.shape[0], None, groups)
    kernel = tuple(weight.shape[2:])
    stride = to_tuple(stride, n, "stride")
    dilation = to_tuple(dilation, n, "dilation")
    size_in = tuple(x.shape[2:])
    if output_size is not None:
        output_size = to_tuple(output_size, n, "output_size")
    pairs = shapes.transpose_padding(shapes.normalize_padding(padding, n), size_in, kernel,
                                     stride, dilation, output_size)
    smallest = shapes.conv_transpose_output_shape(size_in, kernel, stride, pairs, dilation)
    if output_size is None:
        output_size = smallest
    shapes.check_transpose_size(output_size, size_in, smallest, stride)
    extra = tuple(o - m for o, m in zip(output_size, smallest))
    if flip:
        weight = weight.flip(tuple(range(2, n + 2)))
    symmetric = all(lo == hi for lo, hi in pairs)
    if symmetric and all(e < max(s, d) for e, s, d in zip(extra, stride, dilation)):
        return _CONV_T[n](x, weight, bias, stride, tuple(lo for lo, _ in pairs), extra,
                          groups, dilation)
    # Asymmetric padding: the full transpose, then crop what the forward padding added.
    full = _CONV_T[n](x, weight, None, stride, 0, 0, groups, dilation)
    grow = [max(lo + o - f, 0) for (lo, _), o, f in zip(pairs, output_size, full.shape[2:])]
    if any(grow):
        full = pad(full, [(0, g) for g in grow])
    index = (slice(None), slice(None)) + tuple(slice(lo, lo + o) for (lo, _), o in zip(pairs, output_size))
    out = full[index]
    if bias is not None:
        out = out + bias.view(-1, *([1] * n))
    return out


def depthwise_separable_conv(x: torch.Tensor, depthwise_weight: torch.Tensor,
                             pointwise_weight: torch.Tensor, bias: torch.Tensor | None = None,
                             stride=1, padding=0, dilation=1, padding_mode: str = "zeros") -> torch.Tensor:
    """Depthwise-separable convolution: a per-channel spatial convolution, then a 1x1 one.

    Args:
        depthwise_weight: ``(C_in * M, 1, *kernel)`` for depth multiplier ``M``.
        pointwise_weight: ``(C_out, C_in * M, 1, ...)``.
        bias: ``(C_out,)`` or None (applied after the pointwise step).

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``, O as for :func:`conv`.

    Example:
        >>> dw, pw = torch.randn(3, 1, 3, 3), torch.randn(8, 3, 1, 1)
        >>> depthwise_separable_conv(torch.randn(1, 3, 9, 9), dw, pw).shape
        torch.Size([1, 8, 7, 7])
    """
    channels = x.shape[1] if x.dim() >= 2 else 0
    middle = conv(x, depthwise_weight, None, stride, padding, dilation, groups=channels,
                  padding_mode=padding_mode)
    return conv(middle, pointwise_weight, bias)
