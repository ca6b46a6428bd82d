"""AlexNet (Krizhevsky, Sutskever & Hinton 2012), as a spec.

The single-tower variant that torchvision ships: five convolutions with 64, 192, 384, 256
and 256 filters (kernels 11, 5, 3, 3, 3), ReLU after each, 3x3 max pooling with stride 2
after the first, second and fifth, then dropout, dense 4096, dropout, dense 4096 and the
classes. ``alexnet_lrn`` adds the paper's local response normalisation (size 5, alpha
1e-4, beta 0.75, k 2) after the ReLU of the first two convolutions. ``batch_norm=True``
(not in the paper, which predates batch norm) puts batch norm between each convolution and
its ReLU (as torchvision's ``vgg11_bn`` does for VGG): the plain network starts slowly from
torch's default initialisation (a first epoch at chance on small data), the normalised
one does not.

Stems (``stem``, ``"auto"`` by size, see :func:`cnnkit.models._parts.stem_for`):

* ``imagenet`` (from 128x128 up; at least 63x63): the first convolution has stride 4 and
  padding 2, and an adaptive average pooling to 6x6 gives the classifier the same
  256x6x6 features for any input size; 61,100,840 parameters for 1000 classes at 224x224;
* ``cifar`` (below 128x128; at least 15x15): the first convolution is 3x3 with stride 1
  and padding 1, and the classifier reads the last pooling's maps as they are (3x3 at
  32x32): no adaptive pooling that would copy a few pixels into 6x6.
"""

from __future__ import annotations

from ._parts import check_image_shape, classifier, conv_relu, dense_head, stem_for
from ._registry import register_variant

__all__ = ["alexnet", "alexnet_lrn", "alexnet_spec"]

_LRN = {"lrn": {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}}
_FIRST = {"imagenet": {"kernel": 11, "stride": 4, "padding": 2},
          "cifar": {"kernel": 3, "stride": 1, "padding": 1}}


def alexnet_spec(num_classes: int = 1000, input_shape=(3, 224, 224), lrn: bool = False,
                 dropout: float = 0.5, stem: str = "auto", batch_norm: bool = False) -> dict:
    """The AlexNet spec as a dict (what ``alexnet`` and ``alexnet_lrn`` build).

    Args:
        num_classes: units of the last layer.
        input_shape: input shape, channels first (at least 63x63 with the ImageNet stem,
            15x15 with the CIFAR stem).
        lrn: put the paper's local response normalisation after the first two
            convolutions (their ReLU), before the pooling.
        dropout: drop rate before each of the two 4096-unit layers.
        stem: ``"auto"`` (by input size), ``"imagenet"`` or ``"cifar"``.
        batch_norm: batch norm between each convolution and its ReLU;
            not the paper's (see the module doc).

    Raises:
        ArgumentTypeError: ``batch_norm`` is not a bool.

    Example:
        >>> alexnet_spec()["layers"][0]
        {'conv': {'filters': 64, 'kernel': 11, 'stride': 4, 'padding': 2, 'activation': 'relu'}}
        >>> alexnet_spec(lrn=True)["layers"][1]
        {'lrn': {'size': 5, 'alpha': 0.0001, 'beta': 0.75, 'k': 2.0}}
        >>> alexnet_spec(input_shape=(3, 32, 32))["layers"][0]["conv"]["kernel"]
        3
        >>> alexnet_spec(batch_norm=True)["layers"][1:3]
        ['batchnorm', 'relu']
    """
    stem = stem_for(stem, check_image_shape(input_shape, "alexnet"))
    norm = [dict(_LRN)] if lrn else []
    pool = {"maxpool": {"size": 3, "stride": 2}}
    features = [
        *conv_relu(64, **_FIRST[stem], batch_norm=batch_norm), *norm, pool,
        *conv_relu(192, 5, padding=2, batch_norm=batch_norm), *norm, pool,
        *[layer for filters in (384, 256, 256)
          for layer in conv_relu(filters, 3, padding=1, batch_norm=batch_norm)], pool,
    ]
    head = dense_head(num_classes, 4096, dropout, dropout_first=True,
                      adaptive=6 if stem == "imagenet" else None)
    return classifier("alexnet_lrn" if lrn else "alexnet", input_shape, [*features, *head])


alexnet = register_variant(
    alexnet_spec, "alexnet", "AlexNet: 61,100,840 parameters for 1000 classes at 224x224 (as "
    "torchvision's ``alexnet``).", spec=True, lrn=False)
alexnet_lrn = register_variant(
    alexnet_spec, "alexnet_lrn", "AlexNet with the paper's local response normalisation after "
    "the first two convolutions; LRN has no parameters, so the count is ``alexnet``'s.",
    spec=True, lrn=True)
