"""Spec rules of dense (fully connected) and flatten."""

from ...layers.dense import Dense, Flatten
from .._catalogue import LayerRule, register_layer

register_layer(LayerRule(
    "dense", Dense, shorthand="units", activation=True,
    description="fully connected layer; in_features is inferred (written, it is checked)",
    example={"units": 5}))

register_layer(LayerRule("flatten", Flatten,
                         description="flatten a volume into a vector of features"))
