"""Spec rules of the convolutions: conv, conv_transpose (deconv), separable_conv."""

from __future__ import annotations

import math

from ...functional import shapes
from ...functional.conv import PADDING_MODES, transpose_padding
from ...layers.conv import (BIAS_MODES, Conv, Conv1d, Conv2d, Conv3d, ConvTranspose,
                            ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, SeparableConv,
                            SeparableConv1d, SeparableConv2d, SeparableConv3d)
from .._catalogue import (REQUIRED, At, LayerRule, collapse, format_spatial, plain_padding,
                          register_layer)

__all__ = ["ConvRule", "ConvTransposeRule", "SeparableConvRule", "dims", "padding_of"]

_CONV = {1: Conv1d, 2: Conv2d, 3: Conv3d}
_CONV_T = {1: ConvTranspose1d, 2: ConvTranspose2d, 3: ConvTranspose3d}
_SEPARABLE = {1: SeparableConv1d, 2: SeparableConv2d, 3: SeparableConv3d}


def dims(value, n: int) -> tuple[int, ...]:
    """A canonical per-dimension value (int or list) -> a tuple of ``n`` ints."""
    return tuple(value) if isinstance(value, (list, tuple)) else (value,) * n


def padding_of(args: dict, n: int) -> shapes.PaddingSpec:
    """A canonical padding -> the normalised form that shapes.py and the layers take
    (``valid`` as zero pairs, the layers' default, so that their repr stays short)."""
    padding = args["padding"]
    return shapes.normalize_padding(0 if padding == "valid" else padding, n)


def bias_mode(args: dict, at: At, modes=BIAS_MODES) -> str:
    """``shared`` / ``untied`` / ``none``; YAML true / false mean shared / none."""
    value = args["bias"]
    if value is True:
        return "shared"
    if value is False or value is None:
        return "none"
    return at.choice(args, "bias", modes)


def check_channels(at: At, channels: int, args: dict, what: str = "conv") -> None:
    """The inferred input channels against ``in_channels`` (when written) and ``groups``."""
    written = args.get("in_channels")
    if written is not None and written != channels:
        raise at.error(
            f"in_channels {written!r} does not match the {channels} channels coming from "
            f"{at.came_from}. Received: in_channels={written!r}. Leave in_channels out (the spec "
            f"infers it) or fix the layers before.", "in_channels")
    groups = args.get("groups", 1)
    if channels % groups:
        raise at.error(
            f"the {channels} input channels (from {at.came_from}) are not divisible by groups. "
            f"Received: groups={groups}. Use groups that divides {channels}, or make the layer "
            f"before give a multiple of {groups} channels.", "groups")


def check_padding_mode(at: At, args: dict, spatial: tuple, pairs) -> None:
    """reflect needs padding < size, circular padding <= size (PyTorch's rule)."""
    mode = args.get("padding_mode", "zeros")
    if mode not in ("reflect", "circular"):
        return
    for axis, (w, (lo, hi)) in enumerate(zip(spatial, pairs)):
        too_big = max(lo, hi) >= w if mode == "reflect" else max(lo, hi) > w
        if too_big:
            bound = "smaller than" if mode == "reflect" else "at most"
            raise at.error(
                f"padding_mode {mode} needs padding {bound} the input size, but padding "
                f"{args['padding']!r} pads {lo}+{hi} along spatial dimension {axis} of the "
                f"{format_spatial(spatial)} input coming from {at.came_from}. Received: "
                f"padding_mode={mode!r}. Use padding_mode: replicate or zeros, a smaller kernel, "
                f"or a larger input.", "padding_mode")


