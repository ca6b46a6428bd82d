"""Spec rules of the unshared, tiled, FFT and separable-kernel convolutions:
``locally_connected`` (alias ``local``), ``locally_connected_transpose``, ``tiled_conv``,
``fft_conv`` and ``separable_kernel_conv``.
"""

from __future__ import annotations

import math

from ...functional import shapes
from ...functional.conv import PADDING_MODES
from ...functional.fft import ALGORITHMS
from ...layers.fft import FFTConv, FFTConv1d, FFTConv2d, FFTConv3d
from ...layers.local import (LocallyConnected, LocallyConnected1d, LocallyConnected2d,
                             LocallyConnected3d, LocallyConnectedTranspose,
                             LocallyConnectedTranspose1d, LocallyConnectedTranspose2d,
                             LocallyConnectedTranspose3d, TiledConv, TiledConv1d, TiledConv2d,
                             TiledConv3d)
from ...layers.separable_kernel import (SeparableKernelConv, SeparableKernelConv1d,
                                        SeparableKernelConv2d, SeparableKernelConv3d)
from .._catalogue import REQUIRED, LayerRule, collapse, plain_padding, register_layer
from .conv import (ConvRule, check_channels, check_common, check_output_padding,
                   check_padding_mode, describe_window, dims, padding_of)

__all__ = ["FFTConvRule", "LocallyConnectedRule", "LocallyConnectedTransposeRule",
           "SeparableKernelConvRule", "TiledConvRule"]

_LOCAL = {1: LocallyConnected1d, 2: LocallyConnected2d, 3: LocallyConnected3d}
_LOCAL_T = {1: LocallyConnectedTranspose1d, 2: LocallyConnectedTranspose2d,
            3: LocallyConnectedTranspose3d}
_TILED = {1: TiledConv1d, 2: TiledConv2d, 3: TiledConv3d}
_FFT = {1: FFTConv1d, 2: FFTConv2d, 3: FFTConv3d}
_SEPARABLE = {1: SeparableKernelConv1d, 2: SeparableKernelConv2d, 3: SeparableKernelConv3d}


def _check_groups(out: dict, args, at) -> int:
    groups = at.integer(args, "groups")
    if out["filters"] % groups:
        raise at.error(
            f"filters must be divisible by groups. Received: filters={out['filters']}, "
            f"groups={groups}. Use a multiple of {groups} filters, or groups that divides "
            f"{out['filters']}.", "groups")
    return groups


class _WindowRule(LayerRule):
    """Shared by the rules below: the window of a convolution (kernel, stride, padding,
    dilation), its output size and receptive field."""

    shorthand = "filters"
    activation = True
    check_only = ("in_channels",)

    _window = ConvRule._window

    def output_shape(self, args, shape, at):
        check_channels(at, shape[0], args)
        kernel, stride, padding, dilation = self._window(args, shape)
        spatial = at.window(shape[1:], kernel, stride, padding, dilation)
        pairs = shapes.padding_pairs(padding, kernel, stride, dilation, shape[1:])
        check_padding_mode(at, args, shape[1:], pairs)
        return (args["filters"], *spatial)

    geometry = ConvRule.geometry

    def describe(self, args):
        return describe_window(self.name, args)


@register_layer
class LocallyConnectedRule(_WindowRule):
    """``locally_connected`` (alias ``local``): unshared convolution, Goodfellow et al. 2016,
    eq. 9.9."""

    name = "locally_connected"
    aliases = ("local",)
    keys = {"filters": REQUIRED, "kernel": REQUIRED, "stride": 1, "padding": "valid",
            "dilation": 1, "groups": 1, "bias": True, "padding_mode": "zeros"}
    modules = (LocallyConnected,)
    description = "convolution without weight sharing: a kernel and a bias per location (eq 9.9)"

    def check(self, args, at):
        out = check_common(args, at)
        out.update(groups=_check_groups(out, args, at), bias=at.flag(args, "bias"),
                   padding_mode=at.choice(args, "padding_mode", PADDING_MODES))
        return out

    def params(self, args, shape, out):
        kernel = dims(args["kernel"], len(shape) - 1)
        return shapes.locally_connected_params(shape[0], args["filters"], kernel, out[1:],
                                                     args["groups"], args["bias"])

    def flops(self, args, shape, out):
        kernel = dims(args["kernel"], len(shape) - 1)
        return shapes.locally_connected_flops(shape[0], args["filters"], kernel, out[1:],
                                                    args["groups"])

    def sized(self, args):
        return True

    def build(self, args, shape):
        n = len(shape) - 1
        kernel, stride, padding, dilation = self._window(args, shape)
        return _LOCAL[n](shape[0], args["filters"], kernel, tuple(shape[1:]), stride, padding,
                         dilation, args["groups"], args["bias"], args["padding_mode"])

    def unbuild(self, module):
        return {"filters": module.out_channels, "kernel": list(module.kernel_size),
                "stride": list(module.stride), "padding": plain_padding(module.padding),
                "dilation": list(module.dilation), "groups": module.groups,
                "bias": module.bias is not None, "padding_mode": module.padding_mode}


