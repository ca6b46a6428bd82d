"""Spec rule of RoI max pooling over fixed regions (Girshick 2015)."""

from ...layers.roi_pool import FixedRoIMaxPool
from .._catalogue import LayerRule, register_layer

register_layer(LayerRule(
    "roi_pool", FixedRoIMaxPool, aliases=("roi_max_pool",),
    description="RoI max pooling over fixed regions (Girshick 2015): K grids stacked",
    example={"boxes": [[0, 0, 3, 3], [2, 4, 7, 7]], "output_size": 2},
    rank_examples={1: {"boxes": [[0, 3], [2, 9]], "output_size": 2},
                   3: {"boxes": [[0, 0, 0, 3, 3, 3], [2, 1, 0, 5, 5, 5]], "output_size": 2}}))
