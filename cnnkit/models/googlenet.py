"""GoogLeNet (Szegedy et al. 2014, Inception v1), as a spec.

As torchvision's ``googlenet`` without the auxiliary classifiers: every convolution is
followed by batch norm (eps 0.001, so the convolutions have no bias) and ReLU. A stem of
three convolutions; nine inception blocks (3a-3b, 4a-4e, 5a-5b) with max pooling after 3b
and 4e; global average pooling, dropout 0.2 and a dense layer. Every max pooling rounds up
(``ceil_mode``).

Stems (``stem``, ``"auto"`` by size):

* ``imagenet`` (from 128x128 up; at least 31x31): a 7x7 convolution with stride 2, max
  pooling, a 1x1 and a 3x3 convolution and max pooling (6,624,904 parameters for 1000
  classes);
* ``cifar`` (below 128x128; at least 4x4): the same convolutions without their
  downsampling: 3x3 with stride 1 in place of 7x7 with stride 2, and no max pooling, so
  that the inception blocks see 32x32, 16x16 and 8x8 maps of a 32x32 image.

An inception block is a ``parallel`` of four branches concatenated along the channels:
a 1x1 convolution; a 1x1 reduction then a 3x3; a 1x1 reduction then a second 3x3 (the
paper has 5x5 here; torchvision keeps 3x3, and so does this spec, to match its count);
3x3 max pooling with stride 1 and padding 1 then a 1x1 projection.
"""

from __future__ import annotations

from ..spec import Network, build
from ._parts import check_image_shape, classifier, conv_bn, stem_for
from ._registry import register_model

__all__ = ["INCEPTION_BLOCKS", "googlenet", "googlenet_spec"]

# name -> (1x1, 3x3 reduce, 3x3, second reduce, second 3x3, pool projection): table 1
INCEPTION_BLOCKS = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def _conv(filters: int, kernel: int, stride: int = 1) -> list:
    """Convolution (no bias), batch norm (eps 0.001) and ReLU, as torchvision's BasicConv2d."""
    return [*conv_bn(filters, kernel, stride, eps=0.001), "relu"]


def _pool(size: int = 3, stride: int = 2, padding: int = 0) -> dict:
    return {"maxpool": {"size": size, "stride": stride, "padding": padding, "ceil_mode": True}}


def _inception(c1: int, r3: int, c3: int, r5: int, c5: int, proj: int) -> dict:
    return {"parallel": {"branches": [
        _conv(c1, 1),
        [*_conv(r3, 1), *_conv(c3, 3)],
        [*_conv(r5, 1), *_conv(c5, 3)],
        [_pool(3, 1, 1), *_conv(proj, 1)],
    ], "merge": "concat"}}


def googlenet_spec(num_classes: int = 1000, input_shape=(3, 224, 224), dropout: float = 0.2,
                   stem: str = "auto") -> dict:
    """The GoogLeNet spec as a dict (what :func:`googlenet` builds).

    Args:
        num_classes: units of the last layer.
        input_shape: input shape, channels first (at least 31x31 with the ImageNet stem,
            the smallest size its five stride-2 stages reduce to 1x1 rather than below;
            4x4 with the CIFAR stem).
        dropout: drop rate before the last layer.
        stem: ``"auto"`` (by input size), ``"imagenet"`` or ``"cifar"``.

    Example:
        >>> spec = googlenet_spec()
        >>> sum(1 for layer in spec["layers"] if "parallel" in layer)
        9
        >>> len(spec["layers"][11]["parallel"]["branches"])
        4
    """
    stem = stem_for(stem, check_image_shape(input_shape, "googlenet"))
    if stem == "imagenet":
        front = [*_conv(64, 7, 2), _pool(), *_conv(64, 1), *_conv(192, 3), _pool()]
    else:
        front = [*_conv(64, 3), *_conv(64, 1), *_conv(192, 3)]
    blocks = {name: _inception(*widths) for name, widths in INCEPTION_BLOCKS.items()}
    return classifier("googlenet", input_shape, [
        *front,
        blocks["3a"], blocks["3b"], _pool(),
        blocks["4a"], blocks["4b"], blocks["4c"], blocks["4d"], blocks["4e"],
        _pool(2, 2),
        blocks["5a"], blocks["5b"],
        "global_avgpool",
        {"dropout": dropout},
        {"dense": num_classes},
    ])


@register_model
def googlenet(num_classes: int = 1000, input_shape=(3, 224, 224), dropout: float = 0.2,
              stem: str = "auto") -> Network:
    """GoogLeNet: 6,624,904 parameters for 1000 classes (torchvision's, without aux heads).

    Args:
        num_classes: units of the last layer.
        input_shape: input shape, channels first (at least 31x31 with the ImageNet stem,
            4x4 with the CIFAR stem; the global pooling takes any size the stages give).
        dropout: drop rate before the last layer.
        stem: ``"auto"`` (ImageNet from 128x128 up, else CIFAR), ``"imagenet"`` or
            ``"cifar"``; see the module doc.

    Shape:
        ``(N, 3, 224, 224)`` -> ``(N, num_classes)``.

    Example:
        >>> net = googlenet(num_classes=10, input_shape=(3, 64, 64), stem="imagenet")
        >>> sum(p.numel() for p in net.parameters())
        5610154
    """
    return build(googlenet_spec(num_classes, input_shape, dropout, stem))
