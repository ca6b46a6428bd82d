"""Spec rule of LeNet's trainable subsampling (LeCun et al. 1998, S2 and S4)."""

from ...layers.subsample import Subsample
from .._catalogue import LayerRule, register_layer

register_layer(LayerRule(
    "subsample", Subsample, renames={"size": "kernel"}, key_aliases={"kernel": "size"},
    shorthand="size", activation=True,
    description="window sums times a learned per-channel coefficient, plus a bias (LeNet-5)",
    example={"size": 2}))
