"""Spec rules of pooling: windowed (max, avg, Lp), global and adaptive."""

from __future__ import annotations

from ...functional import shapes
from ...layers.pool import (AdaptiveAvgPool, AdaptiveMaxPool, AvgPool, GlobalAvgPool,
                            GlobalLpPool, GlobalMaxPool, LpPool, MaxPool)
from .._catalogue import REQUIRED, LayerRule, collapse, plain_padding, register_layer
from .conv import describe_window, dims, padding_of

__all__ = ["AdaptivePoolRule", "GlobalPoolRule", "WindowPoolRule"]


class WindowPoolRule(LayerRule):
    """Sliding-window pooling: ``size`` (alias ``kernel``), ``stride`` (default: size)."""

    keys = {"size": REQUIRED, "stride": None, "padding": "valid", "dilation": 1,
            "ceil_mode": False}
    key_aliases = {"kernel": "size"}
    shorthand = "size"
    module = MaxPool

    def check(self, args, at):
        size = at.per_dim(args, "size")
        stride = size if args["stride"] is None else at.per_dim(args, "stride")
        out = {"size": collapse(size), "stride": collapse(stride),
               "padding": plain_padding(at.padding(args)),
               "dilation": collapse(at.per_dim(args, "dilation")),
               "ceil_mode": at.flag(args, "ceil_mode")}
        for key in self.keys:
            if key not in out:
                out[key] = self.check_extra(args, key, at)
        return {key: out[key] for key in self.keys}

    def check_extra(self, args, key, at):
        """Check a key a pooling subclass adds to the common window keys."""
        raise TypeError(f"{type(self).__name__} lists the key {key!r} but does not check it: "
                        "define check_extra() for it.")

    def compact(self, args):
        out = super().compact(args)
        if out.get("stride") == args["size"]:
            del out["stride"]
        return out

    def _window(self, args, shape):
        n = len(shape) - 1
        return (dims(args["size"], n), dims(args["stride"], n), padding_of(args, n),
                dims(args["dilation"], n))

    def output_shape(self, args, shape, at):
        size, stride, padding, dilation = self._window(args, shape)
        spatial = at.window(shape[1:], size, stride, padding, dilation, key="size",
                            ceil_mode=args["ceil_mode"])
        return (shape[0], *spatial)

    def geometry(self, args, shape, geometry):
        size, stride, padding, dilation = self._window(args, shape)
        pairs = shapes.padding_pairs(padding, size, stride, dilation, shape[1:])
        return shapes.compose_geometry(geometry, size, stride, dilation, [lo for lo, _ in pairs])

    def build(self, args, shape):
        size, stride, padding, dilation = self._window(args, shape)
        extra = {key: args[key] for key in self.keys if key not in WindowPoolRule.keys}
        stride = None if stride == size else stride  # the layers' default: the window size
        return self.module(size, stride, padding, dilation, args["ceil_mode"], **extra,
                           dims=len(shape) - 1)

    def unbuild(self, module):
        out = {"size": list(module.kernel_size), "stride": list(module.effective_stride),
               "padding": plain_padding(module.padding), "dilation": list(module.dilation),
               "ceil_mode": module.ceil_mode}
        for key in self.keys:
            if key not in out:
                out[key] = getattr(module, key)
        return out

    def describe(self, args):
        return describe_window(self.name, args, "size")


@register_layer
class MaxPoolRule(WindowPoolRule):
    name = "maxpool"
    modules = (MaxPool,)
    module = MaxPool
    description = "max pooling (Goodfellow et al. 2016, section 9.3)"


@register_layer
class AvgPoolRule(WindowPoolRule):
    name = "avgpool"
    keys = {**WindowPoolRule.keys, "count_include_pad": False}
    modules = (AvgPool,)
    module = AvgPool
    description = "average pooling"

    def check_extra(self, args, key, at):
        return at.flag(args, key)


@register_layer
class LpPoolRule(WindowPoolRule):
    name = "lppool"
    keys = {**WindowPoolRule.keys, "p": 2.0}
    modules = (LpPool,)
    module = LpPool
    description = "Lp pooling (p = 2: the L2 norm of each window)"

    def check_extra(self, args, key, at):
        return at.number(args, key, 0, None, open_low=True, what="p = 2 is L2 pooling")


class GlobalPoolRule(LayerRule):
    """Pooling over every position: ``(C, *S)`` -> ``(C,)`` (``keepdim``: ``(C, 1, ...)``)."""

    keys = {"keepdim": False}
    module = GlobalMaxPool

    def check(self, args, at):
        out = {"keepdim": at.flag(args, "keepdim")}
        if "p" in self.keys:
            out = {"p": at.number(args, "p", 0, None, open_low=True), **out}
        return out

    def output_shape(self, args, shape, at):
        return (shape[0], *([1] * (len(shape) - 1))) if args["keepdim"] else (shape[0],)

    def geometry(self, args, shape, geometry):
        spatial = tuple(shape[1:])
        ones = (1,) * len(spatial)
        return shapes.compose_geometry(geometry, spatial, ones, ones, (0,) * len(spatial))

    def build(self, args, shape):
        return self.module(**args)

    def unbuild(self, module):
        return {key: getattr(module, key) for key in self.keys}


@register_layer
class GlobalMaxPoolRule(GlobalPoolRule):
    name = "global_maxpool"
    modules = (GlobalMaxPool,)
    module = GlobalMaxPool
    description = "maximum over all positions of each channel"


@register_layer
class GlobalAvgPoolRule(GlobalPoolRule):
    name = "global_avgpool"
    modules = (GlobalAvgPool,)
    module = GlobalAvgPool
    description = "mean over all positions of each channel"


@register_layer
class GlobalLpPoolRule(GlobalPoolRule):
    name = "global_lppool"
    keys = {"p": 2.0, "keepdim": False}
    shorthand = "p"
    modules = (GlobalLpPool,)
    module = GlobalLpPool
    description = "Lp norm over all positions of each channel"


class AdaptivePoolRule(LayerRule):
    """Pooling to a fixed ``output_size`` whatever the input size (Goodfellow et al. 2016,
    fig. 9.11)."""

    keys = {"output_size": REQUIRED}
    shorthand = "output_size"
    module = AdaptiveMaxPool

    def check(self, args, at):
        return {"output_size": collapse(at.per_dim(args, "output_size"))}

    def output_shape(self, args, shape, at):
        return (shape[0], *dims(args["output_size"], len(shape) - 1))

    def geometry(self, args, shape, geometry):
        # Windows [floor(i W / O), ceil((i + 1) W / O)) form a regular grid only when O | W.
        out = dims(args["output_size"], len(shape) - 1)
        if any(w % o for w, o in zip(shape[1:], out)):
            return None
        window = tuple(w // o for w, o in zip(shape[1:], out))
        return shapes.compose_geometry(geometry, window, window, (1,) * len(out), (0,) * len(out))

    def build(self, args, shape):
        return self.module(dims(args["output_size"], len(shape) - 1), dims=len(shape) - 1)

    def unbuild(self, module):
        return {"output_size": list(module.output_size)}


@register_layer
class AdaptiveMaxPoolRule(AdaptivePoolRule):
    name = "adaptive_maxpool"
    modules = (AdaptiveMaxPool,)
    module = AdaptiveMaxPool
    description = "max pooling to a fixed output size"


@register_layer
class AdaptiveAvgPoolRule(AdaptivePoolRule):
    name = "adaptive_avgpool"
    modules = (AdaptiveAvgPool,)
    module = AdaptiveAvgPool
    description = "average pooling to a fixed output size"
