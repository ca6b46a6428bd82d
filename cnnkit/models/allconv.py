"""The all-convolutional net (Springenberg, Dosovitskiy, Brox and Riedmiller 2015), as a spec.

"Striving for simplicity": All-CNN-C replaces every max pooling by a 3x3 convolution with
stride 2 and the fully connected layers by 1x1 convolutions and global averaging. Table 2:
dropout 20 % on the input; 3x3 conv 96, 3x3 conv 96, 3x3 conv 96 with stride 2; dropout
50 %; 3x3 conv 192 twice, 3x3 conv 192 with stride 2; dropout 50 %; 3x3 conv 192 (valid),
1x1 conv 192, 1x1 conv with one map per class, each with ReLU; global averaging over the
remaining 6x6 maps (of a 32x32 image) and softmax. 1,369,738 parameters for CIFAR-10.

Data-sized: the channels are the data's (32x32 colour, 28x28 grey, ...); every input of
at least 9x9 works, since the global averaging takes the size the stages leave (5x5 for
28x28).
"""

from __future__ import annotations

from ..spec import Network, build
from ._parts import check_image_shape, classifier
from ._registry import register_model

__all__ = ["allconv", "allconv_spec"]


def _conv(filters: int, kernel: int = 3, stride: int = 1, padding=1) -> dict:
    return {"conv": {"filters": filters, "kernel": kernel, "stride": stride, "padding": padding,
                     "activation": "relu"}}


def allconv_spec(num_classes: int = 10, input_shape=(3, 32, 32), widths=(96, 192),
                 dropout: bool = True) -> dict:
    """The All-CNN-C spec as a dict (what :func:`allconv` builds).

    Example:
        >>> kinds = [next(iter(layer)) if isinstance(layer, dict) else layer
        ...          for layer in allconv_spec()["layers"]]
        >>> "maxpool" in kinds, "dense" in kinds, kinds[-1]
        (False, False, 'global_avgpool')
    """
    first, second = widths

    def drop(rate: float) -> list:
        return [{"dropout": rate}] if dropout else []

    return classifier("allconv", input_shape, [
        *drop(0.2),
        _conv(first), _conv(first), _conv(first, stride=2),
        *drop(0.5),
        _conv(second), _conv(second), _conv(second, stride=2),
        *drop(0.5),
        _conv(second, padding=0), _conv(second, 1, padding=0), _conv(num_classes, 1, padding=0),
        "global_avgpool",
    ])


@register_model
def allconv(num_classes: int = 10, input_shape=(3, 32, 32), widths=(96, 192),
            dropout: bool = True) -> Network:
    """All-CNN-C: 1,369,738 parameters for 10 classes on 3x32x32 (at least 9x9 inputs).

    Args:
        num_classes: maps of the last 1x1 convolution, one per class.
        input_shape: input shape, channels first (2-D).
        widths: filters of the first three and of the other convolutions (96, 192).
        dropout: the paper's dropout on the input (20 %) and after each strided
            convolution (50 %).

    Shape:
        ``(N, C, H, W)`` -> ``(N, num_classes)``.

    Example:
        >>> allconv(input_shape=(1, 28, 28)).output_shape
        (10,)
    """
    return build(allconv_spec(num_classes, check_image_shape(input_shape, "allconv"), widths,
                              dropout))
