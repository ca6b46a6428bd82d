"""Spec rules of the unshared convolutions: locally_connected (local) and its transpose."""

from ...layers.local import LocallyConnected, LocallyConnectedTranspose
from .._catalogue import LayerRule, register_layer
from .conv import FILTERS

register_layer(LayerRule(
    "locally_connected", LocallyConnected, aliases=("local",), renames=FILTERS,
    shorthand="filters", activation=True,
    description="convolution without weight sharing: a kernel and a bias per location "
                "(Goodfellow et al. 2016, eq. 9.9)",
    example={"filters": 2, "kernel": 3}))

register_layer(LayerRule(
    "locally_connected_transpose", LocallyConnectedTranspose, renames=FILTERS,
    shorthand="filters", activation=True,
    description="transpose of a locally connected layer (upsampling, a kernel per location)",
    example={"filters": 2, "kernel": 3, "stride": 2}))
