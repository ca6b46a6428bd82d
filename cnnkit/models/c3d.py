"""C3D, the 3-D convolutional network for video of Tran, Bourdev, Fergus, Torresani and
Paluri 2015 (after Ji, Xu, Yang and Yu 2013), as a spec.

A clip of frames is a volume ``(channels, frames, height, width)``; 3x3x3 convolutions
(padding 1, stride 1) see space and time together. Eight convolutions in five stages of
64, 128, 256, 512 and 512 filters (one, one, two, two and two convolutions), each stage
ending in max pooling: 1x2x2 after the first (no early pooling over time), 2x2x2 after
the others; two fully connected layers of 4096 units with dropout 0.5 and the classes
(487 for Sports-1M). On the paper's 3x16x112x112 clips the last pooling leaves
512x1x4x4 features.

Data-sized: an axis shorter than a pooling window is not pooled (window 1 there), and
poolings round up (the paper pads the last one instead: the same sizes), so clips of any
size work: 16x112x112 gives the paper's network, 8x28x28 a network whose temporal
poolings stop once one frame is left. ``width`` and ``hidden`` scale the filters and
the fully connected layers for small data.

``batch_norm=True`` (not in the paper) puts batch norm between each convolution and its
ReLU, as ``vgg11``'s setting does: from torch's default initialisation the plain stack of
eight convolutions passes little of its input's spread to the classifier, and on small
data it can stay at chance for many epochs (``clips_digit``: 11 epochs); the normalised
one learns from the first.
"""

from __future__ import annotations

from ..spec import Network, build
from ._parts import check_image_shape, classifier, conv_relu, dense_head
from ._registry import register_model

__all__ = ["c3d", "c3d_spec"]

# (filters as a multiple of width, convolutions, pooling window) per stage
_STAGES = ((1, 1, (1, 2, 2)), (2, 1, (2, 2, 2)), (4, 2, (2, 2, 2)), (8, 2, (2, 2, 2)),
           (8, 2, (2, 2, 2)))


def c3d_spec(num_classes: int = 487, input_shape=(3, 16, 112, 112), width: int = 64,
             hidden: int = 4096, dropout: float = 0.5, batch_norm: bool = False) -> dict:
    """The C3D spec as a dict (what :func:`c3d` builds).

    Example:
        >>> spec = c3d_spec()
        >>> [layer["maxpool"]["size"] for layer in spec["layers"] if "maxpool" in layer]
        [[1, 2, 2], 2, 2, 2, 2]
        >>> [layer["maxpool"]["size"] for layer in c3d_spec(input_shape=(1, 4, 28, 28))["layers"]
        ...  if "maxpool" in layer]
        [[1, 2, 2], 2, 2, [1, 2, 2], [1, 2, 2]]
    """
    sizes = list(input_shape[1:])
    layers: list = []
    for multiple, convs, window in _STAGES:
        layers += conv_relu(multiple * width, 3, padding=1, batch_norm=batch_norm) * convs
        size = [k if s >= k else 1 for k, s in zip(window, sizes)]
        sizes = [-(-s // k) for s, k in zip(sizes, size)]
        layers.append({"maxpool": {"size": size if len(set(size)) > 1 else size[0],
                                   "ceil_mode": True}})
    return classifier("c3d", input_shape, [
        *layers, *dense_head(num_classes, hidden, dropout, dropout_first=False)])


@register_model
def c3d(num_classes: int = 487, input_shape=(3, 16, 112, 112), width: int = 64,
        hidden: int = 4096, dropout: float = 0.5, batch_norm: bool = False) -> Network:
    """C3D: 79,991,015 parameters for Sports-1M's 487 classes on 3x16x112x112 clips.

    Args:
        num_classes: units of the last layer.
        input_shape: ``(channels, frames, height, width)``, 3-D; any size.
        width: filters of the first stage (64); the others have 2, 4, 8 and 8 times as many.
        hidden: units of each of the two fully connected layers (4096).
        dropout: drop rate after each of them.
        batch_norm: batch norm between each convolution and its ReLU (not the paper's; see
            the module doc).

    Shape:
        ``(N, C, T, H, W)`` -> ``(N, num_classes)``.

    Example:
        >>> net = c3d(num_classes=10, input_shape=(1, 8, 28, 28), width=4, hidden=32)
        >>> net.layers[-1].in_features, net.output_shape
        (32, (10,))
    """
    return build(c3d_spec(num_classes, check_image_shape(input_shape, "c3d", dims=3), width,
                          hidden, dropout, batch_norm))
