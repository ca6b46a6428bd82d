"""Convolution layer computed by FFT, directly, or by whichever is measured faster."""

from __future__ import annotations

import torch

from ..functional.fft import ALGORITHMS, fft_conv
from ._base import Layer, rank_alias
from .kinds import Choice
from .conv import Conv

__all__ = ["FFTConv", "FFTConv1d", "FFTConv2d", "FFTConv3d"]


class FFTConv(Conv):
    """:class:`cnnkit.layers.Conv` computed in the frequency domain (Goodfellow et al. 2016,
    section 9.8).

    The same parameters, initialisation and map as ``Conv`` (so a state dict moves freely
    between the two); only the arithmetic differs. For large kernels FFT is faster.

    Args:
        algorithm: ``"fft"`` (default), ``"direct"``, or ``"auto"``: the faster of the two
            for each kind of input, measured once on this machine
            (:func:`cnnkit.functional.conv_algorithm`).
        Others: as for :class:`cnnkit.layers.Conv`.

    Shape:
        ``(N, C_in, *W)`` -> ``(N, C_out, *O)``,
        ``O = floor((W + P_lo + P_hi - D * (K - 1) - 1) / S) + 1``.

    Raises:
        ArgumentError: an unknown ``algorithm``; ArgumentTypeError at call time: complex or
            integer inputs with ``"fft"``.

    Example:
        >>> layer = FFTConv2d(1, 4, 15, padding="same")
        >>> layer(torch.randn(2, 1, 32, 32)).shape
        torch.Size([2, 4, 32, 32])
    """

    kinds = {**Conv.kinds, "algorithm": Choice(ALGORITHMS)}
    onnx = "torch.fft gives complex tensors, which the ONNX converter does not translate"

    def __init__(self, in_channels, out_channels, kernel, stride=1, padding=0, dilation=1,
                 groups=1, bias="shared", padding_mode="zeros", flip=False, input_size=None,
                 algorithm="fft", *, dims=2):
        Layer.__init__(self, locals())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        return fft_conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups, self.padding_mode, self.flip, self.algorithm)


FFTConv1d = rank_alias(FFTConv, 1)
FFTConv2d = rank_alias(FFTConv, 2)
FFTConv3d = rank_alias(FFTConv, 3)
