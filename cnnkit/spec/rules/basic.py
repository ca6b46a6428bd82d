"""Spec rules of activations, dense, flatten, dropout and normalisation."""

from __future__ import annotations

import math

from ...functional import shapes
from ...layers.activation import GELU, AbsTanh, Activation, LeakyReLU, ReLU, Sigmoid, Tanh
from ...layers.dense import Dense, Flatten
from ...layers.dropout import Dropout
from ...layers.norm import BatchNorm, LocalResponseNorm
from .._catalogue import REQUIRED, LayerRule, register_layer

__all__ = ["ActivationRule"]


class ActivationRule(LayerRule):
    """An element-wise nonlinearity; ``activation: <name>`` on another layer desugars to it."""

    takes = "any"
    is_activation = True
    modules = (Activation,)
    module = ReLU

    def matches(self, module):
        return getattr(module, "name", None) == self.name

    def build(self, args, shape):
        return self.module(**args)

    def unbuild(self, module):
        return {key: getattr(module, key, default) for key, default in self.keys.items()}


@register_layer
class ReLURule(ActivationRule):
    name, module, description = "relu", ReLU, "max(0, x)"


@register_layer
class TanhRule(ActivationRule):
    name, module, description = "tanh", Tanh, "hyperbolic tangent"


@register_layer
class AbsTanhRule(ActivationRule):
    name, module, description = "abs_tanh", AbsTanh, "|tanh(x)|"


@register_layer
class SigmoidRule(ActivationRule):
    name, module, description = "sigmoid", Sigmoid, "logistic sigmoid"


@register_layer
class LeakyReLURule(ActivationRule):
    name, module, description = "leaky_relu", LeakyReLU, "x if x >= 0 else negative_slope * x"
    keys = {"negative_slope": 0.01}
    shorthand = "negative_slope"

    def check(self, args, at):
        return {"negative_slope": at.number(args, "negative_slope")}


@register_layer
class GELURule(ActivationRule):
    name, module, description = "gelu", GELU, "Gaussian error linear unit"
    keys = {"approximate": "none"}
    shorthand = "approximate"

    def check(self, args, at):
        return {"approximate": at.choice(args, "approximate", ("none", "tanh"))}


@register_layer
class DenseRule(LayerRule):
    """``dense``: fully connected; ``in_features`` is inferred (written, it is checked)."""

    name = "dense"
    keys = {"units": REQUIRED, "bias": True}
    shorthand = "units"
    modules = (Dense,)
    activation = True
    check_only = ("in_features",)
    takes = "flat"
    description = "fully connected layer"

    def check(self, args, at):
        return {"units": at.integer(args, "units"), "bias": at.flag(args, "bias")}

    def output_shape(self, args, shape, at):
        written = args.get("in_features")
        if written is not None and written != shape[0]:
            raise at.error(
                f"in_features {written!r} does not match the {shape[0]} features coming from "
                f"{at.came_from}. Received: in_features={written!r}. Leave in_features out (the "
                f"spec infers it), or change the layers before to give {written} features.",
                "in_features")
        return (args["units"],)

    def params(self, args, shape, out):
        return shape[0] * args["units"] + (args["units"] if args["bias"] else 0)

    def flops(self, args, shape, out):
        return shape[0] * args["units"]

    def sized(self, args):
        return True

    def build(self, args, shape):
        return Dense(shape[0], args["units"], args["bias"])

    def unbuild(self, module):
        return {"units": module.units, "bias": module.bias is not None}


@register_layer
class FlattenRule(LayerRule):
    """``flatten``: a volume ``(C, *S)`` -> ``C * prod(S)`` features."""

    name = "flatten"
    takes = "any"
    modules = (Flatten,)
    description = "flatten a volume into a vector of features"

    def output_shape(self, args, shape, at):
        return (math.prod(shape),)

    def geometry(self, args, shape, geometry):
        # The vector as a whole sees every position of the volume.
        spatial = tuple(shape[1:])
        if not spatial:
            return geometry
        ones = (1,) * len(spatial)
        return shapes.compose_geometry(geometry, spatial, ones, ones, (0,) * len(spatial))

    def build(self, args, shape):
        return Flatten()

    def unbuild(self, module):
        return {}


@register_layer
class DropoutRule(LayerRule):
    """``dropout: 0.5``: drop units (or whole channels) with probability ``rate``."""

    name = "dropout"
    keys = {"rate": 0.5, "channelwise": False}
    shorthand = "rate"
    takes = "any"
    modules = (Dropout,)
    description = "dropout (inverted: no change at inference)"

    def check(self, args, at):
        return {"rate": at.number(args, "rate", 0, 1, open_high=True,
                                  what="the probability of dropping a unit"),
                "channelwise": at.flag(args, "channelwise")}

    def build(self, args, shape):
        return Dropout(args["rate"], args["channelwise"])

    def unbuild(self, module):
        return {"rate": module.rate, "channelwise": module.channelwise}


@register_layer
class BatchNormRule(LayerRule):
    """``batchnorm``: per-channel normalisation with batch statistics."""

    name = "batchnorm"
    keys = {"eps": 1e-5, "momentum": 0.1, "affine": True}
    takes = "any"
    modules = (BatchNorm,)
    description = "batch normalisation (channels of a volume, or features)"

    def check(self, args, at):
        return {"eps": at.number(args, "eps", 0, None, open_low=True),
                "momentum": at.number(args, "momentum", 0, 1),
                "affine": at.flag(args, "affine")}

    def params(self, args, shape, out):
        return 2 * shape[0] if args["affine"] else 0

    def build(self, args, shape):
        return BatchNorm(shape[0], args["eps"], args["momentum"], args["affine"])

    def unbuild(self, module):
        return {"eps": module.eps, "momentum": module.momentum, "affine": module.affine}


@register_layer
class LocalResponseNormRule(LayerRule):
    """``lrn``: local response normalisation across channels (AlexNet)."""

    name = "lrn"
    keys = {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}
    shorthand = "size"
    modules = (LocalResponseNorm,)
    description = "local response normalisation across channels"

    def check(self, args, at):
        return {"size": at.integer(args, "size"), "alpha": at.number(args, "alpha"),
                "beta": at.number(args, "beta", 0, None), "k": at.number(args, "k")}

    def build(self, args, shape):
        return LocalResponseNorm(**args)

    def unbuild(self, module):
        return {key: getattr(module, key) for key in self.keys}
