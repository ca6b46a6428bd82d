"""VGG (Simonyan & Zisserman 2014), configurations A (``vgg11``) and D (``vgg16``), as specs.

Stacks of 3x3 convolutions (padding 1, ReLU) separated by 2x2 max pooling, five stages
doubling the filters from 64 to 512, then as torchvision an adaptive average pooling to
7x7 (so any input of at least 32x32 gives the classifier 512x7x7 features), dense 4096,
dropout, dense 4096, dropout and the classes.
"""

from __future__ import annotations

from .._validation import ArgumentError
from ..spec import Network, build
from ._registry import register_model

__all__ = ["VGG_CONFIGS", "vgg11", "vgg16", "vgg_spec"]

# Filters of each 3x3 convolution; "M" is a 2x2 max pooling (the paper's table 1).
VGG_CONFIGS = {
    "A": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "D": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
          512, 512, 512, "M"),
}
_NAMES = {"A": "vgg11", "D": "vgg16"}


def vgg_spec(config: str = "D", num_classes: int = 1000, input=(3, 224, 224),
             dropout: float = 0.5) -> dict:
    """The spec of a VGG configuration as a dict (what :func:`vgg11` / :func:`vgg16` build).

    Args:
        config: ``"A"`` (11 weight layers) or ``"D"`` (16 weight layers).
        num_classes: units of the last layer.
        input: input shape, channels first (at least 32x32).
        dropout: drop rate after each of the two 4096-unit layers.

    Raises:
        ArgumentError: an unknown ``config``.

    Example:
        >>> [next(iter(layer)) for layer in vgg_spec("A")["layers"][:3]]
        ['conv', 'maxpool', 'conv']
    """
    if config not in VGG_CONFIGS:
        raise ArgumentError(f"config must be one of {', '.join(map(repr, VGG_CONFIGS))}. "
                            f"Received: config={config!r}.")
    features = [{"maxpool": 2} if v == "M" else
                {"conv": {"filters": v, "kernel": 3, "padding": 1, "activation": "relu"}}
                for v in VGG_CONFIGS[config]]
    return {
        "name": _NAMES[config],
        "input": list(input),
        "layers": [
            *features,
            {"adaptive_avgpool": 7},
            "flatten",
            {"dense": {"units": 4096, "activation": "relu"}},
            {"dropout": dropout},
            {"dense": {"units": 4096, "activation": "relu"}},
            {"dropout": dropout},
            {"dense": num_classes},
        ],
        "loss": "softmax_cross_entropy",
    }


@register_model
def vgg11(num_classes: int = 1000, input=(3, 224, 224), dropout: float = 0.5) -> Network:
    """VGG-11 (configuration A): 132,863,336 parameters for 1000 classes (as torchvision).

    Args:
        num_classes: units of the last layer.
        input: input shape, channels first (at least 32x32).
        dropout: drop rate after each of the two 4096-unit layers.

    Shape:
        ``(N, 3, 224, 224)`` -> ``(N, num_classes)``.

    Example:
        >>> net = vgg11(num_classes=10, input=(3, 32, 32))
        >>> sum(p.numel() for p in net.parameters())
        128807306
    """
    return build(vgg_spec("A", num_classes, input, dropout))


@register_model
def vgg16(num_classes: int = 1000, input=(3, 224, 224), dropout: float = 0.5) -> Network:
    """VGG-16 (configuration D): 138,357,544 parameters for 1000 classes (as torchvision).

    Args:
        num_classes: units of the last layer.
        input: input shape, channels first (at least 32x32).
        dropout: drop rate after each of the two 4096-unit layers.

    Shape:
        ``(N, 3, 224, 224)`` -> ``(N, num_classes)``.

    Example:
        >>> net = vgg16(num_classes=10, input=(3, 32, 32))
        >>> sum(p.numel() for p in net.parameters())
        134301514
    """
    return build(vgg_spec("D", num_classes, input, dropout))