def check_output_padding(args: dict, at: At) -> tuple[int, ...]:
    """``output_padding`` of a transposed layer, each below its stride."""
    stride = at.per_dim(args, "stride")
    output_padding = at.per_dim(args, "output_padding", allow_zero=True)
    for op, s in zip(output_padding, stride):
        if op >= s:
            raise at.error(
                f"output_padding must be smaller than the stride in every dimension (it picks "
                f"one of the {s} output sizes that a stride-{s} convolution maps onto the same "
                f"input size). Received: output_padding={args['output_padding']!r}, "
                f"stride={args['stride']!r}. Use output_padding of at most {s - 1}.",
                "output_padding")
    return output_padding


def check_common(args: dict, at: At) -> dict:
    """Checks shared by the convolutions: filters, kernel, stride, dilation, padding."""
    return {
        "filters": at.integer(args, "filters"),
        "kernel": collapse(at.per_dim(args, "kernel")),
        "stride": collapse(at.per_dim(args, "stride")),
        "padding": plain_padding(at.padding(args)),
        "dilation": collapse(at.per_dim(args, "dilation")),
    }


def describe_window(name: str, args: dict, key: str = "kernel") -> str:
    """``conv 5``, ``maxpool 3 stride 2``: the window and a stride that is not the default."""
    def text(value):
        return format_spatial(value) if isinstance(value, list) else str(value)

    out = f"{name} {text(args[key])}"
    default_stride = args[key] if key == "size" else 1
    if args["stride"] != default_stride:
        out += f" stride {text(args['stride'])}"
    return out


@register_layer
class ConvRule(LayerRule):
    """``conv``: convolution (Goodfellow et al. 2016, eq. 9.7-9.8), any rank."""

    name = "conv"
    keys = {"filters": REQUIRED, "kernel": REQUIRED, "stride": 1, "padding": "valid",
            "dilation": 1, "groups": 1, "bias": "shared", "padding_mode": "zeros", "flip": False}
    shorthand = "filters"
    modules = (Conv,)
    activation = True
    check_only = ("in_channels",)
    description = "convolution (cross-correlation; flip: true for the flipped kernel)"

    def check(self, args, at):
        out = check_common(args, at)
        groups = at.integer(args, "groups")
        if out["filters"] % groups:
            raise at.error(
                f"filters must be divisible by groups. Received: filters={out['filters']}, "
                f"groups={groups}. Use a multiple of {groups} filters, or groups that divides "
                f"{out['filters']}.", "groups")
        out.update(groups=groups, bias=bias_mode(args, at),
                   padding_mode=at.choice(args, "padding_mode", PADDING_MODES),
                   flip=at.flag(args, "flip"))
        return out

    def _window(self, args, shape):
        n = len(shape) - 1
        return dims(args["kernel"], n), dims(args["stride"], n), padding_of(args, n), dims(args["dilation"], n)

    def output_shape(self, args, shape, at):
        check_channels(at, shape[0], args)
        kernel, stride, padding, dilation = self._window(args, shape)
        spatial = at.window(shape[1:], kernel, stride, padding, dilation)
        pairs = shapes.padding_pairs(padding, kernel, stride, dilation, shape[1:])
        check_padding_mode(at, args, shape[1:], pairs)
        return (args["filters"], *spatial)

    def geometry(self, args, shape, geometry):
        kernel, stride, padding, dilation = self._window(args, shape)
        pairs = shapes.padding_pairs(padding, kernel, stride, dilation, shape[1:])
        return shapes.compose_geometry(geometry, kernel, stride, dilation, [lo for lo, _ in pairs])

    def params(self, args, shape, out):
        kernel = dims(args["kernel"], len(shape) - 1)
        count = shapes.conv_params(shape[0], args["filters"], kernel, args["groups"],
                                   bias=args["bias"] == "shared")
        return count + (math.prod(out) if args["bias"] == "untied" else 0)

    def flops(self, args, shape, out):
        return shapes.conv_flops(shape[0], out, dims(args["kernel"], len(shape) - 1), args["groups"])

    def sized(self, args):
        return args["bias"] == "untied"

    def build(self, args, shape):
        n = len(shape) - 1
        kernel, stride, padding, dilation = self._window(args, shape)
        untied = args["bias"] == "untied"
        return _CONV[n](shape[0], args["filters"], kernel, stride, padding, dilation,
                        args["groups"], args["bias"], args["padding_mode"], args["flip"],
                        input_size=tuple(shape[1:]) if untied else None)

    def unbuild(self, module):
        return {"filters": module.out_channels, "kernel": list(module.kernel_size),
                "stride": list(module.stride), "padding": plain_padding(module.padding),
                "dilation": list(module.dilation), "groups": module.groups,
                "bias": module.bias_mode, "padding_mode": module.padding_mode,
                "flip": module.flip}

    def describe(self, args):
        return describe_window("conv", args)


