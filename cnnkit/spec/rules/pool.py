"""Spec rules of pooling: windowed (max, avg, Lp), global and adaptive."""

from ...layers.pool import (AdaptiveAvgPool, AdaptiveMaxPool, AvgPool, GlobalAvgPool,
                            GlobalLpPool, GlobalMaxPool, LpPool, MaxPool)
from .._catalogue import LayerRule, register_layer

# The spec calls a pooling window its size (``kernel`` is accepted too).
WINDOW = {"renames": {"size": "kernel"}, "key_aliases": {"kernel": "size"}, "shorthand": "size",
          "example": {"size": 2}}

for _name, _layer, _text in [
        ("maxpool", MaxPool, "max pooling (Goodfellow et al. 2016, section 9.3)"),
        ("avgpool", AvgPool, "average pooling"),
        ("lppool", LpPool, "Lp pooling (p = 2: the L2 norm of each window)")]:
    register_layer(LayerRule(_name, _layer, description=_text, **WINDOW))

register_layer(LayerRule("global_maxpool", GlobalMaxPool,
                         description="maximum over all positions of each channel"))
register_layer(LayerRule("global_avgpool", GlobalAvgPool,
                         description="mean over all positions of each channel"))
register_layer(LayerRule("global_lppool", GlobalLpPool, shorthand="p",
                         description="Lp norm over all positions of each channel"))

for _name, _layer, _text in [
        ("adaptive_maxpool", AdaptiveMaxPool, "max pooling to a fixed output size"),
        ("adaptive_avgpool", AdaptiveAvgPool, "average pooling to a fixed output size")]:
    register_layer(LayerRule(_name, _layer, shorthand="output_size", description=_text,
                             example={"output_size": 2}))
