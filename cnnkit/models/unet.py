"""U-Net (Ronneberger, Fischer & Brox 2015) and a fully convolutional network (Long,
Shelhamer & Darrell 2015) for per-pixel labels, as specs.

Both end in one map per class at the input's size (task ``segment``: softmax cross-entropy
per pixel). The U-Net's contracting path halves the size ``depth`` times and doubles the
maps; the expanding path goes back with 2x2 transposed convolutions and concatenates the
contracting path's maps of the same size (a ``parallel`` block whose first branch is the
identity). The FCN scores a downsampled map with 1x1 convolutions, adds the score of a finer
map (the skip of FCN-16s) and upsamples with a transposed convolution.

Faithful (U-Net): two 3x3 ReLU convolutions per level, 2x2 max pooling, 64 maps doubling to
1024 at depth 4, up-convolutions that halve the maps, the skip concatenation, a 1x1 class
layer: 31,030,658 parameters for 1 input channel and 2 classes.
Simplified: ``same`` padding instead of the paper's unpadded convolutions and cropping
(so the output is the input's size and no overlap-tile strategy is needed); no weighted
loss for touching borders; sides must be divisible by ``2 ** depth``.
Faithful (FCN): class scores by 1x1 convolution on a downsampled map, a skip that adds the
scores of the map at half that stride, learned upsampling by transposed convolution.
Simplified: a small VGG-like backbone of ``width`` maps instead of VGG16's (trained from
scratch, not fine-tuned from ImageNet), strides 8 and 4 instead of 32 and 16.
"""

from __future__ import annotations

from ..spec import Network, build
from ._parts import check_image_shape, conv_relu
from ._registry import register_model

__all__ = ["fcn", "fcn_spec", "unet", "unet_spec"]


def _double_conv(filters: int, batch_norm: bool = False) -> list:
    # With batch norm the convolutions have no bias: the normalisation removes it.
    return conv_relu(filters, 3, padding="same", batch_norm=batch_norm, norm_bias=False) * 2


def _level(width: int, level: int, depth: int, batch_norm: bool) -> list:
    """The layers of one level of the U and, nested in a parallel block, every deeper one."""
    filters = width * 2 ** level
    layers = _double_conv(filters, batch_norm)
    if level == depth:
        return layers
    deeper = [{"maxpool": 2}, *_level(width, level + 1, depth, batch_norm),
              {"conv_transpose": {"filters": filters, "kernel": 2, "stride": 2}}]
    return [*layers, {"parallel": {"branches": [[], deeper], "merge": "concat"}},
            *_double_conv(filters, batch_norm)]


def unet_spec(num_classes: int = 2, input_shape=(1, 256, 256), width: int = 64,
              depth: int = 4, batch_norm: bool = False) -> dict:
    """The U-Net spec as a dict (what :func:`unet` builds).

    Example:
        >>> spec = unet_spec(3, (1, 16, 16), width=4, depth=2)
        >>> spec["task"], spec["layers"][-1]
        ('segment', {'conv': {'filters': 3, 'kernel': 1}})
    """
    return {"name": "unet", "input": list(input_shape), "task": "segment",
            "layers": [*_level(width, 0, depth, batch_norm),
                       {"conv": {"filters": num_classes, "kernel": 1}}],
            "loss": "softmax_cross_entropy"}


@register_model
def unet(num_classes: int = 2, input_shape=(1, 256, 256), width: int = 64,
         depth: int = 4, batch_norm: bool = False) -> Network:
    """U-Net: 31,030,658 parameters for grey images and 2 classes (width 64, depth 4).

    Args:
        num_classes: classes per pixel (the last layer's maps).
        input_shape: ``(C, H, W)``; H and W divisible by ``2 ** depth``.
        width: maps of the first level (64 in the paper), doubled at each level down.
        depth: poolings on the contracting path (4 in the paper).
        batch_norm: batch normalisation after every 3x3 convolution (not in the paper,
            which predates it; on small data it learns far sooner).

    Shape:
        ``(N, C, H, W)`` -> ``(N, num_classes, H, W)``.

    Example:
        >>> net = unet(3, (1, 16, 16), width=4, depth=2)
        >>> net.output_shape
        (3, 16, 16)
    """
    return build(unet_spec(num_classes, check_image_shape(input_shape, "unet"), width, depth,
                           batch_norm))


def _block(filters: int, batch_norm: bool = False) -> list:
    return [*_double_conv(filters, batch_norm), {"maxpool": 2}]


def fcn_spec(num_classes: int = 21, input_shape=(3, 256, 256), width: int = 32,
             batch_norm: bool = False) -> dict:
    """The FCN spec as a dict (what :func:`fcn` builds).

    Example:
        >>> [next(iter(layer)) for layer in fcn_spec()["layers"][-2:]]
        ['parallel', 'conv_transpose']
    """
    coarse = [*_block(4 * width, batch_norm), {"conv": {"filters": num_classes, "kernel": 1}},
              {"conv_transpose": {"filters": num_classes, "kernel": 4, "stride": 2,
                                  "padding": 1}}]
    fine = [{"conv": {"filters": num_classes, "kernel": 1}}]
    return {"name": "fcn", "input": list(input_shape), "task": "segment", "layers": [
        *_block(width, batch_norm), *_block(2 * width, batch_norm),
        {"parallel": {"branches": [fine, coarse], "merge": "add"}},
        {"conv_transpose": {"filters": num_classes, "kernel": 8, "stride": 4, "padding": 2}},
    ], "loss": "softmax_cross_entropy"}


@register_model
def fcn(num_classes: int = 21, input_shape=(3, 256, 256), width: int = 32,
        batch_norm: bool = False) -> Network:
    """FCN with one skip (FCN-16s style) on a small VGG-like backbone.

    Args:
        num_classes: classes per pixel.
        input_shape: ``(C, H, W)``; H and W divisible by 8.
        width: maps of the first block (doubled in each of the next two).
        batch_norm: batch normalisation after every 3x3 convolution (not in the paper).

    Shape:
        ``(N, C, H, W)`` -> ``(N, num_classes, H, W)``.

    Example:
        >>> fcn(11, (1, 48, 48), width=4).output_shape
        (11, 48, 48)
    """
    return build(fcn_spec(num_classes, check_image_shape(input_shape, "fcn"), width, batch_norm))
