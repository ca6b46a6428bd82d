"""``torch.nn.Module`` faces of cnnkit's building blocks: parameters and their init only.

Example:
    >>> import torch
    >>> from cnnkit import layers as L
    >>> L.Conv(1, 4, 3, dims=1)(torch.randn(2, 1, 10)).shape
    torch.Size([2, 4, 8])
"""

from ._base import Layer
from .activation import GELU, AbsTanh, Activation, LeakyReLU, ReLU, Sigmoid, Tanh
from .blocks import Parallel, Residual, Sequence
from .conv import (BIAS_MODES, Conv, Conv1d, Conv2d, Conv3d, ConvTranspose, ConvTranspose1d,
                   ConvTranspose2d, ConvTranspose3d, SeparableConv, SeparableConv1d,
                   SeparableConv2d, SeparableConv3d)
from .dense import Dense, Flatten
from .dropout import Dropout
from .norm import BatchNorm, LocalResponseNorm
from .pool import (AdaptiveAvgPool, AdaptiveMaxPool, AvgPool, GlobalAvgPool, GlobalLpPool,
                   GlobalMaxPool, LpPool, MaxPool)

__all__ = [
    "AbsTanh", "Activation", "AdaptiveAvgPool", "AdaptiveMaxPool", "AvgPool", "BIAS_MODES",
    "BatchNorm", "Conv", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose", "ConvTranspose1d",
    "ConvTranspose2d", "ConvTranspose3d", "Dense", "Dropout", "Flatten", "GELU", "GlobalAvgPool",
    "GlobalLpPool", "GlobalMaxPool", "Layer", "LeakyReLU", "LocalResponseNorm", "LpPool",
    "MaxPool", "Parallel", "ReLU", "Residual", "SeparableConv", "SeparableConv1d",
    "SeparableConv2d", "SeparableConv3d", "Sequence", "Sigmoid", "Tanh",
]

# Blocks no mainstream library ships: unshared, tiled, FFT and separable-kernel convolution.
from .fft import FFTConv, FFTConv1d, FFTConv2d, FFTConv3d
from .local import (LocallyConnected, LocallyConnected1d, LocallyConnected2d, LocallyConnected3d,
                    LocallyConnectedTranspose, LocallyConnectedTranspose1d,
                    LocallyConnectedTranspose2d, LocallyConnectedTranspose3d, TiledConv,
                    TiledConv1d, TiledConv2d, TiledConv3d)
from .separable_kernel import (SeparableKernelConv, SeparableKernelConv1d, SeparableKernelConv2d,
                               SeparableKernelConv3d)

__all__ += [
    "FFTConv", "FFTConv1d", "FFTConv2d", "FFTConv3d", "LocallyConnected", "LocallyConnected1d",
    "LocallyConnected2d", "LocallyConnected3d", "LocallyConnectedTranspose",
    "LocallyConnectedTranspose1d", "LocallyConnectedTranspose2d", "LocallyConnectedTranspose3d",
    "SeparableKernelConv", "SeparableKernelConv1d", "SeparableKernelConv2d",
    "SeparableKernelConv3d", "TiledConv", "TiledConv1d", "TiledConv2d", "TiledConv3d",
]

# Blocks no mainstream library ships: DropConnect, stochastic, fractional, channel, pyramid
# and RoI pooling.
from .dropconnect import (DropConnectConv, DropConnectConv1d, DropConnectConv2d,
                          DropConnectConv3d, DropConnectDense)
from .special_pool import (ChannelPool, FractionalMaxPool, Maxout, RoIMaxPool, SpatialPyramidPool,
                           StochasticPool)

__all__ += [
    "ChannelPool", "DropConnectConv", "DropConnectConv1d", "DropConnectConv2d",
    "DropConnectConv3d", "DropConnectDense", "FractionalMaxPool", "Maxout", "RoIMaxPool",
    "SpatialPyramidPool", "StochasticPool",
]
