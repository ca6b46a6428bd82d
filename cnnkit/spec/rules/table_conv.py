"""Spec rule of the convolution with a connection table (LeNet-5's C3)."""

from ...layers.table_conv import TableConv
from .._catalogue import LayerRule, register_layer

register_layer(LayerRule(
    "table_conv", TableConv, activation=True,
    description="convolution in which each output map reads the input maps its row of "
                "connection_table lists (LeNet-5's C3)",
    example={"connection_table": [[0, 1], [1, 2, 3], [3]], "kernel": 3}))
