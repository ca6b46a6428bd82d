"""Spec rule of spatial pyramid pooling."""

from ...layers.pyramid_pool import SpatialPyramidPool
from .._catalogue import LayerRule, register_layer

register_layer(LayerRule(
    "spatial_pyramid_pool", SpatialPyramidPool, aliases=("spp",), shorthand="levels",
    description="spatial pyramid pooling (He et al. 2014): C * sum(l^d) features",
    example={"levels": [1, 2]}))