@register_layer
class LocallyConnectedTransposeRule(LayerRule):
    """``locally_connected_transpose``: the adjoint of a locally connected layer."""

    name = "locally_connected_transpose"
    keys = {"filters": REQUIRED, "kernel": REQUIRED, "stride": 1, "padding": "valid",
            "output_padding": 0, "dilation": 1, "groups": 1, "bias": True}
    shorthand = "filters"
    modules = (LocallyConnectedTranspose,)
    activation = True
    check_only = ("in_channels",)
    description = "transpose of a locally connected layer (upsampling, a kernel per location)"

    def check(self, args, at):
        out = check_common(args, at)
        output_padding = check_output_padding(args, at)
        out.update(output_padding=collapse(output_padding), groups=_check_groups(out, args, at),
                   bias=at.flag(args, "bias"))
        return {key: out[key] for key in self.keys}

    def _sizes(self, args, shape):
        n = len(shape) - 1
        kernel, stride, dilation = (dims(args[key], n) for key in ("kernel", "stride", "dilation"))
        padding = padding_of(args, n)
        smallest, _ = shapes.locally_connected_transpose_sizes(
            shape[1:], kernel, stride, padding, dilation)
        target = tuple(m + op for m, op in zip(smallest, dims(args["output_padding"], n)))
        return shapes.locally_connected_transpose_sizes(shape[1:], kernel, stride, padding,
                                                              dilation, target)

    def output_shape(self, args, shape, at):
        check_channels(at, shape[0], args)
        size, _ = self._sizes(args, shape)  # a ShapeError becomes a SpecError at this path
        return (args["filters"], *size)

    def geometry(self, args, shape, geometry):
        n = len(shape) - 1
        _, pairs = self._sizes(args, shape)
        return shapes.compose_transpose_geometry(
            geometry, dims(args["kernel"], n), dims(args["stride"], n), dims(args["dilation"], n),
            [lo for lo, _ in pairs])

    def params(self, args, shape, out):
        kernel = dims(args["kernel"], len(shape) - 1)
        weights = shapes.locally_connected_params(args["filters"], shape[0], kernel,
                                                        shape[1:], args["groups"], bias=False)
        return weights + (math.prod(out) if args["bias"] else 0)

    def flops(self, args, shape, out):
        kernel = dims(args["kernel"], len(shape) - 1)
        return shapes.locally_connected_flops(args["filters"], shape[0], kernel, shape[1:],
                                                    args["groups"])

    def sized(self, args):
        return True

    def build(self, args, shape):
        n = len(shape) - 1
        return _LOCAL_T[n](shape[0], args["filters"], dims(args["kernel"], n), tuple(shape[1:]),
                           dims(args["stride"], n), padding_of(args, n),
                           dims(args["output_padding"], n), dims(args["dilation"], n),
                           args["groups"], args["bias"])

    def unbuild(self, module):
        return {"filters": module.out_channels, "kernel": list(module.kernel_size),
                "stride": list(module.stride), "padding": plain_padding(module.padding),
                "output_padding": list(module.output_padding), "dilation": list(module.dilation),
                "groups": module.groups, "bias": module.bias is not None}

    def describe(self, args):
        return describe_window(self.name, args)


