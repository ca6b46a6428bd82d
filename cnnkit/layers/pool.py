"""Pooling layers in 1-D, 2-D and 3-D (the maths lives in cnnkit.functional.pool)."""

from __future__ import annotations

import torch  # noqa: F401  (the docstring examples use it)

from ..functional import pool as P
from ..functional import shapes
from ..functional.conv import check_input
from ._base import FROM_INPUT, Layer, SlidingWindow
from .kinds import Flag, Number, Padding, PerDim

__all__ = [
    "AdaptiveAvgPool", "AdaptiveMaxPool", "AvgPool", "GlobalAvgPool", "GlobalLpPool",
    "GlobalMaxPool", "LpPool", "MaxPool", "WindowPool",
]

P_NORM = Number(0, open_low=True, what="p = 2 is L2 pooling")


class WindowPool(SlidingWindow):
    """What sliding-window pooling shares: a window (``kernel``), a stride that defaults to
    the window, padding, dilation and ``ceil_mode``; the channels pass through."""

    kinds = {"kernel": PerDim(), "stride": PerDim(optional=True), "padding": Padding(),
             "dilation": PerDim(), "ceil_mode": Flag()}
    takes = "volume"

    def __init__(self, kernel, stride=None, padding=0, dilation=1, ceil_mode=False, *, dims=2):
        Layer.__init__(self, locals())

    @classmethod
    def check_together(cls, settings, source=None):
        if settings.get("stride") is None:
            settings["stride"] = settings["kernel"]

    @classmethod
    def default_of(cls, name, settings):
        return settings["kernel"] if name == "stride" else super().default_of(name, settings)

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        out = shapes.conv_output_shape(tuple(shape[1:]), settings["kernel"], settings["stride"],
                                       settings["padding"], settings["dilation"],
                                       ceil_mode=settings["ceil_mode"], source=source)
        return (shape[0], *out)

    def _check(self, x):
        if x.dim() != self.dims + 2:
            check_input(x, self.dims, None, type(self).__name__)


class MaxPool(WindowPool):
    """Max pooling layer (Goodfellow et al. 2016, section 9.3). See
    :func:`cnnkit.functional.max_pool`.

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *O)``, O as for a convolution with the same window.

    Example:
        >>> MaxPool(2)(torch.randn(1, 6, 28, 28)).shape
        torch.Size([1, 6, 14, 14])
    """

    def forward(self, x):
        self._check(x)
        return P.max_pool(x, self.kernel, self.stride, self.padding, self.dilation, self.ceil_mode)


class AvgPool(WindowPool):
    """Average pooling layer. See :func:`cnnkit.functional.avg_pool`.

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *O)``.

    Example:
        >>> AvgPool(2, dims=1)(torch.randn(1, 4, 10)).shape
        torch.Size([1, 4, 5])
    """

    kinds = {**WindowPool.kinds, "count_include_pad": Flag()}

    def __init__(self, kernel, stride=None, padding=0, dilation=1, ceil_mode=False,
                 count_include_pad=False, *, dims=2):
        Layer.__init__(self, locals())

    def forward(self, x):
        self._check(x)
        return P.avg_pool(x, self.kernel, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.count_include_pad)


class LpPool(WindowPool):
    """Lp pooling layer, L2 by default (Goodfellow et al. 2016, section 9.3). See
    :func:`cnnkit.functional.lp_pool`.

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *O)``.

    Example:
        >>> LpPool(2, p=2, dims=3)(torch.randn(1, 2, 4, 4, 4)).shape
        torch.Size([1, 2, 2, 2, 2])
    """

    kinds = {**WindowPool.kinds, "p": P_NORM}

    def __init__(self, kernel, stride=None, padding=0, dilation=1, ceil_mode=False, p=2.0, *,
                 dims=2):
        Layer.__init__(self, locals())

    def forward(self, x):
        self._check(x)
        return P.lp_pool(x, self.p, self.kernel, self.stride, self.padding, self.dilation,
                         self.ceil_mode)