@register_layer
class ConvTransposeRule(LayerRule):
    """``conv_transpose`` (alias ``deconv``): the map h of Goodfellow et al. 2016,
    eq. 9.12-9.13."""

    name = "conv_transpose"
    aliases = ("deconv",)
    keys = {"filters": REQUIRED, "kernel": REQUIRED, "stride": 1, "padding": "valid",
            "output_padding": 0, "dilation": 1, "groups": 1, "bias": "shared"}
    shorthand = "filters"
    modules = (ConvTranspose,)
    activation = True
    check_only = ("in_channels",)
    description = "transposed convolution (upsampling by the stride)"

    def check(self, args, at):
        out = check_common(args, at)
        output_padding = check_output_padding(args, at)
        stride = at.per_dim(args, "stride")
        kernel, dilation = at.per_dim(args, "kernel"), at.per_dim(args, "dilation")
        if out["padding"] == "same" and any(output_padding):
            raise at.error(
                f"output_padding cannot be combined with padding: same, whose output is already "
                f"input size x stride. Received: output_padding={args['output_padding']!r}. Leave "
                f"output_padding at 0, or use explicit padding.", "output_padding")
        if out["padding"] == "same":
            for k, s, d in zip(kernel, stride, dilation):
                if shapes.effective_kernel(k, d) < s:
                    raise at.error(
                        f"padding: same for a transposed convolution means an output of exactly "
                        f"input size x stride, which needs a kernel span of at least the stride; "
                        f"a kernel of {k} with stride {s} leaves gaps. Received: padding='same', "
                        f"kernel={args['kernel']!r}, stride={args['stride']!r}. Use a kernel of at "
                        f"least {s}, or padding: valid.", "padding")
        groups = at.integer(args, "groups")
        if out["filters"] % groups:
            raise at.error(
                f"filters must be divisible by groups. Received: filters={out['filters']}, "
                f"groups={groups}. Use a multiple of {groups} filters.", "groups")
        mode = bias_mode(args, at)
        if mode == "untied":
            raise at.error(
                "conv_transpose supports bias: shared or none. Received: bias='untied'. "
                "Use bias: shared.", "bias")
        out.update(output_padding=collapse(output_padding), groups=groups, bias=mode)
        return {key: out[key] for key in self.keys}

    def _resolve(self, args, shape):
        n = len(shape) - 1
        kernel, stride, dilation = dims(args["kernel"], n), dims(args["stride"], n), dims(args["dilation"], n)
        pairs = transpose_padding(padding_of(args, n), tuple(shape[1:]), kernel, stride, dilation, None)
        return kernel, stride, dilation, pairs, dims(args["output_padding"], n)

    def output_shape(self, args, shape, at):
        check_channels(at, shape[0], args)
        kernel, stride, dilation, pairs, output_padding = self._resolve(args, shape)
        out = []
        for axis, (w, k, s, d, (lo, hi), op) in enumerate(
                zip(shape[1:], kernel, stride, dilation, pairs, output_padding)):
            size = (w - 1) * s - lo - hi + shapes.effective_kernel(k, d) + op
            if size < 1:
                raise at.error(
                    f"padding {args['padding']!r} removes {lo}+{hi} from an output of only "
                    f"{size + lo + hi} along spatial dimension {axis} (input "
                    f"{format_spatial(shape[1:])} from {at.came_from}). Received: "
                    f"padding={args['padding']!r}. Use less padding or a larger kernel.", "padding")
            out.append(size)
        return (args["filters"], *out)

    def geometry(self, args, shape, geometry):
        kernel, stride, dilation, pairs, _ = self._resolve(args, shape)
        return shapes.compose_transpose_geometry(geometry, kernel, stride, dilation,
                                                 [lo for lo, _ in pairs])

    def params(self, args, shape, out):
        kernel = dims(args["kernel"], len(shape) - 1)
        return (shape[0] * (args["filters"] // args["groups"]) * math.prod(kernel)
                + (args["filters"] if args["bias"] == "shared" else 0))

    def flops(self, args, shape, out):
        # Every input value meets every kernel tap of the filters of its group.
        kernel = dims(args["kernel"], len(shape) - 1)
        return math.prod(shape) * (args["filters"] // args["groups"]) * math.prod(kernel)

    def build(self, args, shape):
        n = len(shape) - 1
        kernel, stride, dilation = dims(args["kernel"], n), dims(args["stride"], n), dims(args["dilation"], n)
        return _CONV_T[n](shape[0], args["filters"], kernel, stride, padding_of(args, n),
                          dims(args["output_padding"], n), dilation, args["groups"], args["bias"])

    def unbuild(self, module):
        return {"filters": module.out_channels, "kernel": list(module.kernel_size),
                "stride": list(module.stride), "padding": plain_padding(module.padding),
                "output_padding": list(module.output_padding), "dilation": list(module.dilation),
                "groups": module.groups, "bias": module.bias_mode}

    def describe(self, args):
        return describe_window("conv_transpose", args)


@register_layer
class SeparableConvRule(LayerRule):
    """``separable_conv``: depthwise then pointwise convolution."""

    name = "separable_conv"
    keys = {"filters": REQUIRED, "kernel": REQUIRED, "stride": 1, "padding": "valid",
            "dilation": 1, "depth_multiplier": 1, "bias": "shared", "padding_mode": "zeros"}
    shorthand = "filters"
    modules = (SeparableConv,)
    activation = True
    check_only = ("in_channels",)
    description = "depthwise-separable convolution (per-channel filters, then 1x1)"

    def check(self, args, at):
        out = check_common(args, at)
        out.update(depth_multiplier=at.integer(args, "depth_multiplier"),
                   bias=bias_mode(args, at, ("shared", "none")),
                   padding_mode=at.choice(args, "padding_mode", PADDING_MODES))
        return out

    output_shape = ConvRule.output_shape
    geometry = ConvRule.geometry
    _window = ConvRule._window

    def params(self, args, shape, out):
        kernel = dims(args["kernel"], len(shape) - 1)
        middle = shape[0] * args["depth_multiplier"]
        return (middle * math.prod(kernel) + middle * args["filters"]
                + (args["filters"] if args["bias"] == "shared" else 0))

    def flops(self, args, shape, out):
        kernel = dims(args["kernel"], len(shape) - 1)
        middle = shape[0] * args["depth_multiplier"]
        return math.prod(out[1:]) * middle * (math.prod(kernel) + args["filters"])

    def build(self, args, shape):
        n = len(shape) - 1
        kernel, stride, padding, dilation = self._window(args, shape)
        return _SEPARABLE[n](shape[0], args["filters"], kernel, stride, padding, dilation,
                             args["depth_multiplier"], args["bias"], args["padding_mode"])

    def unbuild(self, module):
        return {"filters": module.out_channels, "kernel": list(module.kernel_size),
                "stride": list(module.stride), "padding": plain_padding(module.padding),
                "dilation": list(module.dilation), "depth_multiplier": module.depth_multiplier,
                "bias": module.bias_mode, "padding_mode": module.padding_mode}

    def describe(self, args):
        return describe_window("separable_conv", args)
