"""Spec rule of dropout."""

from ...layers.dropout import Dropout
from .._catalogue import LayerRule, register_layer

register_layer(LayerRule(
    "dropout", Dropout, shorthand="rate",
    description="dropout (inverted: no change at inference)", example={"rate": 0.3}))
