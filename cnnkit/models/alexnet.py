"""AlexNet (Krizhevsky, Sutskever & Hinton 2012), as a spec.

The single-tower variant that torchvision ships: five convolutions with 64, 192, 384, 256
and 256 filters (kernels 11, 5, 3, 3, 3; the first with stride 4), ReLU after each, 3x3
max pooling with stride 2 after the first, second and fifth, an adaptive average pooling
to 6x6 (so any input of at least 63x63 gives the classifier the same 256x6x6 features),
then dropout, dense 4096, dropout, dense 4096 and the classes. ``alexnet_lrn`` adds the
paper's local response normalisation (size 5, alpha 1e-4, beta 0.75, k 2) after the ReLU
of the first two convolutions.
"""

from __future__ import annotations

from ..spec import Network, build
from ._registry import register_model

__all__ = ["alexnet", "alexnet_lrn", "alexnet_spec"]

_LRN = {"lrn": {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}}


def alexnet_spec(num_classes: int = 1000, input=(3, 224, 224), lrn: bool = False,
                 dropout: float = 0.5) -> dict:
    """The AlexNet spec as a dict (what :func:`alexnet` and :func:`alexnet_lrn` build).

    Args:
        num_classes: units of the last layer.
        input: input shape, channels first (at least 63x63).
        lrn: put the paper's local response normalisation after the first two
            convolutions (their ReLU), before the pooling.
        dropout: drop rate before each of the two 4096-unit layers.

    Example:
        >>> alexnet_spec()["layers"][0]
        {'conv': {'filters': 64, 'kernel': 11, 'stride': 4, 'padding': 2, 'activation': 'relu'}}
        >>> alexnet_spec(lrn=True)["layers"][1]
        {'lrn': {'size': 5, 'alpha': 0.0001, 'beta': 0.75, 'k': 2.0}}
    """
    norm = [dict(_LRN)] if lrn else []
    pool = {"maxpool": {"size": 3, "stride": 2}}
    return {
        "name": "alexnet_lrn" if lrn else "alexnet",
        "input": list(input),
        "layers": [
            {"conv": {"filters": 64, "kernel": 11, "stride": 4, "padding": 2,
                      "activation": "relu"}},
            *norm,
            pool,
            {"conv": {"filters": 192, "kernel": 5, "padding": 2, "activation": "relu"}},
            *norm,
            pool,
            {"conv": {"filters": 384, "kernel": 3, "padding": 1, "activation": "relu"}},
            {"conv": {"filters": 256, "kernel": 3, "padding": 1, "activation": "relu"}},
            {"conv": {"filters": 256, "kernel": 3, "padding": 1, "activation": "relu"}},
            pool,
            {"adaptive_avgpool": 6},
            "flatten",
            {"dropout": dropout},
            {"dense": {"units": 4096, "activation": "relu"}},
            {"dropout": dropout},
            {"dense": {"units": 4096, "activation": "relu"}},
            {"dense": num_classes},
        ],
        "loss": "softmax_cross_entropy",
    }


@register_model
def alexnet(num_classes: int = 1000, input=(3, 224, 224), dropout: float = 0.5) -> Network:
    """AlexNet: 61,100,840 parameters for 1000 classes (as torchvision's ``alexnet``).

    Args:
        num_classes: units of the last layer.
        input: input shape, channels first (at least 63x63; the adaptive pooling gives
            6x6 maps for every size).
        dropout: drop rate before each of the two 4096-unit layers.

    Shape:
        ``(N, 3, 224, 224)`` -> ``(N, num_classes)``.

    Raises:
        SpecError: a setting the spec rejects (``num_classes=0``, an input too small).

    Example:
        >>> net = alexnet(num_classes=10, input=(3, 63, 63))
        >>> sum(p.numel() for p in net.parameters())
        57044810
        >>> net.output_shape
        (10,)
    """
    return build(alexnet_spec(num_classes, input, lrn=False, dropout=dropout))


@register_model
def alexnet_lrn(num_classes: int = 1000, input=(3, 224, 224),
                dropout: float = 0.5) -> Network:
    """AlexNet with the paper's local response normalisation after the first two convolutions.

    LRN has no parameters, so the count is :func:`alexnet`'s: 61,100,840 for 1000 classes.

    Args:
        num_classes: units of the last layer.
        input: input shape, channels first (at least 63x63).
        dropout: drop rate before each of the two 4096-unit layers.

    Shape:
        ``(N, 3, 224, 224)`` -> ``(N, num_classes)``.

    Example:
        >>> net = alexnet_lrn(num_classes=10, input=(3, 63, 63))
        >>> [type(m).__name__ for m in net.layers][:4]
        ['Conv2d', 'ReLU', 'LocalResponseNorm', 'MaxPool']
    """
    return build(alexnet_spec(num_classes, input, lrn=True, dropout=dropout))
