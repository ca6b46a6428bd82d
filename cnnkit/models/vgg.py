"""VGG (Simonyan & Zisserman 2014), configurations A (``vgg11``) and D (``vgg16``), as specs.

Stacks of 3x3 convolutions (padding 1, ReLU) separated by 2x2 max pooling, five stages
doubling the filters from 64 to 512 (so every input needs at least 32x32 pixels), then the
classifier. With the ``imagenet`` head (from 128x128 up; torchvision's), an adaptive
average pooling to 7x7 gives the classifier 512x7x7 features for any input size, then
dense 4096, dropout, dense 4096, dropout and the classes. With the ``cifar`` head (below
128x128), the classifier reads the last pooling's maps as they are (1x1 at 32x32, where the
7x7 pooling would copy each value 49 times) through two dense layers of 512 units, the
width of the last convolution.

``batch_norm=True`` is torchvision's ``vgg11_bn`` / ``vgg16_bn``: batch norm between each
convolution and its ReLU (the convolutions keep their bias, as there; 132,868,840 and
138,365,992 parameters for 1000 classes at 224x224). The paper has none (it predates batch
norm) and trains configuration A from weights drawn with variance 0.01, the deeper
ones partly from A's; from torch's default initialisation the plain network's signal
shrinks through the stack (below 1 % of the input's spread after the last convolution of
``vgg11`` on 32x32) and training starts slowly, which batch norm removes.
"""

from __future__ import annotations

from .._validation import ArgumentError
from ._parts import check_image_shape, classifier, conv_relu, dense_head, stem_for
from ._registry import register_variant

__all__ = ["VGG_CONFIGS", "vgg11", "vgg16", "vgg_spec"]

# Filters of each 3x3 convolution; "M" is a 2x2 max pooling (the paper's table 1).
VGG_CONFIGS = {
    "A": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "D": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
          512, 512, 512, "M"),
}
_NAMES = {"A": "vgg11", "D": "vgg16"}
_HIDDEN = {"imagenet": 4096, "cifar": 512}


def vgg_spec(config: str = "D", num_classes: int = 1000, input_shape=(3, 224, 224),
             dropout: float = 0.5, stem: str = "auto", batch_norm: bool = False) -> dict:
    """The spec of a VGG configuration as a dict (what ``vgg11`` / ``vgg16`` build).

    Args:
        config: ``"A"`` (11 weight layers) or ``"D"`` (16 weight layers).
        num_classes: units of the last layer.
        input_shape: input shape, channels first (at least 32x32).
        dropout: drop rate after each of the two hidden dense layers.
        stem: the head: ``"auto"`` (by input size), ``"imagenet"`` or ``"cifar"``.
        batch_norm: batch norm between each convolution and its ReLU
            (torchvision's ``vgg11_bn``); not the paper's.

    Raises:
        ArgumentError: an unknown ``config``.
        ArgumentTypeError: ``batch_norm`` is not a bool.

    Example:
        >>> [next(iter(layer)) for layer in vgg_spec("A")["layers"][:3]]
        ['conv', 'maxpool', 'conv']
        >>> vgg_spec("A", input_shape=(3, 32, 32))["layers"][-2]
        {'dropout': 0.5}
        >>> vgg_spec("A", batch_norm=True)["layers"][:4]
        [{'conv': {'filters': 64, 'kernel': 3, 'padding': 1}}, 'batchnorm', 'relu', {'maxpool': 2}]
    """
    if config not in VGG_CONFIGS:
        raise ArgumentError(f"config must be one of {', '.join(map(repr, VGG_CONFIGS))}. "
                            f"Received: config={config!r}.")
    stem = stem_for(stem, check_image_shape(input_shape, _NAMES[config]))
    features = [layer for v in VGG_CONFIGS[config]
                for layer in ([{"maxpool": 2}] if v == "M" else
                              conv_relu(v, 3, padding=1, batch_norm=batch_norm))]
    head = dense_head(num_classes, _HIDDEN[stem], dropout, dropout_first=False,
                      adaptive=7 if stem == "imagenet" else None)
    return classifier(_NAMES[config], input_shape, [*features, *head])


vgg11 = register_variant(vgg_spec, "vgg11", "VGG-11 (configuration A): 132,863,336 parameters "
                         "for 1000 classes at 224x224 (as torchvision).", spec=True, config="A")
vgg16 = register_variant(vgg_spec, "vgg16", "VGG-16 (configuration D): 138,357,544 parameters "
                         "for 1000 classes at 224x224 (as torchvision).", spec=True, config="D")
