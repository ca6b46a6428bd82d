"""Spec rules of the normalisations: batchnorm and lrn."""

from ...layers.norm import BatchNorm, LocalResponseNorm
from .._catalogue import LayerRule, register_layer

register_layer(LayerRule(
    "batchnorm", BatchNorm,
    description="batch normalisation (channels of a volume, or features)"))

register_layer(LayerRule(
    "lrn", LocalResponseNorm, shorthand="size",
    description="local response normalisation across channels (Krizhevsky et al. 2012)",
    example={"size": 3}))
