"""Spec rule of stochastic pooling."""

from ...layers.stochastic_pool import StochasticPool
from .._catalogue import LayerRule, register_layer
from .pool import WINDOW

register_layer(LayerRule(
    "stochastic_pool", StochasticPool,
    description="stochastic pooling (Zeiler and Fergus 2013); inputs must be non-negative",
    **WINDOW))
