"""Spec rule of the standardisation layer."""

from ...layers.standardize import Standardize
from .._catalogue import LayerRule, register_layer

register_layer(LayerRule(
    "standardize", Standardize,
    description="(x - mean) / std per input channel, statistics fitted on the training split",
    example={"mean": 0.5, "std": 0.25}))
