"""ResNet (He, Zhang, Ren & Sun 2015): ``resnet18``, ``resnet34`` and ``resnet50``, as specs.

As torchvision: a 7x7 convolution with stride 2 (no bias), batch norm, ReLU and 3x3 max
pooling with stride 2 and padding 1; four stages of residual blocks with 64, 128, 256 and
512 base filters, the last three starting with stride 2; global average pooling and a
dense layer. A basic block is two 3x3 convolutions, a bottleneck block a 1x1, a 3x3 (which
carries the stride) and a 1x1 with four times the filters; every convolution is followed by
batch norm. Where a block changes the shape its shortcut is a projection (a 1x1
convolution with the block's stride and batch norm), elsewhere the identity; ReLU follows
the addition.
"""

from __future__ import annotations

from .._validation import ArgumentError
from ..spec import Network, build
from ._registry import register_model

__all__ = ["RESNET_CONFIGS", "resnet18", "resnet34", "resnet50", "resnet_spec"]

# name -> (block, blocks per stage)
RESNET_CONFIGS = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
}
_EXPANSION = {"basic": 1, "bottleneck": 4}


def _conv(filters: int, kernel: int, stride: int = 1) -> list:
    """A convolution without bias and its batch norm."""
    return [{"conv": {"filters": filters, "kernel": kernel, "stride": stride,
                      "padding": kernel // 2, "bias": "none"}}, "batchnorm"]


def _block(kind: str, in_channels: int, width: int, stride: int) -> dict:
    """One residual block; its output has ``width * expansion`` channels."""
    out = width * _EXPANSION[kind]
    if kind == "basic":
        layers = [*_conv(width, 3, stride), "relu", *_conv(width, 3)]
    else:
        layers = [*_conv(width, 1), "relu", *_conv(width, 3, stride), "relu", *_conv(out, 1)]
    block = {"layers": layers}
    if stride != 1 or in_channels != out:
        block["shortcut"] = _conv(out, 1, stride)
    block["activation"] = "relu"
    return {"residual": block}


def resnet_spec(depth: int | str = 18, num_classes: int = 1000, input=(3, 224, 224)) -> dict:
    """The spec of ``resnet18``, ``resnet34`` or ``resnet50`` as a dict.

    Args:
        depth: 18, 34 or 50 (or the model name).
        num_classes: units of the last layer.
        input: input shape, channels first (any spatial size: every layer pads, and the
            global pooling takes whatever size the last stage gives).

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
    layers = [*_conv(64, 7, 2), "relu", {"maxpool": {"size": 3, "stride": 2, "padding": 1}}]
    channels = 64
    for stage, blocks in enumerate(stages):
        width = 64 * 2 ** stage
        for i in range(blocks):
            layers.append(_block(kind, channels, width, 2 if stage and not i else 1))
            channels = width * _EXPANSION[kind]
    layers += ["global_avgpool", {"dense": num_classes}]
    return {"name": name, "input": list(input), "layers": layers,
            "loss": "softmax_cross_entropy"}


@register_model
def resnet18(num_classes: int = 1000, input=(3, 224, 224)) -> Network:
    """ResNet-18 (basic blocks, 2-2-2-2): 11,689,512 parameters for 1000 classes.

    Args:
        num_classes: units of the last layer.
        input: input shape, channels first (global pooling takes any size).

    Shape:
        ``(N, 3, H, W)`` -> ``(N, num_classes)``.

    Example:
        >>> net = resnet18(num_classes=10, input=(3, 32, 32))
        >>> sum(p.numel() for p in net.parameters())
        11181642
    """
    return build(resnet_spec(18, num_classes, input))


@register_model
def resnet34(num_classes: int = 1000, input=(3, 224, 224)) -> Network:
    """ResNet-34 (basic blocks, 3-4-6-3): 21,797,672 parameters for 1000 classes.

    Args:
        num_classes: units of the last layer.
        input: input shape, channels first (global pooling takes any size).

    Shape:
        ``(N, 3, H, W)`` -> ``(N, num_classes)``.

    Example:
        >>> net = resnet34(num_classes=10, input=(3, 32, 32))
        >>> sum(p.numel() for p in net.parameters())
        21289802
    """
    return build(resnet_spec(34, num_classes, input))


@register_model
def resnet50(num_classes: int = 1000, input=(3, 224, 224)) -> Network:
    """ResNet-50 (bottleneck blocks, 3-4-6-3): 25,557,032 parameters for 1000 classes.

    Args:
        num_classes: units of the last layer.
        input: input shape, channels first (global pooling takes any size).

    Shape:
        ``(N, 3, H, W)`` -> ``(N, num_classes)``.

    Example:
        >>> net = resnet50(num_classes=10, input=(3, 32, 32))
        >>> sum(p.numel() for p in net.parameters())
        23528522
    """
    return build(resnet_spec(50, num_classes, input))
