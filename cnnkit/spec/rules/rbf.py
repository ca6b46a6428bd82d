"""Spec rule of the Euclidean RBF output units (LeNet-5, LeCun et al. 1998)."""

from ...layers.rbf import RBF
from .._catalogue import LayerRule, register_layer

register_layer(LayerRule(
    "rbf", RBF, shorthand="units",
    description="negative squared distance to one code per class (LeNet-5's output layer)",
    example={"units": 3}))
