"""Spec rules of DropConnect and the special poolings: stochastic, fractional max, channel
(maxout) and spatial pyramid pooling.

RoI pooling takes boxes besides the feature maps, so it has no place in a sequential spec;
use :class:`cnnkit.layers.RoIMaxPool` (or :func:`cnnkit.functional.roi_max_pool`) in code.
"""

from __future__ import annotations

import math

from ...functional import shapes
from ...functional.activation import ACTIVATIONS
from ...functional.channel_pool import CHANNEL_POOL_MODES
from ...functional.dropconnect import DROPCONNECT_INFERENCE, DROPCONNECT_PER
from ...functional.pyramid_pool import PYRAMID_MODES
from ...layers.dropconnect import (DropConnectConv, DropConnectConv1d, DropConnectConv2d,
                                   DropConnectConv3d, DropConnectDense)
from ...layers.special_pool import (ChannelPool, FractionalMaxPool, Maxout, SpatialPyramidPool,
                                    StochasticPool)
from ..._validation import ArgumentError, ShapeError
from .._catalogue import REQUIRED, LayerRule, collapse, register_layer
from .basic import DenseRule
from .conv import ConvRule, describe_window, dims
from .pool import WindowPoolRule

__all__ = ["ChannelPoolRule", "DropConnectConvRule", "DropConnectDenseRule",
           "FractionalMaxPoolRule", "MaxoutRule", "SpatialPyramidPoolRule", "StochasticPoolRule"]

# DropConnect settings; ``inner_activation`` is applied inside the layer (the Gaussian
# inference rule averages after it), unlike ``activation:``, which becomes its own layer.
_DROPCONNECT_KEYS = {"p": 0.5, "per": "example", "inference": "mean", "samples": 100,
                     "inner_activation": None}


def _check_dropconnect(args, at) -> dict:
    inner = args["inner_activation"]
    return {"p": at.number(args, "p", 0, 1, open_high=True,
                           what="the probability of dropping a weight"),
            "per": at.choice(args, "per", DROPCONNECT_PER),
            "inference": at.choice(args, "inference", DROPCONNECT_INFERENCE),
            "samples": at.integer(args, "samples"),
            "inner_activation": None if inner in (None, "none") else
            at.choice(args, "inner_activation", tuple(ACTIVATIONS))}


def _dropconnect_settings(module) -> dict:
    return {"p": module.p, "per": module.per, "inference": module.inference,
            "samples": module.samples, "inner_activation": module.activation}


def _layer_args(args) -> dict:
    return {key: args[key] for key in ("p", "per", "inference", "samples")} | {
        "activation": args["inner_activation"]}


@register_layer
class DropConnectDenseRule(DenseRule):
    """``dropconnect_dense``: a dense layer whose weights are dropped in training."""

    name = "dropconnect_dense"
    keys = {**DenseRule.keys, **_DROPCONNECT_KEYS}
    modules = (DropConnectDense,)
    description = "fully connected layer with DropConnect (Wan et al. 2013)"

    def check(self, args, at):
        return {**super().check(args, at), **_check_dropconnect(args, at)}

    def build(self, args, shape):
        return DropConnectDense(shape[0], args["units"], args["bias"], **_layer_args(args))

    def unbuild(self, module):
        return {**super().unbuild(module), **_dropconnect_settings(module)}


@register_layer
class DropConnectConvRule(ConvRule):
    """``dropconnect_conv``: a convolution whose kernel weights are dropped in training."""

    name = "dropconnect_conv"
    keys = {**ConvRule.keys, **_DROPCONNECT_KEYS}
    modules = (DropConnectConv,)
    description = "convolution with DropConnect on the kernel weights"

    def check(self, args, at):
        return {**super().check(args, at), **_check_dropconnect(args, at)}

    def build(self, args, shape):
        n = len(shape) - 1
        kernel, stride, padding, dilation = self._window(args, shape)
        untied = args["bias"] == "untied"
        layer = {1: DropConnectConv1d, 2: DropConnectConv2d, 3: DropConnectConv3d}[n]
        return layer(shape[0], args["filters"], kernel, stride, padding, dilation, args["groups"],
                     args["bias"], args["padding_mode"], args["flip"],
                     tuple(shape[1:]) if untied else None, **_layer_args(args))

    def unbuild(self, module):
        return {**super().unbuild(module), **_dropconnect_settings(module)}

    def describe(self, args):
        return describe_window(self.name, args)


@register_layer
class StochasticPoolRule(WindowPoolRule):
    name = "stochastic_pool"
    modules = (StochasticPool,)
    module = StochasticPool
    description = "stochastic pooling (Zeiler and Fergus 2013); inputs must be non-negative"


