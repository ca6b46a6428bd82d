"""LeNet-5 (LeCun et al. 1998), as a spec.

Two convolution + subsampling stages and three fully connected layers with tanh: conv 6
5x5 (same padding, so a 28x28 MNIST digit gives the 28x28 maps of the paper's 32x32
input), average pooling 2, conv 16 5x5, average pooling 2, dense 120, 84 and the classes.
``examples/lenet5.yaml`` is the same network written in YAML.
"""

from __future__ import annotations

from .._validation import ArgumentError
from ..spec import Network, build
from ._registry import register_model

__all__ = ["lenet5", "lenet5_spec"]


def lenet5_spec(num_classes: int = 10, activation: str = "tanh", input=(1, 28, 28),
                pool: str = "avg") -> dict:
    """The LeNet-5 spec as a dict (what :func:`lenet5` builds).

    ``pool="max"`` swaps the paper's average subsampling for max pooling (the modern
    variant; with ``activation="relu"`` it trains faster and generalises better).

    Example:
        >>> lenet5_spec()["layers"][0]
        {'conv': {'filters': 6, 'kernel': 5, 'padding': 'same', 'activation': 'tanh'}}
    """
    return {
        "name": "lenet5",
        "input": list(input),
        "layers": [
            {"conv": {"filters": 6, "kernel": 5, "padding": "same", "activation": activation}},
            {f"{pool}pool": 2},
            {"conv": {"filters": 16, "kernel": 5, "activation": activation}},
            {f"{pool}pool": 2},
            "flatten",
            {"dense": {"units": 120, "activation": activation}},
            {"dense": {"units": 84, "activation": activation}},
            {"dense": num_classes},
        ],
        "loss": "softmax_cross_entropy",
    }


@register_model
def lenet5(num_classes: int = 10, activation: str = "tanh", input=(1, 28, 28),
           pool: str = "avg") -> Network:
    """LeNet-5: 61,706 parameters for 10 classes on 1x28x28 inputs.

    Args:
        num_classes: units of the last layer.
        activation: the nonlinearity after every layer but the last (``tanh`` as in the
            paper; ``relu``, ``sigmoid``, ... or ``none``).
        input: input shape, channels first.
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
    return build(lenet5_spec(num_classes, activation, input, pool))
