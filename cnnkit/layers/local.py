"""Locally connected (unshared) and tiled convolution layers, Goodfellow et al. 2016, eq. 9.9
and 9.10.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from .._validation import ArgumentError, ShapeError, one_of, to_tuple
from ..functional import shapes
from ..functional.conv import PADDING_MODES, check_input
from ..functional.local import locally_connected, locally_connected_transpose
from ..functional.tiled import tiled_conv
from ._base import Layer
from .conv import _rank_alias, set_kernel_settings

__all__ = [
    "LocallyConnected", "LocallyConnected1d", "LocallyConnected2d", "LocallyConnected3d",
    "LocallyConnectedTranspose", "LocallyConnectedTranspose1d", "LocallyConnectedTranspose2d",
    "LocallyConnectedTranspose3d", "TiledConv", "TiledConv1d", "TiledConv2d", "TiledConv3d",
]


def _uniform_(tensor: torch.Tensor | None, fan_in: int) -> None:
    # torch.nn.ConvNd's default (kaiming_uniform with a=sqrt(5)): U(-1/sqrt(fan_in), ...),
    # computed here from the real fan-in because these weights have extra location axes.
    if tensor is not None and fan_in > 0:
        bound = 1.0 / math.sqrt(fan_in)
        nn.init.uniform_(tensor, -bound, bound)


def _check_size(layer, x: torch.Tensor) -> None:
    if x.dim() != layer.dims + 2 or x.shape[1] != layer.in_channels:
        check_input(x, layer.dims, layer.in_channels, type(layer).__name__)
    size = tuple(x.shape[2:])
    if size != layer.input_size:
        raise ShapeError(
            f"{type(layer).__name__} was built for inputs of spatial size {layer.input_size}: "
            f"its weights are per location. Received: input of spatial size {size}. Resize the "
            f"input to {layer.input_size}, or build the layer with input_size={size}."
        )


class _FlagBias(Layer):
    """Layers whose ``bias`` setting is a flag (their bias shape is fixed by the layer)."""

    def settings(self) -> dict:
        out = super().settings()
        out["bias"] = self.bias is not None
        return out


class LocallyConnected(_FlagBias):
    """Locally connected layer (unshared convolution), Goodfellow et al. 2016, eq. 9.9.

    Every output location has its own kernel and its own bias, so the layer is built for
    one input size. ``weight[j, k]`` is the kernel of output location ``(j, k)``.

    Args:
        in_channels: channels of the input volume.
        out_channels: filters per location.
        kernel: kernel size, int or one per dimension.
        input_size: spatial size of the input (the weights are per output location).
        stride: int or one per dimension.
        padding: ``"valid"``, ``"same"``, ``"full"``, int, ints, or ``(lo, hi)`` pairs.
        dilation: int or one per dimension.
        groups: channel groups (Goodfellow et al. 2016, fig. 9.15).
        bias: one bias per output unit (``(C_out, *O)``), or False.
        padding_mode: ``zeros``, ``reflect``, ``replicate`` or ``circular``.
        dims: number of spatial dimensions (1, 2 or 3).

    Shape:
        ``(N, C_in, *input_size)`` -> ``(N, C_out, *O)``,
        ``O = floor((W + P_lo + P_hi - D * (K - 1) - 1) / S) + 1``; weight
        ``(*O, C_out, C_in / groups, *K)``.

    Raises:
        ShapeError: a kernel that does not fit ``input_size``; at call time, an input of
            another spatial size, rank or channel count.
        ArgumentError, ArgumentTypeError: invalid settings, named.

    Example:
        >>> layer = LocallyConnected2d(1, 4, 3, input_size=(8, 8))
        >>> layer(torch.randn(2, 1, 8, 8)).shape
        torch.Size([2, 4, 6, 6])
        >>> tuple(layer.weight.shape)
        (6, 6, 4, 1, 3, 3)
    """

    _always_shown = ("in_channels", "out_channels", "kernel_size", "input_size")
    _defaults = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True,
                 "padding_mode": "zeros"}

    def __init__(self, in_channels, out_channels, kernel, input_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", *, dims=2):
        super().__init__()
        n = set_kernel_settings(self, in_channels, out_channels, kernel, stride, dilation, groups, dims)
        self.input_size = to_tuple(input_size, n, "input_size")
        self.padding = shapes.normalize_padding(padding, n)
        self.padding_mode = one_of(padding_mode, PADDING_MODES, "padding_mode")
        self.out_size = self.output_size(self.input_size)
        shape = shapes.locally_connected_weight_shape(
            in_channels, out_channels, self.kernel_size, self.out_size, groups)
        self.weight = nn.Parameter(torch.empty(shape))
        self.bias = nn.Parameter(torch.empty(out_channels, *self.out_size)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform ``(-1/sqrt(fan_in), 1/sqrt(fan_in))``, as ``torch.nn.Conv2d`` does."""
        fan_in = (self.in_channels // self.groups) * math.prod(self.kernel_size)
        _uniform_(self.weight, fan_in)
        _uniform_(self.bias, fan_in)

    def output_size(self, size) -> tuple[int, ...]:
        """Spatial output size for a spatial input ``size`` (raises if the kernel does not fit)."""
        return shapes.conv_output_shape(tuple(size), self.kernel_size, self.stride, self.padding,
                                        self.dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_size(self, x)
        return locally_connected(x, self.weight, self.bias, self.stride, self.padding,
                                 self.dilation, self.groups, self.padding_mode)


LocallyConnected1d = _rank_alias(LocallyConnected, 1, "1-D :class:`LocallyConnected`.")
LocallyConnected2d = _rank_alias(LocallyConnected, 2, "2-D :class:`LocallyConnected`.")
LocallyConnected3d = _rank_alias(LocallyConnected, 3, "3-D :class:`LocallyConnected`.")


class LocallyConnectedTranspose(_FlagBias):
    """Transpose (adjoint) of a locally connected layer: upsampling with per-location kernels.

    It multiplies by the transpose of the matrix of :class:`LocallyConnected` with the same
    kernel, stride, padding, dilation and groups (from ``out_channels`` to
    ``in_channels`` channels). Built for one input size, like the forward layer;
    ``output_padding`` chooses among the ``S`` output sizes a stride ``S`` allows.

    Args:
        in_channels: channels of the input (the forward layer's filters).
        out_channels: channels produced (the forward layer's input channels).
        kernel, stride, padding, dilation, groups: those of the forward layer.
        input_size: spatial size of the input (the forward layer's output size).
        output_padding: extra output size on the high side, in ``[0, stride)``.
        bias: one bias per output unit (``(C_out, *output)``), or False.
        dims: number of spatial dimensions (1, 2 or 3).

    Shape:
        ``(N, C_in, *input_size)`` -> ``(N, C_out, *O)``,
        ``O = (W - 1) * S - P_lo - P_hi + D * (K - 1) + 1 + output_padding``; weight
        ``(*input_size, C_in, C_out / groups, *K)``.

    Raises:
        ShapeError: settings for which no forward layer maps ``O`` onto ``input_size``; at
            call time, an input of another spatial size.

    Example:
        >>> up = LocallyConnectedTranspose2d(4, 1, 3, input_size=(4, 4), stride=2, padding=1)
        >>> up(torch.randn(2, 4, 4, 4)).shape
        torch.Size([2, 1, 7, 7])
    """

    _always_shown = ("in_channels", "out_channels", "kernel_size", "input_size")
    _defaults = {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1, "groups": 1,
                 "bias": True}

    def __init__(self, in_channels, out_channels, kernel, input_size, stride=1, padding=0,
                 output_padding=0, dilation=1, groups=1, bias=True, *, dims=2):
        super().__init__()
        n = set_kernel_settings(self, in_channels, out_channels, kernel, stride, dilation, groups, dims)
        self.input_size = to_tuple(input_size, n, "input_size")
        self.padding = shapes.normalize_padding(padding, n)
        self.output_padding = to_tuple(output_padding, n, "output_padding", allow_zero=True)
        for op, s in zip(self.output_padding, self.stride):
            if op >= s:
                raise ArgumentError(
                    f"output_padding must be smaller than the stride in every dimension. "
                    f"Received: output_padding={output_padding!r}, stride={stride!r}."
                )
        smallest, _ = shapes.locally_connected_transpose_sizes(
            self.input_size, self.kernel_size, self.stride, self.padding, self.dilation)
        self.out_size, _ = shapes.locally_connected_transpose_sizes(
            self.input_size, self.kernel_size, self.stride, self.padding, self.dilation,
            tuple(m + op for m, op in zip(smallest, self.output_padding)))
        self.weight = nn.Parameter(torch.empty(*self.input_size, in_channels,
                                               out_channels // groups, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels, *self.out_size)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform ``(-1/sqrt(fan), 1/sqrt(fan))`` with ``fan = C_out/g * prod(K)``, as
        ``torch.nn.ConvTranspose2d`` does."""
        fan = (self.out_channels // self.groups) * math.prod(self.kernel_size)
        _uniform_(self.weight, fan)
        _uniform_(self.bias, fan)

    def output_size(self, size=None) -> tuple[int, ...]:
        """Spatial output size (the layer is built for one input size)."""
        if size is not None and tuple(size) != self.input_size:
            raise ShapeError(
                f"{type(self).__name__} was built for inputs of spatial size {self.input_size}. "
                f"Received: size={tuple(size)}."
            )
        return self.out_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_size(self, x)
        return locally_connected_transpose(x, self.weight, self.bias, self.stride, self.padding,
                                           self.dilation, self.groups, self.out_size)


LocallyConnectedTranspose1d = _rank_alias(LocallyConnectedTranspose, 1,
                                          "1-D :class:`LocallyConnectedTranspose`.")
LocallyConnectedTranspose2d = _rank_alias(LocallyConnectedTranspose, 2,
                                          "2-D :class:`LocallyConnectedTranspose`.")
LocallyConnectedTranspose3d = _rank_alias(LocallyConnectedTranspose, 3,
                                          "3-D :class:`LocallyConnectedTranspose`.")


class TiledConv(_FlagBias):
    """Tiled convolution layer (Gregor and LeCun 2010; Goodfellow et al. 2016, eq. 9.10).

    ``t`` kernel stacks are cycled through along each spatial dimension (output ``p`` uses
    stack ``p % t``), with biases tiled the same way: between a convolution (``t = 1``)
    and a locally connected layer (``t`` = the output size), at ``prod(t)`` times the
    parameters of a convolution whatever the input size.

    Args:
        in_channels, out_channels, kernel, stride, padding, dilation, groups, padding_mode:
            as for :class:`cnnkit.layers.Conv`.
        tiles: ``t``, an int or one per dimension (``1 <= t <= O``).
        bias: biases ``(C_out, *t)`` tiled like the kernels, or False.
        input_size: optional spatial input size; when given, a ``t`` larger than the output
            fails at construction instead of at the first call.
        dims: number of spatial dimensions (1, 2 or 3).

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``, O as for a convolution; weight
        ``(*t, C_out, C_in / groups, *K)``.

    Raises:
        ArgumentError: ``tiles`` below 1; ShapeError: ``tiles`` above the output size.

    Example:
        >>> layer = TiledConv2d(3, 8, 3, tiles=2, padding="same")
        >>> layer(torch.randn(1, 3, 10, 10)).shape
        torch.Size([1, 8, 10, 10])
        >>> tuple(layer.weight.shape)
        (2, 2, 8, 3, 3, 3)
    """

    _always_shown = ("in_channels", "out_channels", "kernel_size", "tiles")
    _defaults = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True,
                 "padding_mode": "zeros", "input_size": None}

    def __init__(self, in_channels, out_channels, kernel, tiles=2, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", input_size=None, *,
                 dims=2):
        super().__init__()
        n = set_kernel_settings(self, in_channels, out_channels, kernel, stride, dilation, groups, dims)
        if isinstance(tiles, int) and not isinstance(tiles, bool) and tiles < 1:
            shapes.check_tiles(tiles, (1,) * n)
        self.tiles = to_tuple(tiles, n, "tiles")
        self.padding = shapes.normalize_padding(padding, n)
        self.padding_mode = one_of(padding_mode, PADDING_MODES, "padding_mode")
        self.input_size = None if input_size is None else to_tuple(input_size, n, "input_size")
        if self.input_size is not None:
            self.output_size(self.input_size)
        self.weight = nn.Parameter(torch.empty(shapes.tiled_weight_shape(
            in_channels, out_channels, self.kernel_size, self.tiles, groups)))
        self.bias = nn.Parameter(torch.empty(out_channels, *self.tiles)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform ``(-1/sqrt(fan_in), 1/sqrt(fan_in))``, as ``torch.nn.Conv2d`` does."""
        fan_in = (self.in_channels // self.groups) * math.prod(self.kernel_size)
        _uniform_(self.weight, fan_in)
        _uniform_(self.bias, fan_in)

    def output_size(self, size) -> tuple[int, ...]:
        """Spatial output size; raises if the kernel does not fit or ``t`` exceeds it."""
        out = shapes.conv_output_shape(tuple(size), self.kernel_size, self.stride, self.padding,
                                       self.dilation)
        shapes.check_tiles(self.tiles, out)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != self.dims + 2 or x.shape[1] != self.in_channels:
            check_input(x, self.dims, self.in_channels, type(self).__name__)
        return tiled_conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                          self.groups, self.padding_mode)


TiledConv1d = _rank_alias(TiledConv, 1, "1-D :class:`TiledConv`.")
TiledConv2d = _rank_alias(TiledConv, 2, "2-D :class:`TiledConv`.")
TiledConv3d = _rank_alias(TiledConv, 3, "3-D :class:`TiledConv`.")
