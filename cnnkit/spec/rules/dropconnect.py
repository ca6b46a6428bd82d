"""Spec rules of DropConnect (Wan et al. 2013): dropconnect_dense and dropconnect_conv.

The layers' own ``activation`` (applied inside, where the Gaussian inference rule averages
after it) is ``inner_activation`` in a spec, since ``activation:`` adds a separate layer.
"""

from ...layers.dropconnect import DropConnectConv, DropConnectDense
from .._catalogue import LayerRule, register_layer
from .conv import FILTERS

INNER = {"inner_activation": "activation"}

register_layer(LayerRule(
    "dropconnect_dense", DropConnectDense, renames=INNER, shorthand="units", activation=True,
    description="fully connected layer with DropConnect (Wan et al. 2013)",
    example={"units": 5, "p": 0.3}))

register_layer(LayerRule(
    "dropconnect_conv", DropConnectConv, renames={**FILTERS, **INNER}, shorthand="filters",
    activation=True, description="convolution with DropConnect on the kernel weights",
    example={"filters": 2, "kernel": 3, "per": "batch"}))
