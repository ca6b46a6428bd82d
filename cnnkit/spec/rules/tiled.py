"""Spec rule of tiled convolution."""

from ...layers.tiled import TiledConv
from .._catalogue import LayerRule, register_layer
from .conv import FILTERS

register_layer(LayerRule(
    "tiled_conv", TiledConv, renames=FILTERS, shorthand="filters", activation=True,
    description="tiled convolution: t kernel stacks cycled through per dimension "
                "(Goodfellow et al. 2016, eq. 9.10)",
    example={"filters": 2, "kernel": 3, "tiles": 2}))
