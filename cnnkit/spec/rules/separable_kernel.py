"""Spec rule of convolution with separable kernels."""

from ...layers.separable_kernel import SeparableKernelConv
from .._catalogue import LayerRule, register_layer
from .conv import FILTERS

register_layer(LayerRule(
    "separable_kernel_conv", SeparableKernelConv, renames=FILTERS, shorthand="filters",
    activation=True,
    description="convolution with rank-r separable kernels (d one-dimensional passes)",
    example={"filters": 2, "kernel": 5, "rank": 2}))
