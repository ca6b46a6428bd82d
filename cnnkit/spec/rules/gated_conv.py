"""Spec rule of WaveNet's gated convolution (van den Oord et al. 2016)."""

from ...layers.gated_conv import GatedConv
from .._catalogue import LayerRule, register_layer

register_layer(LayerRule(
    "gated_conv", GatedConv, renames={"filters": "out_channels"}, shorthand="filters",
    description="tanh(filter conv) * sigmoid(gate conv) (WaveNet's gated activation unit)",
    example={"filters": 4, "kernel": 3}))
