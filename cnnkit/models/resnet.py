"""ResNet (He, Zhang, Ren & Sun 2015): ``resnet18``, ``resnet34`` and ``resnet50``, as specs.

As torchvision: a stem; four stages of residual blocks with 64, 128, 256 and 512 base
filters, the last three starting with stride 2; global average pooling and a dense layer.
A basic block is two 3x3 convolutions, a bottleneck block a 1x1, a 3x3 (which carries the
stride) and a 1x1 with four times the filters; every convolution is followed by batch norm.
Where a block changes the shape its shortcut is a projection (a 1x1 convolution with the
block's stride and batch norm), elsewhere the identity; ReLU follows the addition.

Stems (``stem``, ``"auto"`` by size); every layer pads, so any input size works:

* ``imagenet`` (from 128x128 up): a 7x7 convolution with stride 2 (no bias), batch norm,
  ReLU and 3x3 max pooling with stride 2 and padding 1;
* ``cifar`` (below 128x128): a 3x3 convolution with stride 1, batch norm and ReLU, and no
  max pooling, as He et al. (section 4.2) do on CIFAR-10: the last stage sees 4x4 maps of
  a 32x32 image instead of 1x1.
"""

from __future__ import annotations

from .._validation import ArgumentError
from ._parts import check_image_shape, classifier, conv_bn, stem_for
from ._registry import register_variant

__all__ = ["RESNET_CONFIGS", "resnet18", "resnet34", "resnet50", "resnet_spec"]

# name -> (block, blocks per stage)
RESNET_CONFIGS = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
}
_EXPANSION = {"basic": 1, "bottleneck": 4}


def _block(kind: str, in_channels: int, width: int, stride: int) -> dict:
    """One residual block; its output has ``width * expansion`` channels."""
    out = width * _EXPANSION[kind]
    if kind == "basic":
        layers = [*conv_bn(width, 3, stride), "relu", *conv_bn(width, 3)]
    else:
        layers = [*conv_bn(width, 1), "relu", *conv_bn(width, 3, stride), "relu",
                  *conv_bn(out, 1)]
    block = {"layers": layers}
    if stride != 1 or in_channels != out:
        block["shortcut"] = conv_bn(out, 1, stride)
    block["activation"] = "relu"
    return {"residual": block}


def resnet_spec(depth: int | str = 18, num_classes: int = 1000, input_shape=(3, 224, 224),
                stem: str = "auto") -> dict:
    """The spec of ``resnet18``, ``resnet34`` or ``resnet50`` as a dict.

    Args:
        depth: 18, 34 or 50 (or the model name).
        num_classes: units of the last layer.
        input_shape: input shape, channels first (any spatial size: every layer pads, and
            the global pooling takes whatever size the last stage gives).
        stem: ``"auto"`` (by input size), ``"imagenet"`` or ``"cifar"``.

    Raises:
        ArgumentError: an unknown depth.

    Example:
        >>> spec = resnet_spec(18)
        >>> sum(1 for layer in spec["layers"] if "residual" in layer)
        8
        >>> spec["layers"][4]["residual"]["layers"][0]
        {'conv': {'filters': 64, 'kernel': 3, 'stride': 1, 'padding': 1, 'bias': 'none'}}
    """
    name = depth if isinstance(depth, str) else f"resnet{depth}"
    if name not in RESNET_CONFIGS:
        raise ArgumentError(f"depth must be 18, 34 or 50. Received: depth={depth!r}.")
    kind, stages = RESNET_CONFIGS[name]
    if stem_for(stem, check_image_shape(input_shape, name)) == "imagenet":
        layers = [*conv_bn(64, 7, 2), "relu", {"maxpool": {"size": 3, "stride": 2, "padding": 1}}]
    else:
        layers = [*conv_bn(64, 3), "relu"]
    channels = 64
    for stage, blocks in enumerate(stages):
        width = 64 * 2 ** stage
        for i in range(blocks):
            layers.append(_block(kind, channels, width, 2 if stage and not i else 1))
            channels = width * _EXPANSION[kind]
    return classifier(name, input_shape, [*layers, "global_avgpool", {"dense": num_classes}])


resnet18 = register_variant(
    resnet_spec, "resnet18", "ResNet-18 (basic blocks, 2-2-2-2): 11,689,512 parameters for 1000 "
    "classes with the ImageNet stem; 11,173,962 for 10 classes with the CIFAR stem.", spec=True,
    depth=18)
resnet34 = register_variant(
    resnet_spec, "resnet34", "ResNet-34 (basic blocks, 3-4-6-3): 21,797,672 parameters for 1000 "
    "classes with the ImageNet stem.", spec=True, depth=34)
resnet50 = register_variant(
    resnet_spec, "resnet50", "ResNet-50 (bottleneck blocks, 3-4-6-3): 25,557,032 parameters for "
    "1000 classes with the ImageNet stem.", spec=True, depth=50)
