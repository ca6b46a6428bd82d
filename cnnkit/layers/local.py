"""Locally connected (unshared) convolution layers, Goodfellow et al. 2016, eq. 9.9, and the
transpose of that map."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from .._validation import ShapeError
from ..functional import shapes
from ..functional.local import locally_connected, locally_connected_transpose
from ._base import FROM_INPUT, Layer, rank_alias
from .kinds import Flag, PerDim
from .conv import SlidingKernel, check_output_padding

__all__ = [
    "LocallyConnected", "LocallyConnected1d", "LocallyConnected2d", "LocallyConnected3d",
    "LocallyConnectedTranspose", "LocallyConnectedTranspose1d", "LocallyConnectedTranspose2d",
    "LocallyConnectedTranspose3d",
]


def check_size(layer, x: torch.Tensor) -> None:
    """A layer with weights per location takes only inputs of the size it was built for."""
    layer._check_input(x)
    size = tuple(x.shape[2:])
    if size != layer.input_size:
        raise ShapeError(
            f"{type(layer).__name__} was built for inputs of spatial size {layer.input_size}: "
            f"its weights are per location. Received: input of spatial size {size}. Resize the "
            f"input to {layer.input_size}, or build the layer with input_size={size}."
        )


class LocallyConnected(SlidingKernel):
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

    kinds = {**SlidingKernel.kinds, "input_size": PerDim(), "bias": Flag()}
    inferred = {"in_channels": "channels", "input_size": "spatial"}
    sized = True
    onnx = True

    def __init__(self, in_channels, out_channels, kernel, input_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", *, dims=2):
        Layer.__init__(self, locals())

    @classmethod
    def param_count(cls, settings, shape, out):
        return shapes.locally_connected_params(shape[0], settings["out_channels"],
                                               settings["kernel"], out[1:], settings["groups"],
                                               settings["bias"])

    def create(self) -> None:
        s = self._settings
        self.out_size = self.spatial_output(s["input_size"])
        shape = shapes.locally_connected_weight_shape(
            s["in_channels"], s["out_channels"], s["kernel"], self.out_size, s["groups"])
        self.weight = nn.Parameter(torch.empty(shape))
        self.bias = (nn.Parameter(torch.empty(s["out_channels"], *self.out_size)) if s["bias"]
                     else None)
        self.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_size(self, x)
        return locally_connected(x, self.weight, self.bias, self.stride, self.padding,
                                 self.dilation, self.groups, self.padding_mode)


LocallyConnected1d = rank_alias(LocallyConnected, 1)
LocallyConnected2d = rank_alias(LocallyConnected, 2)
LocallyConnected3d = rank_alias(LocallyConnected, 3)


class LocallyConnectedTranspose(SlidingKernel):
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

    kinds = {**SlidingKernel.kinds, "input_size": PerDim(),
             "output_padding": PerDim(allow_zero=True), "bias": Flag()}
    inferred = {"in_channels": "channels", "input_size": "spatial"}
    sized = True
    onnx = "its scatter-add (as_strided_scatter) has no ONNX translation"

    def __init__(self, in_channels, out_channels, kernel, input_size, stride=1, padding=0,
                 output_padding=0, dilation=1, groups=1, bias=True, *, dims=2):
        Layer.__init__(self, locals())

    @classmethod
    def check_together(cls, settings, source=None):
        super().check_together(settings, source)
        check_output_padding(settings)

    @classmethod
    def notes(cls, settings, shape):
        return []  # its windows are the forward map's

    @classmethod
    def sizes(cls, settings, spatial) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
        """(output size, forward padding pairs) for a spatial input size."""
        kernel, stride, dilation = settings["kernel"], settings["stride"], settings["dilation"]
        smallest, _ = shapes.locally_connected_transpose_sizes(
            spatial, kernel, stride, settings["padding"], dilation)
        target = tuple(m + op for m, op in zip(smallest, settings["output_padding"]))
        return shapes.locally_connected_transpose_sizes(spatial, kernel, stride,
                                                        settings["padding"], dilation, target)

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        size, _ = cls.sizes(settings, tuple(shape[1:]))
        return (settings["out_channels"], *size)

    @classmethod
    def receptive_field(cls, settings, shape, geometry):
        _, pairs = cls.sizes(settings, tuple(shape[1:]))
        return shapes.compose_transpose_geometry(geometry, settings["kernel"], settings["stride"],
                                                 settings["dilation"], [lo for lo, _ in pairs])

    @classmethod
    def param_count(cls, settings, shape, out):
        weights = shapes.locally_connected_params(settings["out_channels"], shape[0],
                                                  settings["kernel"], shape[1:],
                                                  settings["groups"], bias=False)
        return weights + (math.prod(out) if settings["bias"] else 0)

    @classmethod
    def flop_count(cls, settings, shape, out):
        return shapes.locally_connected_flops(settings["out_channels"], shape[0],
                                              settings["kernel"], shape[1:], settings["groups"])

    def create(self) -> None:
        s = self._settings
        self.out_size, _ = self.sizes(s, s["input_size"])
        self.weight = nn.Parameter(torch.empty(*s["input_size"], s["in_channels"],
                                               s["out_channels"] // s["groups"], *s["kernel"]))
        self.bias = (nn.Parameter(torch.empty(s["out_channels"], *self.out_size)) if s["bias"]
                     else None)
        self.reset_parameters()

    def fan_in(self) -> int:
        # As torch.nn.ConvTranspose2d: C_out / g * prod(K) inputs per output unit.
        return (self.out_channels // self.groups) * math.prod(self.kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_size(self, x)
        return locally_connected_transpose(x, self.weight, self.bias, self.stride, self.padding,
                                           self.dilation, self.groups, self.out_size)


LocallyConnectedTranspose1d = rank_alias(LocallyConnectedTranspose, 1)
LocallyConnectedTranspose2d = rank_alias(LocallyConnectedTranspose, 2)
LocallyConnectedTranspose3d = rank_alias(LocallyConnectedTranspose, 3)
