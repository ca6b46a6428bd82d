"""Spec rule of the neocognitron's S-cells (Fukushima 1980)."""

from ...layers.s_cell import SCell
from .._catalogue import LayerRule, register_layer

register_layer(LayerRule(
    "s_cell", SCell, renames={"filters": "out_channels"}, shorthand="filters",
    description="neocognitron S-cells: max(0, kernel . window - threshold * |window|)",
    example={"filters": 4, "kernel": 3}))
