"""``torch.nn.Module`` faces of cnnkit's building blocks.

Every layer class is the one source of its settings (names, defaults, checks) and of its
weight-free geometry (output shape, receptive field, parameters, multiply-adds), which the
spec and the summary read without building anything (see :mod:`cnnkit.layers._base`).

Example:
    >>> import torch
    >>> from cnnkit import layers as L
    >>> L.Conv(1, 4, 3, dims=1)(torch.randn(2, 1, 10)).shape
    torch.Size([2, 4, 8])
"""

from . import kinds
from ._base import FROM_INPUT, Layer, rank_alias
from .activation import GELU, AbsTanh, Activation, LeakyReLU, ReLU, Sigmoid, Tanh
from .blocks import Parallel, Residual, Sequential
from .channel_pool import ChannelPool, Maxout
from .conv import (BIAS_MODES, Conv, Conv1d, Conv2d, Conv3d, ConvTranspose, ConvTranspose1d,
                   ConvTranspose2d, ConvTranspose3d, SeparableConv, SeparableConv1d,
                   SeparableConv2d, SeparableConv3d)
from .dense import Dense, Flatten
from .dropconnect import (DropConnectConv, DropConnectConv1d, DropConnectConv2d,
                          DropConnectConv3d, DropConnectDense)
from .dropout import Dropout
from .embedding import Embedding
from .fft import FFTConv, FFTConv1d, FFTConv2d, FFTConv3d
from .fractional_pool import FractionalMaxPool
from .gated_conv import GatedConv, GatedConv1d, GatedConv2d, GatedConv3d
from .local import (LocallyConnected, LocallyConnected1d, LocallyConnected2d, LocallyConnected3d,
                    LocallyConnectedTranspose, LocallyConnectedTranspose1d,
                    LocallyConnectedTranspose2d, LocallyConnectedTranspose3d)
from .norm import BatchNorm, LocalResponseNorm
from .pool import (AdaptiveAvgPool, AdaptiveMaxPool, AvgPool, GlobalAvgPool, GlobalLpPool,
                   GlobalMaxPool, LpPool, MaxPool)
from .pyramid_pool import SpatialPyramidPool
from .rbf import RBF
from .roi_pool import FixedRoIMaxPool, RoIMaxPool
from .s_cell import SCell, SCell1d, SCell2d, SCell3d
from .scaled_tanh import ScaledTanh
from .separable_kernel import (SeparableKernelConv, SeparableKernelConv1d, SeparableKernelConv2d,
                               SeparableKernelConv3d)
from .standardize import Standardize
from .stochastic_pool import StochasticPool
from .subsample import Subsample
from .table_conv import TableConv, TableConv1d, TableConv2d, TableConv3d
from .tiled import TiledConv, TiledConv1d, TiledConv2d, TiledConv3d

__all__ = [
    "FROM_INPUT", "kinds", "AbsTanh", "Activation", "AdaptiveAvgPool", "AdaptiveMaxPool",
    "AvgPool", "BIAS_MODES", "BatchNorm", "ChannelPool", "Conv", "Conv1d", "Conv2d", "Conv3d",
    "ConvTranspose", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "Dense",
    "DropConnectConv", "DropConnectConv1d", "DropConnectConv2d", "DropConnectConv3d",
    "DropConnectDense", "Dropout", "Embedding", "FFTConv", "FFTConv1d", "FFTConv2d",
    "FFTConv3d", "FixedRoIMaxPool", "Flatten", "FractionalMaxPool", "GELU", "GlobalAvgPool",
    "GlobalLpPool", "GlobalMaxPool", "Layer", "LeakyReLU", "LocalResponseNorm", "LocallyConnected",
    "LocallyConnected1d", "LocallyConnected2d", "LocallyConnected3d",
    "LocallyConnectedTranspose", "LocallyConnectedTranspose1d", "LocallyConnectedTranspose2d",
    "LocallyConnectedTranspose3d", "LpPool", "MaxPool", "Maxout", "Parallel", "ReLU",
    "Residual", "RoIMaxPool", "SeparableConv", "SeparableConv1d", "SeparableConv2d",
    "SeparableConv3d", "SeparableKernelConv", "SeparableKernelConv1d", "SeparableKernelConv2d",
    "SeparableKernelConv3d", "Sequential", "Sigmoid", "SpatialPyramidPool", "Standardize",
    "StochasticPool",
    "Tanh", "TiledConv", "TiledConv1d", "TiledConv2d", "TiledConv3d", "rank_alias",
    # the building blocks of the zoo's historic networks
    "GatedConv", "GatedConv1d", "GatedConv2d", "GatedConv3d", "RBF", "SCell", "SCell1d",
    "SCell2d", "SCell3d", "ScaledTanh", "Subsample", "TableConv", "TableConv1d",
    "TableConv2d", "TableConv3d",
]
