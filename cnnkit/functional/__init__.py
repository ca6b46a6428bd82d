"""Pure tensor functions: the fast path of every building block.

Example:
    >>> import torch
    >>> from cnnkit import functional as CF
    >>> CF.conv(torch.randn(1, 1, 5, 5), torch.ones(1, 1, 3, 3), padding="full").shape
    torch.Size([1, 1, 7, 7])
"""

from . import shapes
from .activation import ACTIVATIONS, abs_tanh, activation, gelu, leaky_relu, relu, sigmoid, tanh
from .conv import (PADDING_MODES, conv, conv1d, conv2d, conv3d, conv_transpose,
                   depthwise_separable_conv, pad)
from .losses import LOSSES, euclidean_loss, loss_function, sigmoid_cross_entropy, softmax_cross_entropy
from .norm import local_response_norm
from .pool import (adaptive_avg_pool, adaptive_max_pool, avg_pool, global_avg_pool, global_lp_pool,
                   global_max_pool, lp_pool, max_pool)

__all__ = [
    "ACTIVATIONS", "LOSSES", "PADDING_MODES",
    "abs_tanh", "activation", "adaptive_avg_pool", "adaptive_max_pool", "avg_pool", "conv",
    "conv1d", "conv2d", "conv3d", "conv_transpose", "depthwise_separable_conv", "euclidean_loss",
    "gelu", "global_avg_pool", "global_lp_pool", "global_max_pool", "leaky_relu",
    "local_response_norm", "loss_function", "lp_pool", "max_pool", "pad", "relu", "shapes",
    "sigmoid", "sigmoid_cross_entropy", "softmax_cross_entropy", "tanh",
]

# Blocks no mainstream library ships: unshared, tiled, FFT and separable-kernel convolution.
from .fft import ALGORITHMS, algorithm_cache, clear_algorithm_cache, conv_algorithm, fft_conv
from .local import locally_connected, locally_connected_transpose
from .separable_kernel import separable_approximation, separable_kernel, separable_kernel_conv
from .tiled import tiled_as_locally_connected, tiled_conv

__all__ += [
    "ALGORITHMS", "algorithm_cache", "clear_algorithm_cache", "conv_algorithm",
    "fft_conv", "locally_connected", "locally_connected_transpose", "separable_approximation",
    "separable_kernel", "separable_kernel_conv", "tiled_as_locally_connected", "tiled_conv",
]

# Blocks no mainstream library ships: DropConnect, stochastic, fractional, channel, pyramid
# and RoI pooling.
from .channel_pool import channel_pool, maxout
from .dropconnect import dropconnect_conv, dropconnect_linear, dropconnect_mask
from .fractional_pool import fractional_max_pool, fractional_regions
from .pyramid_pool import spatial_pyramid_pool
from .roi_pool import roi_max_pool
from .stochastic_pool import stochastic_pool, stochastic_pool_weighted

__all__ += [
    "channel_pool", "dropconnect_conv", "dropconnect_linear", "dropconnect_mask",
    "fractional_max_pool", "fractional_regions", "maxout", "roi_max_pool",
    "spatial_pyramid_pool", "stochastic_pool", "stochastic_pool_weighted",
]
