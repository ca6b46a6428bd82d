"""Spec rules of pooling across channels: channel_pool and maxout."""

from ...layers.channel_pool import ChannelPool, Maxout
from .._catalogue import LayerRule, register_layer

register_layer(LayerRule(
    "channel_pool", ChannelPool, shorthand="k",
    description="pooling across groups of k channels: max (maxout), avg or Lp",
    example={"k": 2}))

register_layer(LayerRule(
    "maxout", Maxout, shorthand="k",
    description="maxout units: the maximum over groups of k channels", example={"k": 2}))
