"""Spec rules of the convolutions: conv, conv_transpose (deconv), separable_conv."""

from ...layers.conv import Conv, ConvTranspose, SeparableConv
from .._catalogue import LayerRule, register_layer

# The spec calls a convolution's output channels its filters.
FILTERS = {"filters": "out_channels"}

register_layer(LayerRule(
    "conv", Conv, renames=FILTERS, shorthand="filters", activation=True,
    description="convolution (cross-correlation; flip: true for the flipped kernel)",
    example={"filters": 4, "kernel": 3}))

register_layer(LayerRule(
    "conv_transpose", ConvTranspose, aliases=("deconv",), renames=FILTERS,
    shorthand="filters", activation=True,
    description="transposed convolution (upsampling by the stride)",
    example={"filters": 4, "kernel": 3, "stride": 2}))

register_layer(LayerRule(
    "separable_conv", SeparableConv, renames=FILTERS, shorthand="filters", activation=True,
    description="depthwise-separable convolution (per-channel filters, then 1x1)",
    example={"filters": 4, "kernel": 3}))
