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
