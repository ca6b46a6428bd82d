"""Convolution layers: one N-d class with rank aliases, transposed and separable variants."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .._validation import ArgumentError, ShapeError, one_of, positive_int, to_tuple
from ..functional import shapes
from ..functional.conv import PADDING_MODES, check_input, conv_transpose, pad, transpose_padding
from ._base import Layer

__all__ = [
    "BIAS_MODES", "Conv", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose", "ConvTranspose1d",
    "ConvTranspose2d", "ConvTranspose3d", "SeparableConv", "SeparableConv1d", "SeparableConv2d",
    "SeparableConv3d",
]

BIAS_MODES = ("shared", "untied", "none")
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _bias_mode(bias) -> str:
    if bias is True:
        return "shared"
    if bias is False or bias is None:
        return "none"
    return one_of(bias, BIAS_MODES, "bias")


def set_kernel_settings(layer, in_channels, out_channels, kernel, stride, dilation, groups,
                        dims) -> int:
    """Check and store the settings every sliding-kernel layer shares; returns the rank.

    Sets ``dims``, ``in_channels``, ``out_channels``, ``kernel_size``, ``stride``,
    ``dilation`` and ``groups`` on ``layer``; both channel counts must divide by groups.
    """
    n = one_of(dims, (1, 2, 3), "dims")
    layer.dims = n
    layer.in_channels = positive_int(in_channels, "in_channels")
    layer.out_channels = positive_int(out_channels, "out_channels")
    layer.kernel_size = to_tuple(kernel, n, "kernel")
    layer.stride = to_tuple(stride, n, "stride")
    layer.dilation = to_tuple(dilation, n, "dilation")
    layer.groups = positive_int(groups, "groups")
    for name, count in (("in_channels", in_channels), ("out_channels", out_channels)):
        if count % groups:
            raise ArgumentError(
                f"{name} must be divisible by groups. Received: {name}={count}, "
                f"groups={groups}. Use a multiple of {groups}, or groups that divides {count}."
            )
    return n


def _reset_like_torch(weight: nn.Parameter, bias: nn.Parameter | None, fan_in: int) -> None:
    # The same initialisation as torch.nn.ConvNd, so that swapping layers changes nothing.
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None and fan_in > 0:
        bound = 1 / math.sqrt(fan_in)
        nn.init.uniform_(bias, -bound, bound)


class Conv(Layer):
    """N-d convolution layer (Goodfellow et al. 2016, eq. 9.7-9.8); ``Conv1d/2d/3d`` fix the rank.

    Args:
        in_channels: channels of the input volume.
        out_channels: number of filters (channels of the output volume).
        kernel: kernel size, int or one per dimension.
        stride: int or one per dimension.
        padding: ``"valid"``, ``"same"``, ``"full"``, int, ints, or ``(lo, hi)`` pairs.
        dilation: int or one per dimension.
        groups: channel groups (Goodfellow et al. 2016, fig. 9.15).
        bias: ``"shared"`` (one per output channel, default), ``"untied"`` (one per
            output location; needs ``input_size``), or ``"none"`` / False.
        padding_mode: ``zeros``, ``reflect``, ``replicate`` or ``circular``.
        flip: true convolution (flipped kernel, eq 9.4) instead of cross-correlation.
        input_size: spatial input size, required for untied bias (its shape depends on it).
        dims: number of spatial dimensions (1, 2 or 3).

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``,
        ``O = floor((W + P_lo + P_hi - D * (K - 1) - 1) / S) + 1``.

    Raises:
        ArgumentError, ArgumentTypeError: invalid settings, named.
        ShapeError: at call time, an input of the wrong rank or channel count.

    Example:
        >>> layer = Conv2d(1, 6, 5, padding="same")
        >>> layer(torch.randn(2, 1, 28, 28)).shape
        torch.Size([2, 6, 28, 28])
    """

    _always_shown = ("in_channels", "out_channels", "kernel_size")
    _defaults = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": "shared",
                 "padding_mode": "zeros", "flip": False, "input_size": None}

    def __init__(self, in_channels, out_channels, kernel, stride=1, padding=0, dilation=1,
                 groups=1, bias="shared", padding_mode="zeros", flip=False, input_size=None,
                 *, dims=2):
        super().__init__()
        n = set_kernel_settings(self, in_channels, out_channels, kernel, stride, dilation, groups, dims)
        self.padding = shapes.normalize_padding(padding, n)
        self.padding_mode = one_of(padding_mode, PADDING_MODES, "padding_mode")
        self.flip = bool(flip)
        self.bias_mode = _bias_mode(bias)
        self.input_size = None if input_size is None else to_tuple(input_size, n, "input_size")
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, *self.kernel_size))
        if self.bias_mode == "untied":
            if self.input_size is None:
                raise ArgumentError(
                    "bias='untied' has one bias per output location, so the layer needs the "
                    "input size. Received: input_size=None. Pass input_size=(H, W) (the spec "
                    "infers it), or use bias='shared'."
                )
            out = self.output_size(self.input_size)
            self.bias = nn.Parameter(torch.empty(out_channels, *out))
        elif self.bias_mode == "shared":
            self.bias = nn.Parameter(torch.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        if self.input_size is not None:
            self.output_size(self.input_size)  # a kernel that cannot fit fails now, not later
        _reset_like_torch(self.weight, self.bias, (in_channels // groups) * math.prod(self.kernel_size))
        self._plan()

    def _plan(self) -> None:
        """Precompute how forward pads, so that the hot path is one call into PyTorch."""
        self._conv = _CONV[self.dims]
        pairs = shapes.padding_pairs(self.padding, self.kernel_size, self.stride, self.dilation, None)
        self._pairs = pairs  # None: 'same' with stride > 1, resolved per input size
        self._torch_padding = 0
        self._pre_pad = None
        if pairs is not None:
            if self.padding_mode == "zeros" and all(lo == hi for lo, hi in pairs):
                self._torch_padding = tuple(lo for lo, _ in pairs)
            elif any(p for pair in pairs for p in pair):
                self._pre_pad = pairs
        self._shared_bias = self.bias_mode == "shared"

    def settings(self) -> dict:
        out = super().settings()
        out["bias"] = self.bias_mode
        return out

    def output_size(self, size) -> tuple[int, ...]:
        """Spatial output size for a spatial input ``size`` (raises if the kernel does not fit)."""
        return shapes.conv_output_shape(tuple(size), self.kernel_size, self.stride, self.padding,
                                        self.dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != self.dims + 2 or x.shape[1] != self.in_channels:
            check_input(x, self.dims, self.in_channels, f"{type(self).__name__}")
        weight = self.weight.flip(tuple(range(2, self.dims + 2))) if self.flip else self.weight
        if self._pairs is None:
            pairs = shapes.padding_pairs(self.padding, self.kernel_size, self.stride,
                                         self.dilation, x.shape[2:])
            x = pad(x, pairs, self.padding_mode)
        elif self._pre_pad is not None:
            x = pad(x, self._pre_pad, self.padding_mode)
        out = self._conv(x, weight, self.bias if self._shared_bias else None, self.stride,
                         self._torch_padding, self.dilation, self.groups)
        if self.bias_mode == "untied":
            if out.shape[2:] != self.bias.shape[1:]:
                raise ShapeError(
                    f"{type(self).__name__} with bias='untied' was built for inputs of spatial size "
                    f"{self.input_size} (output {tuple(self.bias.shape[1:])}); its biases are per "
                    f"location. Received: output of spatial size {tuple(out.shape[2:])}. Resize "
                    f"the input or use bias='shared'."
                )
            out = out + self.bias
        return out


def _rank_alias(base, n, doc):
    class Alias(base):
        __doc__ = doc

        def __init__(self, *args, **kwargs):
            kwargs.setdefault("dims", n)
            if kwargs["dims"] != n:
                raise ArgumentError(f"{base.__name__}{n}d has dims={n}. Received: dims={kwargs['dims']!r}.")
            super().__init__(*args, **kwargs)

    Alias.__name__ = Alias.__qualname__ = f"{base.__name__}{n}d"
    return Alias


Conv1d = _rank_alias(Conv, 1, "1-D :class:`Conv` (sequences, audio).")
Conv2d = _rank_alias(Conv, 2, "2-D :class:`Conv` (images).")
Conv3d = _rank_alias(Conv, 3, "3-D :class:`Conv` (volumes, video).")


class ConvTranspose(Layer):
    """Transposed convolution layer: the map h of Goodfellow et al. 2016, eq. 9.12-9.13.

    ``padding`` is the forward convolution's padding (``valid``, ``same``, ``full`` or
    ints / pairs). Since a strided convolution maps several input sizes onto one output,
    the output size is ambiguous: by default the smallest; ``output_padding`` adds to it,
    or pass ``output_size`` to ``forward`` to name the size (Goodfellow et al. 2016 ask for it to
    be explicit).

    Args:
        in_channels: channels of the input (the forward convolution's filters).
        out_channels: channels produced (the forward convolution's input channels).
        kernel, stride, dilation, groups: as for :class:`Conv`.
        output_padding: extra size on the high side, in ``[0, stride)``.

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``,
        ``O = (W - 1) * S - P_lo - P_hi + D * (K - 1) + 1 + output_padding``.

    Example:
        >>> up = ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        >>> up(torch.randn(1, 8, 5, 5)).shape
        torch.Size([1, 4, 10, 10])
    """

    _always_shown = ("in_channels", "out_channels", "kernel_size")
    _defaults = {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1, "groups": 1,
                 "bias": "shared"}

    def __init__(self, in_channels, out_channels, kernel, stride=1, padding=0, output_padding=0,
                 dilation=1, groups=1, bias="shared", *, dims=2):
        super().__init__()
        n = set_kernel_settings(self, in_channels, out_channels, kernel, stride, dilation, groups, dims)
        self.padding = shapes.normalize_padding(padding, n)
        self.output_padding = to_tuple(output_padding, n, "output_padding", allow_zero=True)
        for op, s in zip(self.output_padding, self.stride):
            if op >= s:
                raise ArgumentError(
                    f"output_padding must be smaller than the stride in every dimension. "
                    f"Received: output_padding={output_padding!r}, stride={stride!r}."
                )
        if self.padding == "same" and any(self.output_padding):
            # 'same' already gives the largest size, W * S; adding to it left no input size
            # that the forward convolution maps onto W, so every call failed.
            raise ArgumentError(
                "output_padding cannot be combined with padding='same', whose output is "
                f"already W * stride. Received: output_padding={output_padding!r}. Leave "
                "output_padding at 0, or pass output_size to forward to pick a smaller size."
            )
        self.bias_mode = _bias_mode(bias)
        if self.bias_mode == "untied":
            raise ArgumentError("ConvTranspose supports bias='shared' or 'none'. Received: bias='untied'.")
        self.weight = nn.Parameter(torch.empty(in_channels, out_channels // groups, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if self.bias_mode == "shared" else None
        _reset_like_torch(self.weight, self.bias, (out_channels // groups) * math.prod(self.kernel_size))

    def settings(self) -> dict:
        out = super().settings()
        out["bias"] = self.bias_mode
        return out

    def output_size(self, size) -> tuple[int, ...]:
        """Spatial output size for a spatial input ``size``."""
        pairs = transpose_padding(self.padding, tuple(size), self.kernel_size, self.stride,
                                  self.dilation, None)
        return tuple(
            (w - 1) * s - lo - hi + shapes.effective_kernel(k, d) + op
            for w, s, (lo, hi), k, d, op in zip(size, self.stride, pairs, self.kernel_size,
                                                 self.dilation, self.output_padding)
        )

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        if output_size is None and any(self.output_padding):
            output_size = self.output_size(x.shape[2:])
        return conv_transpose(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                              self.groups, output_size)


ConvTranspose1d = _rank_alias(ConvTranspose, 1, "1-D :class:`ConvTranspose`.")
ConvTranspose2d = _rank_alias(ConvTranspose, 2, "2-D :class:`ConvTranspose`.")
ConvTranspose3d = _rank_alias(ConvTranspose, 3, "3-D :class:`ConvTranspose`.")


class SeparableConv(Layer):
    """Depthwise-separable convolution: per-channel spatial filters, then a 1x1 convolution.

    ``C_in * K^d * M + C_in * M * C_out`` weights instead of ``C_in * C_out * K^d``.

    Args:
        depth_multiplier: spatial filters per input channel (``M``).
        Others as for :class:`Conv`.

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``, O as for :class:`Conv`.

    Example:
        >>> SeparableConv2d(3, 16, 3, padding="same")(torch.randn(1, 3, 10, 10)).shape
        torch.Size([1, 16, 10, 10])
    """

    _always_shown = ("in_channels", "out_channels", "kernel_size")
    _defaults = {"stride": 1, "padding": 0, "dilation": 1, "depth_multiplier": 1, "bias": "shared",
                 "padding_mode": "zeros"}

    def __init__(self, in_channels, out_channels, kernel, stride=1, padding=0, dilation=1,
                 depth_multiplier=1, bias="shared", padding_mode="zeros", *, dims=2):
        super().__init__()
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier")
        middle = positive_int(in_channels, "in_channels") * depth_multiplier
        self.depthwise = Conv(in_channels, middle, kernel, stride, padding, dilation,
                              groups=in_channels, bias="none", padding_mode=padding_mode, dims=dims)
        self.pointwise = Conv(middle, out_channels, 1, bias=bias, dims=dims)
        self.dims = dims
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = self.depthwise.kernel_size, self.depthwise.stride
        self.padding, self.dilation = self.depthwise.padding, self.depthwise.dilation
        self.padding_mode = padding_mode
        self.bias_mode = self.pointwise.bias_mode

    def settings(self) -> dict:
        # The bias lives in the pointwise convolution; this layer has no `bias` attribute.
        names = self._always_shown + tuple(self._defaults)
        return {name: self.bias_mode if name == "bias" else getattr(self, name) for name in names}

    def output_size(self, size) -> tuple[int, ...]:
        return self.depthwise.output_size(size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


SeparableConv1d = _rank_alias(SeparableConv, 1, "1-D :class:`SeparableConv`.")
SeparableConv2d = _rank_alias(SeparableConv, 2, "2-D :class:`SeparableConv`.")
SeparableConv3d = _rank_alias(SeparableConv, 3, "3-D :class:`SeparableConv`.")
