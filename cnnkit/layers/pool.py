"""Pooling layers in 1-D, 2-D and 3-D (the maths lives in cnnkit.functional.pool)."""

from __future__ import annotations

import torch  # noqa: F401  (the docstring examples use it)

from .._validation import ArgumentError, ArgumentTypeError, one_of, to_tuple
from ..functional import pool as P
from ..functional import shapes
from ._base import Layer

__all__ = [
    "AdaptiveAvgPool", "AdaptiveMaxPool", "AvgPool", "GlobalAvgPool", "GlobalLpPool",
    "GlobalMaxPool", "LpPool", "MaxPool",
]


class _WindowPool(Layer):
    """Common settings of sliding-window pooling."""

    _always_shown = ("kernel_size",)
    _defaults = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False}

    def __init__(self, kernel, stride=None, padding=0, dilation=1, ceil_mode=False, *, dims=2):
        super().__init__()
        n = one_of(dims, (1, 2, 3), "dims")
        self.dims = n
        self.kernel_size = to_tuple(kernel, n, "kernel")
        self.stride = None if stride is None else to_tuple(stride, n, "stride")
        self.padding = shapes.normalize_padding(padding, n)
        self.dilation = to_tuple(dilation, n, "dilation")
        self.ceil_mode = bool(ceil_mode)

    @property
    def effective_stride(self) -> tuple[int, ...]:
        return self.kernel_size if self.stride is None else self.stride

    def output_size(self, size) -> tuple[int, ...]:
        """Spatial output size for a spatial input ``size``."""
        return shapes.conv_output_shape(tuple(size), self.kernel_size, self.effective_stride,
                                        self.padding, self.dilation, ceil_mode=self.ceil_mode)

    def _check(self, x):
        if x.dim() != self.dims + 2:
            from ..functional.conv import check_input
            check_input(x, self.dims, None, type(self).__name__)


class MaxPool(_WindowPool):
    """Max pooling layer. See :func:`cnnkit.functional.max_pool`.

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *O)``, O as for a convolution with the same window.

    Example:
        >>> MaxPool(2)(torch.randn(1, 6, 28, 28)).shape
        torch.Size([1, 6, 14, 14])
    """

    def forward(self, x):
        self._check(x)
        return P.max_pool(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)


class AvgPool(_WindowPool):
    """Average pooling layer. See :func:`cnnkit.functional.avg_pool`.

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *O)``.

    Example:
        >>> AvgPool(2, dims=1)(torch.randn(1, 4, 10)).shape
        torch.Size([1, 4, 5])
    """

    _defaults = {**_WindowPool._defaults, "count_include_pad": False}

    def __init__(self, kernel, stride=None, padding=0, dilation=1, ceil_mode=False,
                 count_include_pad=False, *, dims=2):
        super().__init__(kernel, stride, padding, dilation, ceil_mode, dims=dims)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x):
        self._check(x)
        return P.avg_pool(x, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.count_include_pad)


def _check_p(p):
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise ArgumentTypeError(f"p must be a number. Received: p={p!r}.")
    if not p > 0:
        raise ArgumentError(f"p must be positive (p=2 is L2 pooling). Received: p={p!r}.")
    return p


class LpPool(_WindowPool):
    """Lp pooling layer, L2 by default (Goodfellow et al. 2016, section 9.3). See
    :func:`cnnkit.functional.lp_pool`.

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *O)``.

    Example:
        >>> LpPool(2, p=2, dims=3)(torch.randn(1, 2, 4, 4, 4)).shape
        torch.Size([1, 2, 2, 2, 2])
    """

    _defaults = {"p": 2.0, **_WindowPool._defaults}

    def __init__(self, kernel, stride=None, padding=0, dilation=1, ceil_mode=False, p=2.0, *, dims=2):
        super().__init__(kernel, stride, padding, dilation, ceil_mode, dims=dims)
        self.p = _check_p(p)

    def forward(self, x):
        self._check(x)
        return P.lp_pool(x, self.p, self.kernel_size, self.stride, self.padding, self.dilation,
                         self.ceil_mode)


class _Global(Layer):
    _defaults = {"keepdim": False}

    def __init__(self, keepdim=False):
        super().__init__()
        self.keepdim = bool(keepdim)


class GlobalMaxPool(_Global):
    """Maximum over all positions of each channel.

    Shape:
        ``(N, C, *W)`` -> ``(N, C)`` (``keepdim``: ``(N, C, 1, ...)``).

    Example:
        >>> GlobalMaxPool()(torch.randn(2, 5, 7, 7)).shape
        torch.Size([2, 5])
    """

    def forward(self, x):
        return P.global_max_pool(x, self.keepdim)


class GlobalAvgPool(_Global):
    """Mean over all positions of each channel.

    Shape:
        ``(N, C, *W)`` -> ``(N, C)`` (``keepdim``: ``(N, C, 1, ...)``).

    Example:
        >>> GlobalAvgPool(keepdim=True)(torch.randn(2, 5, 7)).shape
        torch.Size([2, 5, 1])
    """

    def forward(self, x):
        return P.global_avg_pool(x, self.keepdim)


class GlobalLpPool(_Global):
    """Lp norm over all positions of each channel.

    Shape:
        ``(N, C, *W)`` -> ``(N, C)``.
    """

    _defaults = {"p": 2.0, "keepdim": False}

    def __init__(self, p=2.0, keepdim=False):
        super().__init__(keepdim)
        self.p = _check_p(p)

    def forward(self, x):
        return P.global_lp_pool(x, self.p, self.keepdim)


class _Adaptive(Layer):
    _always_shown = ("output_size",)

    def __init__(self, output_size, *, dims=2):
        super().__init__()
        self.dims = one_of(dims, (1, 2, 3), "dims")
        self.output_size = to_tuple(output_size, self.dims, "output_size")


class AdaptiveMaxPool(_Adaptive):
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


class AdaptiveAvgPool(_Adaptive):
    """Average pooling to a fixed output size for variable-size inputs.

    Shape:
        ``(N, C, *W)`` -> ``(N, C, *output_size)``.
    """

    def forward(self, x):
        return P.adaptive_avg_pool(x, self.output_size)