@register_layer
class FractionalMaxPoolRule(LayerRule):
    """``fractional_maxpool: 1.414``: shrink by a ratio in (1, 2) (Graham 2014)."""

    name = "fractional_maxpool"
    keys = {"ratio": None, "output_size": None, "overlapping": False, "pseudo_random": True}
    shorthand = "ratio"
    modules = (FractionalMaxPool,)
    description = "fractional max pooling (Graham 2014), random regions"

    def check(self, args, at):
        ratio, output_size = args["ratio"], args["output_size"]
        if (ratio is None) == (output_size is None):
            raise at.error(
                "fractional_maxpool needs exactly one of ratio and output_size. Received: "
                f"ratio={ratio!r}, output_size={output_size!r}. Write e.g. "
                "`fractional_maxpool: 1.414`.", "ratio")
        if ratio is not None:
            try:
                ratio = collapse(shapes.check_pool_ratio(ratio, at.rank))
            except ArgumentError as error:
                raise at.error(str(error), "ratio") from None
        else:
            output_size = collapse(at.per_dim(args, "output_size"))
        return {"ratio": ratio, "output_size": output_size,
                "overlapping": at.flag(args, "overlapping"),
                "pseudo_random": at.flag(args, "pseudo_random")}

    def output_shape(self, args, shape, at):
        at.need_volume(shape, "fractional_maxpool")
        n = len(shape) - 1
        ratio = None if args["ratio"] is None else (
            tuple(args["ratio"]) if isinstance(args["ratio"], list) else args["ratio"])
        size = None if args["output_size"] is None else dims(args["output_size"], n)
        try:
            spatial = shapes.fractional_pool_output_shape(shape[1:], ratio, size,
                                                               args["overlapping"])
        except ShapeError as error:
            raise at.error(f"{error} The input comes from {at.came_from}.",
                           "output_size" if size else "ratio") from None
        return (shape[0], *spatial)

    def geometry(self, args, shape, geometry):
        return None  # random regions: no regular grid

    def build(self, args, shape):
        n = len(shape) - 1
        ratio = args["ratio"]
        return FractionalMaxPool(tuple(ratio) if isinstance(ratio, list) else ratio,
                                 None if args["output_size"] is None else dims(args["output_size"], n),
                                 args["overlapping"], args["pseudo_random"], dims=n)

    def unbuild(self, module):
        return {"ratio": None if module.ratio is None else collapse(module.ratio),
                "output_size": None if module.output_size is None else collapse(module.output_size),
                "overlapping": module.overlapping, "pseudo_random": module.pseudo_random}


@register_layer
class ChannelPoolRule(LayerRule):
    """``channel_pool: 4``: pool groups of ``k`` consecutive channels (Goodfellow et al.
    2016, fig. 9.9)."""

    name = "channel_pool"
    keys = {"k": REQUIRED, "mode": "max", "p": 2.0}
    shorthand = "k"
    takes = "any"
    modules = (ChannelPool,)
    description = "pooling across groups of k channels: max (maxout), avg or Lp"

    def check(self, args, at):
        out = {"k": at.integer(args, "k")}
        if "mode" in self.keys:
            out["mode"] = at.choice(args, "mode", CHANNEL_POOL_MODES)
            out["p"] = at.number(args, "p", 0, None, open_low=True, what="p = 2 is the L2 norm")
        return out

    def output_shape(self, args, shape, at):
        try:
            channels = shapes.channel_pool_output_channels(shape[0], args["k"])
        except ShapeError as error:
            raise at.error(f"{error} The channels come from {at.came_from}.", "k") from None
        return (channels, *shape[1:])

    def build(self, args, shape):
        return ChannelPool(args["k"], args["mode"], args["p"])

    def unbuild(self, module):
        return {"k": module.k, "mode": module.mode, "p": module.p}


@register_layer
class MaxoutRule(ChannelPoolRule):
    """``maxout: 4``: the maximum of each group of ``k`` channels (Goodfellow et al. 2013)."""

    name = "maxout"
    keys = {"k": REQUIRED}
    modules = (Maxout,)
    description = "maxout units: the maximum over groups of k channels"

    def build(self, args, shape):
        return Maxout(args["k"])

    def unbuild(self, module):
        return {"k": module.k}


@register_layer
class SpatialPyramidPoolRule(LayerRule):
    """``spatial_pyramid_pool: [1, 2, 4]``: a fixed-length vector from any input size."""

    name = "spatial_pyramid_pool"
    aliases = ("spp",)
    keys = {"levels": [1, 2, 4], "mode": "max"}
    shorthand = "levels"
    modules = (SpatialPyramidPool,)
    description = "spatial pyramid pooling (He et al. 2014): C * sum(l^d) features"

    def check(self, args, at):
        try:
            levels = shapes.normalize_levels(args["levels"], at.rank)
        except (ArgumentError, TypeError) as error:
            raise at.error(str(error), "levels") from None
        return {"levels": [collapse(level) for level in levels],
                "mode": at.choice(args, "mode", PYRAMID_MODES)}

    def _levels(self, args, n):
        return [dims(level, n) for level in args["levels"]]

    def output_shape(self, args, shape, at):
        at.need_volume(shape, "spatial_pyramid_pool")
        n = len(shape) - 1
        return (shapes.pyramid_pool_features(shape[0], self._levels(args, n), n),)

    def geometry(self, args, shape, geometry):
        # The coarsest level (usually 1 bin) sees the whole volume, as a flatten does.
        spatial = tuple(shape[1:])
        ones = (1,) * len(spatial)
        return shapes.compose_geometry(geometry, spatial, ones, ones, (0,) * len(spatial))

    def build(self, args, shape):
        n = len(shape) - 1
        return SpatialPyramidPool(self._levels(args, n), args["mode"], dims=n)

    def unbuild(self, module):
        levels = [collapse(level) for level in module.levels]
        return {"levels": levels, "mode": module.mode}

    def flops(self, args, shape, out):
        # One comparison (or addition) per input value and level.
        return math.prod(shape) * len(args["levels"])
