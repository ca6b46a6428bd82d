"""MinAtar's Q-network (Young and Tian 2019) as a cnnkit spec: the deep Q-network of cnnkit.rl.

A scaled-down version of the network of Mnih et al. (2015): one 3x3 convolution of 16
filters (stride 1, no padding: 10x10 -> 8x8), ReLU, a dense layer of 128 ReLU units and
one linear output per action (the action values Q(s, a)).
"""

from __future__ import annotations

from ..spec import Network, build
from ._registry import register_model

__all__ = ["minatar_dqn", "minatar_dqn_spec"]


def minatar_dqn_spec(num_classes: int = 3, input_shape=(4, 10, 10)) -> dict:
    """The spec of :func:`minatar_dqn` as a dict.

    Example:
        >>> minatar_dqn_spec()["layers"][0]
        {'conv': {'filters': 16, 'kernel': 3, 'activation': 'relu'}}
    """
    return {
        "name": "minatar_dqn",
        "input": list(input_shape),
        "layers": [
            {"conv": {"filters": 16, "kernel": 3, "activation": "relu"}},
            "flatten",
            {"dense": {"units": 128, "activation": "relu"}},
            {"dense": num_classes},
        ],
    }


@register_model
def minatar_dqn(num_classes: int = 3, input_shape=(4, 10, 10)) -> Network:
    """MinAtar's DQN network: 132,179 parameters for Breakout (4 channels, 3 actions).

    Args:
        num_classes: outputs, one action value per action (Breakout's minimal set: 3;
            Space Invaders: 4; MinAtar's full set: 6).
        input_shape: observation shape, channels first (Breakout ``(4, 10, 10)``, Space Invaders
            ``(6, 10, 10)``).

    Shape:
        ``(N, C, 10, 10)`` -> ``(N, num_classes)``.

    Raises:
        SpecError: a setting the spec rejects (``num_classes=0``, an input under 3x3).

    Example:
        >>> import torch
        >>> net = minatar_dqn()
        >>> net(torch.zeros(2, 4, 10, 10)).shape
        torch.Size([2, 3])
        >>> sum(p.numel() for p in net.parameters())
        132179
    """
    return build(minatar_dqn_spec(num_classes, input_shape))