class GlobalPool(Layer):
    """Pooling over every position: ``(C, *S)`` -> ``(C,)`` (``keepdim``: ``(C, 1, ...)``)."""

    kinds = {"keepdim": Flag()}
    takes = "volume"

    def __init__(self, keepdim=False):
        Layer.__init__(self, locals())

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        return (shape[0], *([1] * (len(shape) - 1))) if settings["keepdim"] else (shape[0],)

    @classmethod
    def receptive_field(cls, settings, shape, geometry):
        return shapes.whole_input_geometry(geometry, tuple(shape[1:]))



class GlobalMaxPool(GlobalPool):
    """Maximum over all positions of each channel.

    Shape:
        ``(N, C, *W)`` -> ``(N, C)`` (``keepdim``: ``(N, C, 1, ...)``).

    Example:
        >>> GlobalMaxPool()(torch.randn(2, 5, 7, 7)).shape
        torch.Size([2, 5])
    """

    def forward(self, x):
        return P.global_max_pool(x, self.keepdim)


class GlobalAvgPool(GlobalPool):
    """Mean over all positions of each channel.

    Shape:
        ``(N, C, *W)`` -> ``(N, C)`` (``keepdim``: ``(N, C, 1, ...)``).

    Example:
        >>> GlobalAvgPool(keepdim=True)(torch.randn(2, 5, 7)).shape
        torch.Size([2, 5, 1])
    """

    def forward(self, x):
        return P.global_avg_pool(x, self.keepdim)


class GlobalLpPool(GlobalPool):
    """Lp norm over all positions of each channel.

    Shape:
        ``(N, C, *W)`` -> ``(N, C)``.

    Example:
        >>> GlobalLpPool(p=2)(torch.ones(1, 3, 2, 2))
        tensor([[2., 2., 2.]])
    """

    kinds = {**GlobalPool.kinds, "p": P_NORM}

    def __init__(self, p=2.0, keepdim=False):
        Layer.__init__(self, locals())

    def forward(self, x):
        return P.global_lp_pool(x, self.p, self.keepdim)


class AdaptivePool(Layer):
    """Pooling to a fixed ``output_size`` whatever the input size (Goodfellow et al. 2016,
    fig. 9.11): window ``i`` spans ``[floor(i W / O), ceil((i + 1) W / O))``."""

    kinds = {"output_size": PerDim()}
    takes = "volume"

    def __init__(self, output_size, *, dims=2):
        Layer.__init__(self, locals())

    @classmethod
    def output_shape(cls, settings, shape, source=FROM_INPUT):
        return (shape[0], *settings["output_size"])

    @classmethod
    def receptive_field(cls, settings, shape, geometry):
        # The windows form a regular grid only when O divides W.
        out = settings["output_size"]
        if any(w % o for w, o in zip(shape[1:], out)):
            return None
        window = tuple(w // o for w, o in zip(shape[1:], out))
        return shapes.compose_geometry(geometry, window, window, (1,) * len(out), (0,) * len(out))



class AdaptiveMaxPool(AdaptivePool):
    """Max pooling to a fixed output size for variable-size inputs (Goodfellow et al. 2016,
    fig. 9.11).

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *output_size)``.

    Example:
        >>> pool = AdaptiveMaxPool(3)
        >>> pool(torch.randn(1, 2, 9, 9)).shape == pool(torch.randn(1, 2, 20, 14)).shape
        True
    """

    def forward(self, x):
        return P.adaptive_max_pool(x, self.output_size)


class AdaptiveAvgPool(AdaptivePool):
    """Average pooling to a fixed output size for variable-size inputs.

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *output_size)``.

    Example:
        >>> AdaptiveAvgPool(1, dims=1)(torch.ones(1, 2, 5)).shape
        torch.Size([1, 2, 1])
    """

    def forward(self, x):
        return P.adaptive_avg_pool(x, self.output_size)

