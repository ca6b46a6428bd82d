"""Spec rules of the activations: relu, tanh, abs_tanh, sigmoid, leaky_relu, gelu."""

from ...layers.activation import GELU, AbsTanh, Activation, LeakyReLU, ReLU, Sigmoid, Tanh
from .._catalogue import LayerRule, register_layer

__all__ = ["ActivationRule"]


class ActivationRule(LayerRule):
    """An element-wise nonlinearity; ``activation: <name>`` on another layer desugars to it.
    An ``Activation("relu")`` reads back as ``relu`` too."""

    is_activation = True

    @property
    def modules(self):
        return (self.layer, Activation)

    def matches(self, module):
        return getattr(module, "name", None) == self.name


for _name, _layer, _text, _shorthand in [
        ("relu", ReLU, "max(0, x)", None),
        ("tanh", Tanh, "hyperbolic tangent", None),
        ("abs_tanh", AbsTanh, "|tanh(x)|", None),
        ("sigmoid", Sigmoid, "logistic sigmoid", None),
        ("leaky_relu", LeakyReLU, "x if x >= 0 else negative_slope * x", "negative_slope"),
        ("gelu", GELU, "Gaussian error linear unit", "approximate")]:
    register_layer(ActivationRule(_name, _layer, shorthand=_shorthand, description=_text))
