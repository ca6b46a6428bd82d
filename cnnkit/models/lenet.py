"""LeNet-5 (LeCun, Bottou, Bengio and Haffner 1998), as specs: ``lenet5`` and ``lenet5_1998``.

``lenet5`` is the network as it is usually taught: two convolution + subsampling stages and
three fully connected layers with tanh: conv 6 5x5 (same padding, so a 28x28 MNIST digit
gives the 28x28 maps of the paper's 32x32 input), average pooling 2, conv 16 5x5, average
pooling 2, dense 120, 84 and the classes. ``examples/lenet5.yaml`` is the same network
written in YAML.

``lenet5_1998`` is the network as published (section II-B, figure 2):

* the input centred in a 32x32 field (28x28 digits padded by 2 on every side, by C1's zero
  padding: padding, never resizing);
* C1: 6 maps of 5x5 convolutions; S2: subsampling with a learned coefficient and bias per
  map; C3: 16 maps, each reading the S2 maps of table I (a connection table); S4: as S2;
  C5: 120 maps of 5x5 (1x1 outputs on a 32x32 field); F6: 84 units;
* the squashing function ``1.7159 tanh(2a/3)`` after every layer up to F6;
* the output: Euclidean RBF units on F6, with the fixed 7x12 bitmap codes of the digits by
  default: 60,000 trainable parameters, the paper's figure.
"""

from __future__ import annotations

from .._validation import ArgumentError
from ..spec import Network, build
from ._parts import check_image_shape, classifier, padding_to
from ._registry import register_model

__all__ = ["lenet5", "lenet5_1998", "lenet5_1998_spec", "lenet5_spec"]

_SQUASH = "scaled_tanh"
FIELD = 32  # the paper's input field: digits of at most 28x28 centred in 32x32


def lenet5_spec(num_classes: int = 10, activation: str = "tanh", input_shape=(1, 28, 28),
                pool: str = "avg") -> dict:
    """The LeNet-5 spec as a dict (what :func:`lenet5` builds).

    ``pool="max"`` swaps the paper's average subsampling for max pooling (the modern
    variant; with ``activation="relu"`` it trains faster and generalises better).

    Example:
        >>> lenet5_spec()["layers"][0]
        {'conv': {'filters': 6, 'kernel': 5, 'padding': 'same', 'activation': 'tanh'}}
    """
    return classifier("lenet5", input_shape, [
        {"conv": {"filters": 6, "kernel": 5, "padding": "same", "activation": activation}},
        {f"{pool}pool": 2},
        {"conv": {"filters": 16, "kernel": 5, "activation": activation}},
        {f"{pool}pool": 2},
        "flatten",
        {"dense": {"units": 120, "activation": activation}},
        {"dense": {"units": 84, "activation": activation}},
        {"dense": num_classes},
    ])


@register_model
def lenet5(num_classes: int = 10, activation: str = "tanh", input_shape=(1, 28, 28),
           pool: str = "avg") -> Network:
    """LeNet-5: 61,706 parameters for 10 classes on 1x28x28 inputs (12x12 at least).

    Args:
        num_classes: units of the last layer.
        activation: the nonlinearity after every layer but the last (``tanh`` as in the
            paper; ``relu``, ``sigmoid``, ... or ``none``).
        input_shape: input shape, channels first.
        pool: ``"avg"`` (the paper's subsampling) or ``"max"``.

    Shape:
        ``(N, 1, 28, 28)`` -> ``(N, num_classes)``.

    Raises:
        SpecError: a setting the spec rejects (``num_classes=0``, an unknown activation).

    Example:
        >>> import torch
        >>> lenet5()(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """
    if pool not in ("avg", "max"):
        raise ArgumentError(f"pool must be 'avg' or 'max'. Received: pool={pool!r}.")
    return build(lenet5_spec(num_classes, activation, check_image_shape(input_shape, "lenet5"),
                             pool))


def lenet5_1998_spec(num_classes: int = 10, input_shape=(1, 32, 32),
                     codes: str = "bitmap") -> dict:
    """The spec of LeNet-5 as published (what :func:`lenet5_1998` builds).

    Example:
        >>> [next(iter(layer)) if isinstance(layer, dict) else layer
        ...  for layer in lenet5_1998_spec(input_shape=(1, 28, 28))["layers"]]
        ['conv', 'subsample', 'table_conv', 'subsample', 'conv', 'flatten', 'dense', 'rbf']
        >>> lenet5_1998_spec(input_shape=(1, 28, 28))["layers"][0]["conv"]["padding"]
        [[2, 2], [2, 2]]
    """
    return classifier("lenet5_1998", input_shape, [
        {"conv": {"filters": 6, "kernel": 5, "padding": padding_to(input_shape, FIELD),
                  "activation": _SQUASH}},                                          # C1
        {"subsample": {"size": 2, "activation": _SQUASH}},                          # S2
        {"table_conv": {"connection_table": "lenet5_c3", "kernel": 5,
                        "activation": _SQUASH}},                                    # C3
        {"subsample": {"size": 2, "activation": _SQUASH}},                          # S4
        {"conv": {"filters": 120, "kernel": 5, "activation": _SQUASH}},             # C5
        "flatten",
        {"dense": {"units": 84, "activation": _SQUASH}},                            # F6
        {"rbf": {"units": num_classes, "codes": codes}},                            # output
    ])


@register_model
def lenet5_1998(num_classes: int = 10, input_shape=(1, 32, 32), codes: str = "bitmap") -> Network:
    """LeNet-5 as LeCun et al. 1998 published it: 60,000 trainable parameters.

    Inputs smaller than 32x32 are centred in the 32x32 field by zero padding; larger ones
    give C5 maps larger than 1x1, which F6 reads all of. The outputs are negative squared
    distances to each class's code: train with softmax cross-entropy (the spec's loss), the
    paper's MAP criterion without its rubbish-class constant.

    Args:
        num_classes: output units (at most 10 with the bitmap codes).
        input_shape: input shape, channels first (2-D).
        codes: ``"bitmap"``: the fixed 7x12 digit bitmaps (the paper); ``"learned"``:
            trained output codes (84 more parameters per class).

    Shape:
        ``(N, C, H, W)`` -> ``(N, num_classes)``.

    Raises:
        SpecError: ``codes="bitmap"`` with more than 10 classes.

    Example:
        >>> net = lenet5_1998(input_shape=(1, 28, 28))
        >>> sum(p.numel() for p in net.parameters() if p.requires_grad)
        60000
    """
    return build(lenet5_1998_spec(num_classes, check_image_shape(input_shape, "lenet5_1998"),
                                  codes))
