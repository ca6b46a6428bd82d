"""Spec rule of the scaled tanh activation (LeCun et al. 1998)."""

from ...layers.scaled_tanh import ScaledTanh
from .._catalogue import register_layer
from .activation import ActivationRule

register_layer(ActivationRule("scaled_tanh", ScaledTanh,
                              description="1.7159 tanh(2x/3) (LeCun et al. 1998)"))
