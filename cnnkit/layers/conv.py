"""Convolution layers: one N-d class with rank aliases, transposed and separable variants."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .._validation import ArgumentError, ShapeError
from ..functional import shapes
from ..functional.conv import PADDING_MODES, check_input, conv_transpose, pad
from ._base import FROM_INPUT, Layer, SlidingWindow, rank_alias
from .kinds import Choice, Count, Flag, Padding, PerDim, collapse, plain_padding

__all__ = [
    "BIAS_MODES", "Conv", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose", "ConvTranspose1d",
    "ConvTranspose2d", "ConvTranspose3d", "SeparableConv", "SeparableConv1d", "SeparableConv2d",
    "SeparableConv3d", "SlidingKernel",
]

BIAS_MODES = ("shared", "untied", "none")
# ``bias=True`` / ``False`` read as shared / none, as in torch.nn.Conv2d.
BIAS = Choice(BIAS_MODES, booleans={True: "shared", False: "none", None: "none"})
SHARED_OR_NONE = Choice(("shared", "none"), booleans={True: "shared", False: "none", None: "none"})
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def uniform_(tensor: torch.Tensor | None, bound: float) -> None:
    """Fill with U(-bound, bound) (nothing for a missing bias)."""
    if tensor is not None:
        nn.init.uniform_(tensor, -bound, bound)


class SlidingKernel(SlidingWindow):
    """What every layer that slides a kernel over a volume shares: the settings
    ``in_channels``, ``out_channels``, ``kernel``, ``stride``, ``padding``, ``dilation``,
    ``groups`` and ``padding_mode``, their checks, and the window geometry
    (Goodfellow et al. 2016, eq. 9.8; output size ``(W - K + 2P) / S + 1``)."""

    kinds = {"in_channels": Count(), "out_channels": Count(), "kernel": PerDim(),
             "stride": PerDim(), "padding": Padding(), "dilation": PerDim(), "groups": Count(),
             "padding_mode": Choice(PADDING_MODES)}
    inferred = {"in_channels": "channels"}
    takes = "volume"

    @classmethod
    def check_together(cls, settings, source=None):
        shapes.check_groups(settings.get("in_channels"), settings.get("out_channels"),
                            settings.get("groups", 1), source)

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        spatial = tuple(shape[1:])
        out = shapes.conv_output_shape(spatial, settings["kernel"], settings["stride"],
                                       settings["padding"], settings["dilation"], source=source)
        shapes.check_padding_mode(spatial, cls.padding_pairs(settings, shape),
                                  settings.get("padding_mode", "zeros"),
                                  plain_padding(settings["padding"]), source)
        return (settings["out_channels"], *out)

    @classmethod
    def flop_count(cls, settings, shape, out):
        return shapes.conv_flops(shape[0], out, settings["kernel"], settings.get("groups", 1))

    def fan_in(self) -> int:
        """Inputs that one output unit sums over (its weights' share of the input)."""
        return (self.in_channels // self.groups) * math.prod(self.kernel)

    def reset_parameters(self) -> None:
        """``torch.nn.Conv2d``'s initialisation computed from the real fan-in (the weights of
        the per-location layers have extra axes): weights with ``kaiming_uniform_(a=sqrt(5))``'s
        bound, biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Swapping layers changes nothing."""
        fan_in = self.fan_in()
        gain = nn.init.calculate_gain("leaky_relu", math.sqrt(5))
        uniform_(self.weight, math.sqrt(3.0) * gain / math.sqrt(fan_in))
        uniform_(self.bias, 1 / math.sqrt(fan_in))

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != self.dims + 2 or x.shape[1] != self.in_channels:
            check_input(x, self.dims, self.in_channels, type(self).__name__)


class Conv(SlidingKernel):
    """N-d convolution layer (Goodfellow et al. 2016, eq. 9.7-9.8); ``Conv1d/2d/3d`` fix the
    rank.

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

    kinds = {**SlidingKernel.kinds, "bias": BIAS, "flip": Flag(),
             "input_size": PerDim(optional=True)}
    inferred = {"in_channels": "channels", "input_size": "spatial"}

    def __init__(self, in_channels, out_channels, kernel, stride=1, padding=0, dilation=1,
                 groups=1, bias="shared", padding_mode="zeros", flip=False, input_size=None,
                 *, dims=2):
        Layer.__init__(self, locals())

    @classmethod
    def settings_from_input(cls, settings, shape):
        # Only untied biases need the input size; leaving it out keeps the layer size-free.
        untied = settings.get("bias") == "untied"
        return {"in_channels": shape[0], **({"input_size": tuple(shape[1:])} if untied else {})}

    @classmethod
    def is_sized(cls, settings):
        return settings.get("bias") == "untied"

    @classmethod
    def param_count(cls, settings, shape, out):
        count = shapes.conv_params(shape[0], settings["out_channels"], settings["kernel"],
                                   settings["groups"], bias=settings["bias"] == "shared")
        return count + (math.prod(out) if settings["bias"] == "untied" else 0)

    def create(self) -> None:
        s = self._settings
        self.weight = nn.Parameter(torch.empty(s["out_channels"], s["in_channels"] // s["groups"],
                                               *s["kernel"]))
        if s["input_size"] is not None:
            # a kernel that cannot fit fails now, not at the first call
            out = type(self).output_shape(s, (s["in_channels"], *s["input_size"]))[1:]
        if s["bias"] == "untied":
            if s["input_size"] is None:
                raise ArgumentError(
                    "bias='untied' has one bias per output location, so the layer needs the "
                    "input size. Received: input_size=None. Pass input_size=(H, W) (the spec "
                    "infers it), or use bias='shared'.", argument="input_size")
            self.bias = nn.Parameter(torch.empty(s["out_channels"], *out))
        elif s["bias"] == "shared":
            self.bias = nn.Parameter(torch.empty(s["out_channels"]))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        self._plan()

    def _plan(self) -> None:
        """Precompute how forward pads, so that the hot path is one call into PyTorch."""
        self._conv = _CONV[self.dims]
        pairs = shapes.padding_pairs(self.padding, self.kernel, self.stride, self.dilation, None)
        self._pairs = pairs  # None: 'same' with stride > 1, resolved per input size
        self._torch_padding = 0
        self._pre_pad = None
        if pairs is not None:
            if self.padding_mode == "zeros" and all(lo == hi for lo, hi in pairs):
                self._torch_padding = tuple(lo for lo, _ in pairs)
            elif any(p for pair in pairs for p in pair):
                self._pre_pad = pairs
        self._shared_bias = self._settings["bias"] == "shared"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        weight = self.weight.flip(tuple(range(2, self.dims + 2))) if self.flip else self.weight
        if self._pairs is None:
            pairs = shapes.padding_pairs(self.padding, self.kernel, self.stride, self.dilation,
                                         x.shape[2:])
            x = pad(x, pairs, self.padding_mode)
        elif self._pre_pad is not None:
            x = pad(x, self._pre_pad, self.padding_mode)
        out = self._conv(x, weight, self.bias if self._shared_bias else None, self.stride,
                         self._torch_padding, self.dilation, self.groups)
        if self._settings["bias"] == "untied":
            if out.shape[2:] != self.bias.shape[1:]:
                raise ShapeError(
                    f"{type(self).__name__} with bias='untied' was built for inputs of spatial "
                    f"size {self.input_size} (output {tuple(self.bias.shape[1:])}); its biases "
                    f"are per location. Received: output of spatial size "
                    f"{tuple(out.shape[2:])}. Resize the input or use bias='shared'.")
            out = out + self.bias
        return out


Conv1d = rank_alias(Conv, 1, "1-D :class:`Conv` (sequences, audio).")
Conv2d = rank_alias(Conv, 2, "2-D :class:`Conv` (images).")
Conv3d = rank_alias(Conv, 3, "3-D :class:`Conv` (volumes, video).")


class ConvTranspose(SlidingKernel):
    """Transposed convolution layer: the map h of Goodfellow et al. 2016, eq. 9.12-9.13.

    ``padding`` is the forward convolution's padding (``valid``, ``same``, ``full`` or
    ints / pairs). Since a strided convolution maps several input sizes onto one output,
    the output size is ambiguous: by default the smallest; ``output_padding`` adds to it,
    or pass ``output_size`` to ``forward`` to name the size (Goodfellow et al. 2016 ask for
    it to be explicit).

    Args:
        in_channels: channels of the input (the forward convolution's filters).
        out_channels: channels produced (the forward convolution's input channels).
        kernel, stride, dilation, groups: as for :class:`Conv`.
        output_padding: extra size on the high side, in ``[0, stride)``.
        bias: ``"shared"`` (one per output channel) or ``"none"`` / False.

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``,
        ``O = (W - 1) * S - P_lo - P_hi + D * (K - 1) + 1 + output_padding``.

    Example:
        >>> up = ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        >>> up(torch.randn(1, 8, 5, 5)).shape
        torch.Size([1, 4, 10, 10])
    """

    kinds = {**SlidingKernel.kinds, "output_padding": PerDim(allow_zero=True),
             "bias": SHARED_OR_NONE}

    def __init__(self, in_channels, out_channels, kernel, stride=1, padding=0, output_padding=0,
                 dilation=1, groups=1, bias="shared", *, dims=2):
        Layer.__init__(self, locals())

    @classmethod
    def check_together(cls, settings, source=None):
        super().check_together(settings, source)
        check_output_padding(settings)
        kernel, stride, dilation = settings["kernel"], settings["stride"], settings["dilation"]
        if settings["padding"] == "same":
            for k, s, d in zip(kernel, stride, dilation):
                if shapes.effective_kernel(k, d) < s:
                    raise ArgumentError(
                        f"padding: same for a transposed convolution means an output of exactly "
                        f"input size x stride, which needs a kernel span of at least the stride; "
                        f"a kernel of {k} with stride {s} leaves gaps. Received: padding='same', "
                        f"kernel={collapse(kernel)}, stride={collapse(stride)}. Use a kernel of "
                        f"at least {s}, or padding: valid.", argument="padding")

    @classmethod
    def notes(cls, settings, shape):
        return []

    @classmethod
    def transpose_pairs(cls, settings, shape):
        """The forward convolution's (lo, hi) padding for an input ``shape``."""
        return shapes.transpose_padding(settings["padding"], tuple(shape[1:]), settings["kernel"],
                                        settings["stride"], settings["dilation"])

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        out = shapes.conv_transpose_output_shape(
            tuple(shape[1:]), settings["kernel"], settings["stride"],
            cls.transpose_pairs(settings, shape), settings["dilation"],
            settings["output_padding"], padding=plain_padding(settings["padding"]), source=source)
        return (settings["out_channels"], *out)

    @classmethod
    def receptive_field(cls, settings, shape, geometry):
        pairs = cls.transpose_pairs(settings, shape)
        return shapes.compose_transpose_geometry(geometry, settings["kernel"], settings["stride"],
                                                 settings["dilation"], [lo for lo, _ in pairs])

    @classmethod
    def param_count(cls, settings, shape, out):
        weights = shape[0] * (settings["out_channels"] // settings["groups"]) * math.prod(
            settings["kernel"])
        return weights + (settings["out_channels"] if settings["bias"] == "shared" else 0)

    @classmethod
    def flop_count(cls, settings, shape, out):
        # Every input value meets every kernel tap of the filters of its group.
        return math.prod(shape) * (settings["out_channels"] // settings["groups"]) * math.prod(
            settings["kernel"])

    def fan_in(self) -> int:
        return (self.out_channels // self.groups) * math.prod(self.kernel)

    def create(self) -> None:
        s = self._settings
        self.weight = nn.Parameter(torch.empty(s["in_channels"], s["out_channels"] // s["groups"],
                                               *s["kernel"]))
        self.bias = nn.Parameter(torch.empty(s["out_channels"])) if s["bias"] == "shared" else None
        self.reset_parameters()

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        if output_size is None and any(self.output_padding):
            output_size = self.spatial_output(x.shape[2:])
        return conv_transpose(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                              self.groups, output_size)


def check_output_padding(settings: dict) -> None:
    """``output_padding`` picks one of the ``S`` sizes a stride-``S`` convolution maps onto
    one input size: each below its stride, and none with ``padding='same'``."""
    output_padding, stride = settings["output_padding"], settings["stride"]
    for op, s in zip(output_padding, stride):
        if op >= s:
            raise ArgumentError(
                f"output_padding must be smaller than the stride in every dimension (it picks "
                f"one of the {s} output sizes that a stride-{s} convolution maps onto the same "
                f"input size). Received: output_padding={collapse(output_padding)}, "
                f"stride={collapse(stride)}. Use output_padding of at most {s - 1}.",
                argument="output_padding")
    if settings["padding"] == "same" and any(output_padding):
        # 'same' already gives the largest size, W * S; adding to it left no input size
        # that the forward convolution maps onto W.
        raise ArgumentError(
            f"output_padding cannot be combined with padding: same, whose output is already "
            f"input size x stride. Received: output_padding={collapse(output_padding)}. Leave "
            f"output_padding at 0, or use explicit padding.", argument="output_padding")


ConvTranspose1d = rank_alias(ConvTranspose, 1)
ConvTranspose2d = rank_alias(ConvTranspose, 2)
ConvTranspose3d = rank_alias(ConvTranspose, 3)


class SeparableConv(SlidingKernel):
    """Depthwise-separable convolution: per-channel spatial filters, then a 1x1 convolution.

    ``C_in * K^d * M + C_in * M * C_out`` weights instead of ``C_in * C_out * K^d``.

    Args:
        depth_multiplier: spatial filters per input channel (``M``).
        bias: ``"shared"`` (of the pointwise convolution) or ``"none"`` / False.
        Others as for :class:`Conv`.

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``, O as for :class:`Conv`.

    Example:
        >>> SeparableConv2d(3, 16, 3, padding="same")(torch.randn(1, 3, 10, 10)).shape
        torch.Size([1, 16, 10, 10])
    """

    kinds = {**SlidingKernel.kinds, "depth_multiplier": Count(), "bias": SHARED_OR_NONE}

    def __init__(self, in_channels, out_channels, kernel, stride=1, padding=0, dilation=1,
                 depth_multiplier=1, bias="shared", padding_mode="zeros", *, dims=2):
        Layer.__init__(self, locals())

    @classmethod
    def param_count(cls, settings, shape, out):
        middle = shape[0] * settings["depth_multiplier"]
        return (middle * math.prod(settings["kernel"]) + middle * settings["out_channels"]
                + (settings["out_channels"] if settings["bias"] == "shared" else 0))

    @classmethod
    def flop_count(cls, settings, shape, out):
        middle = shape[0] * settings["depth_multiplier"]
        return math.prod(out[1:]) * middle * (math.prod(settings["kernel"])
                                              + settings["out_channels"])

    def create(self) -> None:
        s = self._settings
        middle = s["in_channels"] * s["depth_multiplier"]
        self.depthwise = Conv(s["in_channels"], middle, s["kernel"], s["stride"], s["padding"],
                              s["dilation"], groups=s["in_channels"], bias="none",
                              padding_mode=s["padding_mode"], dims=s["dims"])
        self.pointwise = Conv(middle, s["out_channels"], 1, bias=s["bias"], dims=s["dims"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


SeparableConv1d = rank_alias(SeparableConv, 1)
SeparableConv2d = rank_alias(SeparableConv, 2)
SeparableConv3d = rank_alias(SeparableConv, 3)
