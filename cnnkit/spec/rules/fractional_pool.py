"""Spec rule of fractional max pooling."""

from ...layers.fractional_pool import FractionalMaxPool
from .._catalogue import LayerRule, register_layer

register_layer(LayerRule(
    "fractional_maxpool", FractionalMaxPool, shorthand="ratio",
    description="fractional max pooling (Graham 2014), random regions",
    example={"ratio": 1.5}))
