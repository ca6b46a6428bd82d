"""DropConnect layers (Wan et al. 2013): dense and convolution layers whose weights, not
units, are dropped in training, a regulariser listed by the Wikipedia article
"Convolutional neural network". The maths is in :mod:`cnnkit.functional.dropconnect`."""

from __future__ import annotations

import torch

from ..functional.activation import ACTIVATIONS
from ..functional.dropconnect import (DROPCONNECT_INFERENCE, DROPCONNECT_PER, dropconnect_conv,
                                      dropconnect_linear)
from ._base import Layer, rank_alias
from .kinds import Choice, Count, Number
from .conv import Conv
from .dense import Dense

__all__ = ["DropConnectConv", "DropConnectConv1d", "DropConnectConv2d", "DropConnectConv3d",
           "DropConnectDense"]

# The settings both DropConnect layers add; ``activation`` is applied inside the layer
# (the Gaussian inference rule averages after it).
DROPCONNECT_KINDS = {
    "p": Number(0, 1, open_high=True, what="the probability of dropping a weight"),
    "per": Choice(DROPCONNECT_PER), "inference": Choice(DROPCONNECT_INFERENCE),
    "activation": Choice(tuple(ACTIVATIONS), optional=True), "samples": Count(),
}


class _DropConnect:
    """The forward arguments both DropConnect layers pass to the functional op."""

    def _dropconnect_kwargs(self) -> dict:
        return dict(p=self.p, training=self.training, per=self.per, inference=self.inference,
                    activation=self.activation, samples=self.samples)


class DropConnectDense(_DropConnect, Dense):
    """Fully connected layer with DropConnect: ``a((M * W) x + b)``, ``M ~ Bernoulli(1 - p)``.

    Args:
        in_features, units, bias: as for :class:`Dense` (same initialisation).
        p: probability of dropping each weight in training, in [0, 1).
        per: ``"example"`` (a fresh mask for every sample, the paper's rule) or
            ``"batch"`` (one mask per forward call).
        inference: ``"mean"`` (weights scaled by ``1 - p``) or ``"gaussian"`` (sample the
            pre-activation from its Gaussian moments, apply the activation, average).
        activation: None or an activation name, applied inside the layer (the Gaussian rule
            averages after it).
        samples: Gaussian draws at inference.

    Shape:
        ``(N, *, in_features)`` -> ``(N, *, units)``.

    Raises:
        ArgumentError: ``p`` outside [0, 1), unknown ``per``, ``inference`` or activation.
        ShapeError: at call time, wrong input features.

    Example:
        >>> layer = DropConnectDense(20, 10, p=0.5, activation="relu")
        >>> layer(torch.randn(4, 20)).shape
        torch.Size([4, 10])
        >>> layer
        DropConnectDense(in_features=20, units=10, activation='relu')
    """

    kinds = {**Dense.kinds, **DROPCONNECT_KINDS}

    def __init__(self, in_features: int, units: int, bias: bool = True, p: float = 0.5,
                 per: str = "example", inference: str = "mean", activation=None,
                 samples: int = 100):
        Layer.__init__(self, locals())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[-1] != self.in_features:
            Dense.forward(self, x)  # raises the Dense error, which names the fix
        return dropconnect_linear(x, self.weight, self.bias, **self._dropconnect_kwargs())


class DropConnectConv(_DropConnect, Conv):
    """N-d convolution with DropConnect on the kernel weights; ``DropConnectConv1d/2d/3d``.

    Args:
        in_channels ... input_size: as for :class:`Conv` (same initialisation).
        p, per, inference, activation, samples: as for :class:`DropConnectDense`; with
            ``per="example"`` every sample convolves with its own masked kernels (one grouped
            convolution over the folded batch).
        dims: number of spatial dimensions (1, 2 or 3).

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``, O as for :class:`Conv`.

    Example:
        >>> layer = DropConnectConv2d(3, 8, 3, padding="same", p=0.3, per="batch")
        >>> layer(torch.randn(2, 3, 10, 10)).shape
        torch.Size([2, 8, 10, 10])
    """

    kinds = {**Conv.kinds, **DROPCONNECT_KINDS}

    def __init__(self, in_channels, out_channels, kernel, stride=1, padding=0, dilation=1,
                 groups=1, bias="shared", padding_mode="zeros", flip=False, input_size=None,
                 p=0.5, per="example", inference="mean", activation=None, samples=100, *, dims=2):
        Layer.__init__(self, locals())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropconnect_conv(x, self.weight, self.bias, self.stride, self.padding,
                                self.dilation, self.groups, padding_mode=self.padding_mode,
                                flip=self.flip, **self._dropconnect_kwargs())


DropConnectConv1d = rank_alias(DropConnectConv, 1)
DropConnectConv2d = rank_alias(DropConnectConv, 2)
DropConnectConv3d = rank_alias(DropConnectConv, 3)
