"""The time-delay neural network (Waibel, Hanazawa, Hinton, Shikano and Lang 1989), as a spec.

The TDNN recognised the phonemes /b/, /d/ and /g/ from 15 frames of 16 spectral
coefficients. Each unit of its first hidden layer sees a window of 3 frames, each of the
second a window of 5 frames of the first, and the same weights serve every time step:
1-D convolutions over time, so that a sound is recognised wherever it starts (shift
invariance). The second hidden layer has one row of units per class, and the output
"integrates" each row over time: its mean here (global average pooling).

Faithful: the windows (3, then 5 frames), the 8 units of the first hidden layer, one row
per class in the second, sigmoid units, the integration over time. Simplified: the
second layer's row is left linear (no sigmoid), so that its time average is a logit for
softmax cross-entropy (the paper trained sigmoid outputs by back-propagation of squared
error). Data-sized: the channels are the data's (16 coefficients in the paper; 1 for the
MNIST-1D signals of ``cnnkit.data``, input ``(1, 40)``), any length from 7 frames.
"""

from __future__ import annotations

from ..spec import Network, build
from ._parts import check_image_shape, classifier
from ._registry import register_model

__all__ = ["tdnn", "tdnn_spec"]


def tdnn_spec(num_classes: int = 10, input_shape=(1, 40), hidden: int = 8,
              windows=(3, 5)) -> dict:
    """The TDNN spec as a dict (what :func:`tdnn` builds).

    Example:
        >>> [next(iter(layer)) if isinstance(layer, dict) else layer
        ...  for layer in tdnn_spec()["layers"]]
        ['conv', 'conv', 'global_avgpool']
    """
    first, second = windows
    return classifier("tdnn", input_shape, [
        {"conv": {"filters": hidden, "kernel": first, "activation": "sigmoid"}},
        {"conv": {"filters": num_classes, "kernel": second}},
        "global_avgpool",
    ])


@register_model
def tdnn(num_classes: int = 10, input_shape=(1, 40), hidden: int = 8, windows=(3, 5)) -> Network:
    """TDNN: 442 parameters for 10 classes on MNIST-1D; 515 on the paper's 16x15 input.

    Args:
        num_classes: classes (rows of the second hidden layer).
        input_shape: ``(channels, frames)``, 1-D.
        hidden: units (rows) of the first hidden layer (8 in the paper).
        windows: frames seen by a unit of the first and of the second hidden layer.

    Shape:
        ``(N, C, T)`` -> ``(N, num_classes)``, for any ``T`` of at least
        ``windows[0] + windows[1] - 1``.

    Example:
        >>> net = tdnn(num_classes=3, input_shape=(16, 15))
        >>> sum(p.numel() for p in net.parameters())
        515
    """
    return build(tdnn_spec(num_classes, check_image_shape(input_shape, "tdnn", dims=1), hidden,
                           windows))