@register_layer
class TiledConvRule(_WindowRule):
    """``tiled_conv``: ``tiles`` kernel stacks cycled per dimension (eq 9.10)."""

    name = "tiled_conv"
    keys = {"filters": REQUIRED, "kernel": REQUIRED, "tiles": 2, "stride": 1, "padding": "valid",
            "dilation": 1, "groups": 1, "bias": True, "padding_mode": "zeros"}
    modules = (TiledConv,)
    description = "tiled convolution: t kernel stacks cycled through per dimension (eq 9.10)"

    def check(self, args, at):
        out = check_common(args, at)
        out.update(tiles=collapse(at.per_dim(args, "tiles")), groups=_check_groups(out, args, at),
                   bias=at.flag(args, "bias"),
                   padding_mode=at.choice(args, "padding_mode", PADDING_MODES))
        return {key: out[key] for key in self.keys}

    def output_shape(self, args, shape, at):
        out = super().output_shape(args, shape, at)
        shapes.check_tiles(dims(args["tiles"], len(shape) - 1), out[1:])
        return out

    def params(self, args, shape, out):
        n = len(shape) - 1
        return shapes.tiled_params(shape[0], args["filters"], dims(args["kernel"], n),
                                         dims(args["tiles"], n), args["groups"], args["bias"])

    def flops(self, args, shape, out):
        kernel = dims(args["kernel"], len(shape) - 1)
        return shapes.conv_flops(shape[0], out, kernel, args["groups"])

    def build(self, args, shape):
        n = len(shape) - 1
        kernel, stride, padding, dilation = self._window(args, shape)
        return _TILED[n](shape[0], args["filters"], kernel, dims(args["tiles"], n), stride, padding,
                         dilation, args["groups"], args["bias"], args["padding_mode"])

    def unbuild(self, module):
        return {"filters": module.out_channels, "kernel": list(module.kernel_size),
                "tiles": list(module.tiles), "stride": list(module.stride),
                "padding": plain_padding(module.padding), "dilation": list(module.dilation),
                "groups": module.groups, "bias": module.bias is not None,
                "padding_mode": module.padding_mode}


@register_layer
class FFTConvRule(ConvRule):
    """``fft_conv``: a ``conv`` computed through the FFT, directly, or the faster of the two."""

    name = "fft_conv"
    keys = {**ConvRule.keys, "algorithm": "fft"}
    modules = (FFTConv,)
    description = "convolution computed by FFT (algorithm: fft, direct or auto; section 9.8)"

    def check(self, args, at):
        return {**super().check(args, at), "algorithm": at.choice(args, "algorithm", ALGORITHMS)}

    def build(self, args, shape):
        n = len(shape) - 1
        kernel, stride, padding, dilation = self._window(args, shape)
        untied = args["bias"] == "untied"
        return _FFT[n](shape[0], args["filters"], kernel, stride, padding, dilation,
                       args["groups"], args["bias"], args["padding_mode"], args["flip"],
                       tuple(shape[1:]) if untied else None, args["algorithm"])

    def unbuild(self, module):
        return {**super().unbuild(module), "algorithm": module.algorithm}

    def describe(self, args):
        return describe_window(self.name, args)


@register_layer
class SeparableKernelConvRule(_WindowRule):
    """``separable_kernel_conv``: kernels that are sums of ``rank`` outer products of 1-D
    vectors, run as one-dimensional passes (section 9.8)."""

    name = "separable_kernel_conv"
    keys = {"filters": REQUIRED, "kernel": REQUIRED, "rank": 1, "stride": 1, "padding": "valid",
            "dilation": 1, "groups": 1, "bias": True, "padding_mode": "zeros", "flip": False,
            "assemble": False}
    modules = (SeparableKernelConv,)
    description = "convolution with rank-r separable kernels (d one-dimensional passes)"

    def check(self, args, at):
        out = check_common(args, at)
        out.update(rank=at.integer(args, "rank"), groups=_check_groups(out, args, at),
                   bias=at.flag(args, "bias"),
                   padding_mode=at.choice(args, "padding_mode", PADDING_MODES),
                   flip=at.flag(args, "flip"), assemble=at.flag(args, "assemble"))
        return {key: out[key] for key in self.keys}

    def params(self, args, shape, out):
        kernel = dims(args["kernel"], len(shape) - 1)
        return shapes.separable_kernel_params(shape[0], args["filters"], kernel, args["rank"],
                                                    args["groups"], args["bias"])

    def flops(self, args, shape, out):
        kernel = dims(args["kernel"], len(shape) - 1)
        return shapes.separable_kernel_flops(shape[0], args["filters"], kernel, args["rank"],
                                                   out[1:], args["groups"])

    def build(self, args, shape):
        n = len(shape) - 1
        kernel, stride, padding, dilation = self._window(args, shape)
        return _SEPARABLE[n](shape[0], args["filters"], kernel, args["rank"], stride, padding,
                             dilation, args["groups"], args["bias"], args["padding_mode"],
                             args["flip"], args["assemble"])

    def unbuild(self, module):
        return {"filters": module.out_channels, "kernel": list(module.kernel_size),
                "rank": module.rank, "stride": list(module.stride),
                "padding": plain_padding(module.padding), "dilation": list(module.dilation),
                "groups": module.groups, "bias": module.bias is not None,
                "padding_mode": module.padding_mode, "flip": module.flip,
                "assemble": module.assemble}
